"""TwilioTransport against the fake Twilio over loopback, through the real twilio client:
what is sent, how each failure maps to an outbox outcome, parts, and look-ups."""

from __future__ import annotations

import datetime as dt
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.channels.sms_transport import TwilioTransport
from bot.channels.twilio_async import NeverSent
from bot.config import Config
from bot.delivery.transport import SendResult
from bot.errors import AmbiguousSend, RateLimited, TransientError, Unreachable
from bot.store.records import Changes, OutboxItem
from bot.store.scratch import ScratchStore
from bot.store.sqlite import SqliteStore
from tests.conftest import make_config
from tests.fakes.server import ServedApp
from tests.fakes.twilio_api import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, FakeTwilio

TO = "+447700900201"
FROM = "+447700900000"
NOW = dt.datetime.now(dt.UTC)
FINDING = ("People told us that letters about benefit changes arrive too late to act on. "
           "Several said they found out about a cut only when their payment was smaller. "
           "Most wanted a text a month before any change, in plain words.")

pytestmark = pytest.mark.timeout(30)


class Ticks:
    """A monotonic clock for the fake's rate limiter that tests move by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def sms_config(base_url: str, **sms: Any) -> Config:
    return make_config(server={"public_url": "https://parley.example"},
                       sms={"account_sid": DEFAULT_ACCOUNT_SID, "auth_token": DEFAULT_AUTH_TOKEN,
                            "from_number": FROM, "api_base_url": base_url,
                            "request_timeout": 0.5, "validity_period": 3600, **sms})


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[FakeTwilio, ServedApp]]:
    fake = FakeTwilio(hang_seconds=2.0)
    with fake.serve() as srv:
        yield fake, srv


@pytest.fixture
def fake(served: tuple[FakeTwilio, ServedApp]) -> FakeTwilio:
    served[0].reset()
    return served[0]


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    s = SqliteStore(tmp_path / "parley.db", fsync=False)  # transport tests: no disk waits
    await s.open()
    yield s
    await s.close()


@pytest.fixture
async def transport(served: tuple[FakeTwilio, ServedApp],
                    store: SqliteStore) -> AsyncIterator[TwilioTransport]:
    t = TwilioTransport(sms_config(served[1].base_url), store=store)
    t.ambiguous_grace = 0.05
    await t.start()
    yield t
    await t.stop()


async def queued(store: SqliteStore, text: str = "Hello", *, long_ok: bool = False,
                 to: str = TO, attempts: int = 1) -> OutboxItem:
    item = OutboxItem(participant_id="p1", address=f"tel:{to}", channel="sms",
                      payload={"plain": text, "text": text, "long_ok": long_ok},
                      created_at=NOW, not_before=NOW)
    await store.apply(Changes(outbox=[item]))
    item.attempts = attempts
    return item


async def test_sends_with_callback_validity_and_segments(
        fake: FakeTwilio, transport: TwilioTransport, store: SqliteStore) -> None:
    item = await queued(store, "Sorry – it’s “fine”…")  # system text is made GSM-7
    result = await transport.send(item)
    [record] = fake.messages
    assert (record["to"], record["from"], record["body"]) == (TO, FROM, 'Sorry - it\'s "fine"...')
    assert record["status_callback"] == "https://parley.example/sms/status"
    assert record["validity_period"] == 3600
    assert result == SendResult(record["sid"], 1)
    assert item.delivery_status == "queued"
    assert item.id is not None
    [part] = await store.sms_parts_of(item.id)
    assert (part.sid, part.part, part.parts, part.segments) == (record["sid"], 1, 1, 1)


async def test_long_text_goes_as_parts_in_order(
        fake: FakeTwilio, transport: TwilioTransport, store: SqliteStore) -> None:
    item = await queued(store, FINDING, long_ok=True)
    result = await transport.send(item)
    bodies = [m["body"] for m in fake.messages]
    assert [b[:5] for b in bodies] == ["(1/2)", "(2/2)"]
    assert result.segments == 2 and result.provider_id == fake.messages[0]["sid"]


async def test_partial_failure_resends_only_missing_parts(store: SqliteStore) -> None:
    ticks = Ticks()
    fake = FakeTwilio(enforce_limits=True, per_second=1, clock=ticks)
    with fake.serve() as srv:
        transport = TwilioTransport(sms_config(srv.base_url), store=store)
        await transport.start()
        item = await queued(store, FINDING + " " + FINDING, long_ok=True)
        for _ in range(2):  # part 1 goes; part 2 is refused (429) until a second passes
            with pytest.raises(RateLimited):
                await transport.send(item)
            ticks.now += 1.0
            item.attempts += 1
        result = await transport.send(item)
        await transport.stop()
    bodies = [m["body"] for m in fake.messages]
    assert [b[:5] for b in bodies] == ["(1/3)", "(2/3)", "(3/3)"]  # none sent twice
    assert result.segments == 3 and fake.rate_limited_count == 2


@pytest.mark.parametrize(("kind", "expected", "code"), [
    ("429", RateLimited, None), ("500", TransientError, None),
    ("21610", Unreachable, 21610), ("21211", Unreachable, 21211),
    ("21614", Unreachable, 21614)])
async def test_error_mapping(fake: FakeTwilio, transport: TwilioTransport, store: SqliteStore,
                             kind: str, expected: type[Exception], code: int | None) -> None:
    fake.fail_next(to=TO, kind=kind)
    with pytest.raises(expected) as caught:
        await transport.send(await queued(store))
    if isinstance(caught.value, Unreachable):
        assert caught.value.code == code
    if isinstance(caught.value, RateLimited):
        assert caught.value.retry_after == 1.0  # no Retry-After from Twilio: 1, 2, 4 … s
    assert fake.messages == []


async def test_rate_limit_wait_grows_with_attempts(
        fake: FakeTwilio, transport: TwilioTransport, store: SqliteStore) -> None:
    fake.fail_next(to=TO, kind="429")
    with pytest.raises(RateLimited) as caught:
        await transport.send(await queued(store, attempts=4))
    assert caught.value.retry_after == 8.0


async def test_hang_is_looked_up_and_counts_as_sent(
        fake: FakeTwilio, transport: TwilioTransport, store: SqliteStore) -> None:
    fake.fail_next(to=TO, kind="hang")
    result = await transport.send(await queued(store, "Are you there?"))
    [record] = fake.messages
    assert result.provider_id == record["sid"]
    assert transport.metrics.value("parley_sms_ambiguous_total", resolution="found") == 1


async def test_drop_is_looked_up_and_resent_when_absent(
        fake: FakeTwilio, transport: TwilioTransport, store: SqliteStore) -> None:
    fake.fail_next(to=TO, kind="drop")
    item = await queued(store, "Are you there?")
    with pytest.raises(TransientError, match="sending again"):
        await transport.send(item)
    assert fake.messages == []
    await transport.send(item)
    assert len(fake.messages) == 1


async def test_lookup_failing_leaves_it_ambiguous(
        fake: FakeTwilio, transport: TwilioTransport, store: SqliteStore) -> None:
    fake.fail_next(to=TO, kind="drop")
    fake.fail_next(kind="500", method="list")
    with pytest.raises(AmbiguousSend):
        await transport.send(await queued(store, "Are you there?"))


async def test_connection_refused_is_transient(store: SqliteStore) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    transport = TwilioTransport(sms_config(f"http://127.0.0.1:{port}"), store=store)
    await transport.start()
    with pytest.raises(TransientError, match="unreachable") as caught:
        await transport.send(await queued(store))
    assert isinstance(caught.value.__cause__, NeverSent)
    await transport.stop()


async def test_wrong_credentials_are_transient_not_the_persons_fault(
        served: tuple[FakeTwilio, ServedApp], store: SqliteStore) -> None:
    transport = TwilioTransport(sms_config(served[1].base_url, auth_token="wrong" * 4),
                                store=store)
    await transport.start()
    with pytest.raises(TransientError, match="20003"):
        await transport.send(await queued(store))
    await transport.stop()


async def test_resolve_ambiguous_finds_sent_message_but_not_one_already_claimed(
        fake: FakeTwilio, transport: TwilioTransport, store: SqliteStore) -> None:
    earlier = await queued(store, "Sorry, I need a number from 0 to 10.")
    await transport.send(earlier)  # the same words, sent and recorded for another row
    item = await queued(store, "Sorry, I need a number from 0 to 10.")
    assert await transport.resolve_ambiguous(item) is None  # not ours: resend is safe
    sid = (await transport.client.messages.create_async(to=TO, from_=FROM,
                                                        body=item.payload["plain"])).sid
    found = await transport.resolve_ambiguous(item)  # the send a crash interrupted
    assert found is not None and found.provider_id == sid
    assert item.delivery_status == "sent"  # as Twilio reports it now


async def test_resolve_ambiguous_without_text_cannot_be_checked(
        transport: TwilioTransport, store: SqliteStore) -> None:
    item = await queued(store)
    item.payload, item.address = {}, ""
    with pytest.raises(AmbiguousSend):
        await transport.resolve_ambiguous(item)


async def test_channel_rechecks_ambiguous_rows_while_running(
        served: tuple[FakeTwilio, ServedApp], fake: FakeTwilio) -> None:
    from bot.channels.sms import SmsChannel
    from bot.clock import ManualClock
    from bot.runtime import open_runtime
    from bot.service import ParleyService

    config = sms_config(served[1].base_url)
    runtime = await open_runtime(config, store=ScratchStore(), clock=ManualClock(NOW))
    service = ParleyService(runtime, senders_paused=True)
    channel = SmsChannel(config)
    service.add_channel(channel)
    await channel.start(service)
    await channel.twilio.start()
    try:
        went, lost = await queued(runtime.store, "went out"), await queued(runtime.store, "lost")
        for item in (went, lost):
            item.status = "ambiguous"
            await runtime.store.outbox_update(item)
        sid = (await channel.twilio.client.messages.create_async(to=TO, from_=FROM,
                                                                  body="went out")).sid
        assert await channel.recheck_ambiguous() == 2
        assert went.id is not None and lost.id is not None
        found = await runtime.store.outbox_get(went.id)
        assert found is not None and (found.status, found.provider_id) == ("sent", sid)
        resend = await runtime.store.outbox_get(lost.id)
        assert resend is not None and resend.status == "retry"
    finally:
        await channel.stop()
        await channel.twilio.stop()
        await runtime.close()


async def test_later_parts_take_and_give_back_pacing_slots(
        fake: FakeTwilio, transport: TwilioTransport, store: SqliteStore) -> None:
    import asyncio

    from bot.delivery.pacing import SlidingWindow

    window = SlidingWindow(1)
    transport.window = window
    await transport.send(await queued(store, FINDING, long_ok=True))  # 2 parts at 1/s
    assert len(fake.messages) == 2
    await asyncio.wait_for(window.acquire(), 3)  # no slot left open: sending goes on


async def test_a_message_twilio_can_never_take_is_rejected(
        fake: FakeTwilio, transport: TwilioTransport, store: SqliteStore) -> None:
    from bot.errors import Rejected

    with pytest.raises(Rejected, match="21617"):
        await transport.send(await queued(store, "x" * 1700))  # over Twilio's 1600
