"""The SMS webhooks in-process (ASGI), for the cases the end-to-end tests do not cover:
configuration gaps, exact text, multi-part and media messages, number formats."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from bot.channels.sms import SmsChannel
from bot.channels.sms_webhook import EMPTY_TWIML, sms_address
from bot.clock import ManualClock
from bot.ids import SequentialIds
from bot.runtime import Runtime, open_runtime
from bot.service import ParleyService
from bot.simulator import enrolled_phone
from bot.store.records import Address, Changes, OutboxItem, Participant
from bot.store.scratch import ScratchStore
from bot.store.sms import SmsPart, advanced, summarise
from bot.web.app import create_app
from tests.conftest import T0, make_config
from tests.fakes.twilio_api import (
    DEFAULT_ACCOUNT_SID,
    DEFAULT_AUTH_TOKEN,
    inbound_sms_form,
    sign_twilio_request,
)

PUBLIC = "https://parley.example/base"
TWILIO_NUMBER = "+447700900000"
ME = "+447700900301"

pytestmark = pytest.mark.timeout(30)


@dataclass
class App:
    http: httpx.AsyncClient
    runtime: Runtime
    service: ParleyService

    async def post(self, path: str, form: dict[str, str], *, url: str | None = None,
                   query: str = "") -> httpx.Response:
        signature = sign_twilio_request(DEFAULT_AUTH_TOKEN, url or PUBLIC + path + query, form)
        response = await self.http.post(path + query, data=form,
                                        headers={"X-Twilio-Signature": signature})
        await self.service.inbox.wait_idle()
        return response


async def build(public_url: str = PUBLIC) -> tuple[App, SmsChannel]:
    config = make_config(server={"public_url": public_url},
                         sms={"account_sid": DEFAULT_ACCOUNT_SID,
                              "auth_token": DEFAULT_AUTH_TOKEN, "from_number": TWILIO_NUMBER})
    runtime = await open_runtime(config, store=ScratchStore(), clock=ManualClock(T0),
                                 ids=SequentialIds())
    service = ParleyService(runtime, senders_paused=True)
    channel = SmsChannel(config)
    service.add_channel(channel)
    await channel.start(service)
    app = create_app(service, manage_lifecycle=False)
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://internal")
    return App(http, runtime, service), channel


@pytest.fixture
async def app() -> AsyncIterator[App]:
    built, channel = await build()
    yield built
    await built.http.aclose()
    await channel.stop()
    await built.runtime.close()


def form(body: str, **kw: Any) -> dict[str, str]:
    return inbound_sms_form(ME, TWILIO_NUMBER, body, **kw)


async def test_without_public_url_everything_is_refused() -> None:
    built, channel = await build(public_url="")
    try:
        response = await built.post("/sms/inbound", form("Hi"),
                                    url="http://internal/sms/inbound")
        assert response.status_code == 403
        assert await built.runtime.store.inbox_pending() == []
        assert await built.runtime.store.list_participants() == []
    finally:
        await built.http.aclose()
        await channel.stop()
        await built.runtime.close()


async def test_accepted_message_is_answered_with_empty_twiml(app: App) -> None:
    response = await app.post("/sms/inbound", form("Hi"))
    assert response.status_code == 200 and response.text == EMPTY_TWIML
    assert response.headers["content-type"].startswith("text/xml")
    [row] = await app.runtime.store.outbox_all()
    assert row.address == f"tel:{ME}" and row.payload["plain"].startswith("Hello!")


async def test_query_string_is_part_of_the_signed_url(app: App) -> None:
    ok = await app.post("/sms/inbound", form("Hi"), query="?project=a")
    assert ok.status_code == 200
    signed_without = sign_twilio_request(DEFAULT_AUTH_TOKEN, PUBLIC + "/sms/inbound",
                                         form("Hi"))
    refused = await app.http.post("/sms/inbound?project=a", data=form("Hi"),
                                  headers={"X-Twilio-Signature": signed_without})
    assert refused.status_code == 403


async def test_participant_text_is_kept_byte_exact(app: App) -> None:
    text = "  Hé 😀 “quoted” ŵ+ŷ & 100%\r\nline two\t "
    store = app.runtime.store
    _, pid = await enrolled_phone(app.runtime, f"tel:{ME}")
    await app.runtime.conversations.start_flow(pid, "feedback")
    await app.post("/sms/inbound", form("1"))
    await app.post("/sms/inbound", form(text))
    [answer] = [a for a in await store.answers(participant_id=pid) if a.field == "change"]
    assert answer.raw == text and answer.value == text.strip()  # raw is what they sent


async def test_long_inbound_is_one_message(app: App) -> None:
    text = "word " * 100  # Twilio reassembles a 4-part SMS before calling us
    await app.post("/sms/inbound", form(text, num_segments=4))
    assert app.service.metrics.value("parley_sms_inbound_segments_total") == 4
    assert app.service.metrics.value("parley_inbound_total", channel="sms") == 1


async def test_picture_without_words_gets_a_polite_reply(app: App) -> None:
    await app.post("/sms/inbound", {**form(""), "NumMedia": "1",
                                    "MediaUrl0": "https://api.twilio.com/media/ME1"})
    rows = await app.runtime.store.outbox_all()
    assert rows[-1].payload["plain"] == "Sorry, I can only read text. Please reply in words."


async def test_sender_that_is_not_a_phone_number_is_ignored(app: App) -> None:
    response = await app.post("/sms/inbound", inbound_sms_form("VODAFONE", TWILIO_NUMBER, "Hi"))
    assert response.status_code == 200
    assert await app.runtime.store.list_participants() == []


def test_numbers_are_normalised_to_e164() -> None:
    assert sms_address("+447700900123", "GB") == "tel:+447700900123"
    assert sms_address("07700 900123", "GB") == "tel:+447700900123"
    assert sms_address("+1 (415) 555-0100", "GB") == "tel:+14155550100"
    assert sms_address("VODAFONE", "GB") is None


async def test_status_callbacks_move_forward_and_mark_the_address(app: App) -> None:
    store = app.runtime.store
    await store.apply(Changes(participant=Participant("p1", T0),
                              addresses=[Address(f"tel:{ME}", "p1", "sms", T0)]))
    row = OutboxItem("p1", f"tel:{ME}", "sms", {"plain": "hi"}, T0, T0, status="sent")
    await store.apply(Changes(outbox=[row]))
    assert row.id is not None
    await store.sms_part_add(SmsPart("SM1", row.id, 1, 1, 1, "queued", T0, T0))

    def callback(status: str, error: str | None = None) -> dict[str, str]:
        data = {"AccountSid": DEFAULT_ACCOUNT_SID, "MessageSid": "SM1", "SmsSid": "SM1",
                "MessageStatus": status, "SmsStatus": status, "To": ME, "From": TWILIO_NUMBER,
                "ApiVersion": "2010-04-01"}
        return {**data, "ErrorCode": error} if error else data

    for status in ("sent", "failed"):
        assert (await app.post("/sms/status", callback(status, "21610" if status == "failed"
                                                       else None))).status_code == 200
    stored = await store.outbox_get(row.id)
    assert stored is not None and stored.delivery_status == "failed"
    address = await store.get_address(f"tel:{ME}")
    assert address is not None and address.opted_out  # a Messaging Service reports it late
    again = await app.post("/sms/status", callback("sent"))  # a re-sent callback
    assert again.status_code == 200
    assert [e.status for e in await store.sms_status_history(row.id)] == ["sent", "failed"]


def test_summary_of_parts() -> None:
    def part(status: str) -> SmsPart:
        return SmsPart("SM", 1, 1, 1, 1, status, T0, T0 + dt.timedelta(0))

    assert summarise([]) is None
    assert summarise([part("delivered"), part("sent")]) == "sent"
    assert summarise([part("delivered"), part("delivered")]) == "delivered"
    assert summarise([part("delivered"), part("undelivered")]) == "undelivered"
    assert advanced("queued", "sent") and not advanced("delivered", "sent")


async def test_twilio_opt_out_type_wins_for_custom_keywords(app: App) -> None:
    store = app.runtime.store
    await enrolled_phone(app.runtime, f"tel:{ME}")
    await app.post("/sms/inbound", {**form("please stop texting me"), "OptOutType": "STOP"})
    address = await store.get_address(f"tel:{ME}")
    assert address is not None and address.opted_out  # Twilio already blocks this number
    await app.post("/sms/inbound", {**form("Start"), "OptOutType": "START"})
    address = await store.get_address(f"tel:{ME}")
    assert address is not None and not address.opted_out
