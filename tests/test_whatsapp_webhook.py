"""The WhatsApp webhooks in-process (ASGI), and fetching what people send: signatures,
what an inbound message becomes, delivery errors from status callbacks, media limits
and retries. The whole journey over a real ``parley serve`` is test_whatsapp_serve.py."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.channels.whatsapp import WhatsAppChannel
from bot.clock import ManualClock
from bot.ids import SequentialIds
from bot.media_fetch import MediaFetcher
from bot.runtime import Runtime, open_runtime
from bot.service import ParleyService
from bot.simulator import enrolled_phone
from bot.store.media import MediaItem
from bot.store.records import Changes, OutboxItem
from bot.store.scratch import ScratchStore
from bot.store.sms import SmsPart
from bot.web.app import create_app
from tests.conftest import T0, make_config
from tests.fakes.server import ServedApp
from tests.fakes.twilio_api import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, sign_twilio_request
from tests.fakes.twilio_whatsapp import FakeTwilioWhatsApp, inbound_whatsapp_form

PUBLIC = "https://parley.example"
ME = "whatsapp:+447700900311"
US = "whatsapp:+447700900555"

pytestmark = pytest.mark.timeout(30)


@dataclass
class App:
    http: httpx.AsyncClient
    runtime: Runtime
    service: ParleyService

    async def post(self, path: str, form: dict[str, str], *,
                   token: str = DEFAULT_AUTH_TOKEN) -> httpx.Response:
        signature = sign_twilio_request(token, PUBLIC + path, form)
        response = await self.http.post(path, data=form,
                                        headers={"X-Twilio-Signature": signature})
        await self.service.inbox.wait_idle()
        return response


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[FakeTwilioWhatsApp, ServedApp]]:
    fake = FakeTwilioWhatsApp()
    with fake.serve() as srv:
        fake.base_url = srv.base_url
        yield fake, srv


@pytest.fixture
async def app(served: tuple[FakeTwilioWhatsApp, ServedApp],
              tmp_path: Path) -> AsyncIterator[App]:
    served[0].reset()
    config = make_config(server={"public_url": PUBLIC},
                         sms={"account_sid": DEFAULT_ACCOUNT_SID,
                              "auth_token": DEFAULT_AUTH_TOKEN,
                              "api_base_url": served[1].base_url},
                         whatsapp={"from_number": "+447700900555"},
                         media={"folder": str(tmp_path / "media"), "max_bytes": 2048,
                                "allowed_types": ["audio/", "image/"]})
    runtime = await open_runtime(config, store=ScratchStore(), clock=ManualClock(T0),
                                 ids=SequentialIds())
    service = ParleyService(runtime, senders_paused=True)
    channel = WhatsAppChannel(config)
    service.add_channel(channel)
    await channel.start(service)
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(
        service, manage_lifecycle=False)), base_url="http://internal")
    yield App(http, runtime, service)
    await http.aclose()
    await channel.stop()
    await runtime.close()


def inbound(body: str = "", **kw: Any) -> dict[str, str]:
    return inbound_whatsapp_form(ME, US, body, **kw)


async def test_unsigned_or_forged_requests_are_refused_and_nothing_kept(app: App) -> None:
    form = inbound("Hi")
    assert (await app.post("/whatsapp/inbound", form, token="wrong")).status_code == 403
    unsigned = await app.http.post("/whatsapp/inbound", data=form)
    assert unsigned.status_code == 403
    assert await app.runtime.store.participant_for_address(ME) is None


async def test_a_first_message_enrols_the_whatsapp_address_without_the_profile_name(
        app: App) -> None:
    response = await app.post("/whatsapp/inbound", inbound("Hi", profile_name="Sam Secret"))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/xml")
    p = await app.runtime.store.participant_for_address(ME)
    assert p is not None and p.name is None
    [address] = await app.runtime.store.addresses_of(p.id)
    assert (address.address, address.channel) == (ME, "whatsapp")
    rows = await app.runtime.store.outbox_of(p.id)
    assert rows and rows[0].channel == "whatsapp" and rows[0].address == ME
    assert "Sam Secret" not in repr(await app.runtime.store.events())


async def test_a_voice_note_to_a_choice_question_asks_for_a_number_or_button(
        app: App, served: tuple[FakeTwilioWhatsApp, ServedApp]) -> None:
    _, pid = await enrolled_phone(app.runtime, ME, name="Sam")
    await app.runtime.conversations.start_flow(pid, "feedback")
    url = served[0].add_media(b"OggS", "audio/ogg")
    await app.post("/whatsapp/inbound", inbound(media=[(url, "audio/ogg")]))
    last = (await app.runtime.store.outbox_of(pid))[-1]
    assert last.payload["text"] == ("Thanks! For this question please reply with one of the "
                                    "numbers or tap a button, or reply SKIP.")
    assert await app.runtime.store.media_of(pid) == []


async def test_media_are_fetched_within_limits_and_retried_until_they_arrive(
        app: App, served: tuple[FakeTwilioWhatsApp, ServedApp]) -> None:
    fake, store = served[0], app.runtime.store
    fetcher = MediaFetcher(app.runtime.config)
    fetcher.attach(app.service)
    try:
        ok = fake.add_media(b"OggS" + bytes(100), "audio/ogg")
        big = fake.add_media(bytes(4096), "image/jpeg")
        pdf = fake.add_media(b"%PDF-1.7", "application/pdf")
        ids = [await store.media_add(MediaItem("p1", "whatsapp", kind, url, T0, ctype,
                                               inbox_id=9, position=n))
               for n, (kind, url, ctype) in enumerate([("voice", ok, "audio/ogg"),
                                                        ("photo", big, "image/jpeg"),
                                                        ("document", pdf, "application/pdf")])]
        fake.fail_next(kind="500", method="media")  # the first download fails
        await fetcher.run_once()
        first = [await store.media_get(i) for i in ids]
        assert [(m.status, m.attempts) for m in first if m] == [
            ("pending", 1), ("refused", 1), ("refused", 1)]
        assert "max_bytes" in (first[1].error or "") and "allowed_types" in (first[2].error
                                                                             or "")
        assert first[0] is not None and first[0].next_attempt_at == T0 + dt.timedelta(seconds=30)
        assert "500" in (first[0].error or "") and DEFAULT_ACCOUNT_SID not in (first[0].error
                                                                               or "")
        assert await fetcher.run_once() == 0  # not due yet
        app.runtime.clock.advance(dt.timedelta(seconds=31))  # type: ignore[attr-defined]
        assert await fetcher.run_once() == 1
        stored = await store.media_get(ids[0])
        assert stored is not None and stored.status == "stored" and stored.path
        assert Path(stored.path).read_bytes() == b"OggS" + bytes(100)
        assert Path(stored.path).suffix == ".ogg"
    finally:
        await fetcher.stop()


async def test_a_63016_callback_sends_the_message_again_marked_and_63024_is_unreachable(
        app: App) -> None:
    store = app.runtime.store
    _, pid = await enrolled_phone(app.runtime, ME, name="Sam")
    row = OutboxItem(pid, ME, "whatsapp", {"text": "Hi", "plain": "Hi", "kind": "notice"},
                     T0, T0, status="sent")
    await store.apply(Changes(outbox=[row]))
    [row] = await store.outbox_of(pid)
    assert row.id is not None
    await store.sms_part_add(SmsPart("SM63016", row.id, 1, 1, 1, "queued", T0, T0))
    form = {"MessageSid": "SM63016", "MessageStatus": "failed", "ErrorCode": "63016",
            "To": ME, "From": US, "AccountSid": DEFAULT_ACCOUNT_SID}
    assert (await app.post("/whatsapp/status", form)).status_code == 200
    again = [o for o in await store.outbox_of(pid) if o.id != row.id]
    assert [(o.status, o.payload.get("window_closed")) for o in again] == [("pending", True)]
    await store.sms_part_add(SmsPart("SM63024", row.id, 1, 1, 1, "queued", T0, T0))
    await app.post("/whatsapp/status", {**form, "MessageSid": "SM63024", "ErrorCode": "63024"})
    address = await store.get_address(ME)
    assert address is not None and address.unreachable
    assert address.unreachable_reason == "not a valid WhatsApp recipient (63024)"


async def test_read_receipts_move_a_message_to_read(app: App) -> None:
    store = app.runtime.store
    _, pid = await enrolled_phone(app.runtime, ME, name="Sam")
    await store.apply(Changes(outbox=[OutboxItem(pid, ME, "whatsapp", {"text": "Hi"}, T0, T0,
                                                 status="sent")]))
    [row] = await store.outbox_of(pid)
    assert row.id is not None
    await store.sms_part_add(SmsPart("SMread", row.id, 1, 1, 1, "sent", T0, T0))
    for status in ("read", "delivered"):  # out of order: read is not undone
        form = {"MessageSid": "SMread", "MessageStatus": status, "To": ME, "From": US,
                "AccountSid": DEFAULT_ACCOUNT_SID, "ChannelPrefix": "whatsapp"}
        assert (await app.post("/whatsapp/status", form)).status_code == 200
    assert (await store.outbox_get(row.id)).delivery_status == "read"  # type: ignore[union-attr]
    history = [e.status for e in await store.sms_status_history(row.id)]
    assert history == ["read", "delivered"]


def test_the_fake_serves_media_only_to_the_account(
        served: tuple[FakeTwilioWhatsApp, ServedApp]) -> None:
    url = served[0].add_media(b"\xff\xd8photo", "image/jpeg")
    assert httpx.get(url).status_code == 401  # Twilio's "HTTP auth for media"
    got = httpx.get(url, auth=(DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN))
    assert got.content == b"\xff\xd8photo" and got.headers["content-type"] == "image/jpeg"
