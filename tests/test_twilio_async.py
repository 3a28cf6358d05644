"""``AsyncTwilio``: twilio's async client, bounded in time, telling a request that never
left from one that went unanswered (against the fake Twilio over loopback)."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from twilio.base.exceptions import TwilioRestException

from bot.channels.twilio_async import AsyncTwilio, NeverSent, NoAnswer
from tests.conftest import T0
from tests.fakes.server import ServedApp
from tests.fakes.twilio_api import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, FakeTwilio

TO, FROM = "+447700900301", "+447700900000"
pytestmark = pytest.mark.timeout(20)


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[FakeTwilio, ServedApp]]:
    fake = FakeTwilio(hang_seconds=2.0)
    with fake.serve() as srv:
        yield fake, srv


def twilio(base_url: str, timeout: float = 0.5) -> AsyncTwilio:
    return AsyncTwilio(DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, timeout=timeout,
                       base_url=base_url)


async def test_a_send_and_twilios_own_errors(served: tuple[FakeTwilio, ServedApp]) -> None:
    fake, srv = served
    fake.reset()
    api = twilio(srv.base_url)
    try:
        messages = api.client.messages
        sent = await api.call(lambda: messages.create_async(to=TO, from_=FROM, body="hi"))
        assert sent.sid == fake.messages[0]["sid"]
        fake.fail_next(to=TO, kind="21610")
        with pytest.raises(TwilioRestException) as caught:
            await api.call(lambda: messages.create_async(to=TO, from_=FROM, body="again"))
        assert caught.value.code == 21610
    finally:
        await api.close()


@pytest.mark.parametrize("kind", ["hang", "drop"])
async def test_written_but_unanswered_is_no_answer(served: tuple[FakeTwilio, ServedApp],
                                                   kind: str) -> None:
    fake, srv = served
    fake.reset()
    fake.fail_next(to=TO, kind=kind)
    api = twilio(srv.base_url)
    try:
        with pytest.raises(NoAnswer):
            await api.call(lambda: api.client.messages.create_async(to=TO, from_=FROM,
                                                                    body="there?"))
    finally:
        await api.close()


async def test_nobody_listening_is_never_sent() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    api = twilio(f"http://127.0.0.1:{port}")
    try:
        with pytest.raises(NeverSent, match="unreachable"):
            await api.call(lambda: api.client.messages.create_async(to=TO, from_=FROM,
                                                                    body="hi"))
    finally:
        await api.close()


async def test_no_connection_in_time_is_never_sent() -> None:
    """A server that never accepts (its backlog full): the time runs out while
    connecting, before anything was written."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        fillers = []
        for _ in range(8):  # fill the accept queue so later connects hang
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", port))
            fillers.append(filler)
        api = twilio(f"http://127.0.0.1:{port}", timeout=0.3)
        try:
            with pytest.raises((NeverSent, NoAnswer)) as caught:
                await api.call(lambda: api.client.messages.create_async(to=TO, from_=FROM,
                                                                        body="hi"))
        finally:
            await api.close()
            for filler in fillers:
                filler.close()
    # on Linux a full backlog drops the SYN, so the connect itself times out
    assert isinstance(caught.value, NeverSent), caught.value


async def test_the_sms_transport_sends_again_after_a_stop_and_start(
        served: tuple[FakeTwilio, ServedApp]) -> None:
    """A supervised restart stops and starts the transport: its HTTP session is closed
    on stop, so start must make a new one rather than keep the closed client."""
    from bot.channels.sms_transport import TwilioTransport
    from bot.store.records import Changes, OutboxItem
    from bot.store.scratch import ScratchStore
    from tests.conftest import make_config

    fake, srv = served
    fake.reset()
    config = make_config(sms={"account_sid": DEFAULT_ACCOUNT_SID,
                              "auth_token": DEFAULT_AUTH_TOKEN, "from_number": FROM,
                              "api_base_url": srv.base_url, "request_timeout": 2})
    store = ScratchStore()
    await store.open()
    transport = TwilioTransport(config, store=store)
    for text in ("first", "second"):
        await transport.start()
        item = OutboxItem(participant_id="p1", address=f"tel:{TO}", channel="sms",
                          payload={"plain": text, "text": text}, created_at=T0,
                          not_before=T0)
        await store.apply(Changes(outbox=[item]))
        await transport.send(item)
        await transport.stop()
    assert [m["body"] for m in fake.messages] == ["first", "second"]
    await store.close()
