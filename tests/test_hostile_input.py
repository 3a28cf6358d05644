"""Hostile input at the webhooks: nothing crashes, nothing forged is stored, and what
people write is kept byte for byte.

The app is the real Starlette app of ``parley serve`` (real channels, real SQLite
store), driven in-process through httpx's ASGI transport so hypothesis can send
hundreds of requests quickly; senders are paused so nothing leaves the machine.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.config import Config
from bot.runtime import open_runtime
from bot.server import build_channels
from bot.service import ParleyService
from bot.web.app import create_app
from tests.fakes.server import ServedApp
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import (
    DEFAULT_ACCOUNT_SID,
    DEFAULT_AUTH_TOKEN,
    FakeTwilio,
    inbound_sms_form,
    sign_twilio_request,
)

SECRET = "s3cret-webhook-token-for-tests"
PUBLIC = "https://parley.example"
TOKEN = "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghij"
SETTINGS = settings(deadline=None, max_examples=60,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])
NASTY = st.sampled_from([
    "\u202eevil", "a\u200bb", "e\u0301\u0301\u0301", "ﷺ" * 50, "'); DROP TABLE answers;--",
    "{{ 7*7 }}", "{% raw %}", "\x00\x01", "x" * 5000, "😀" * 700, "STOP", "help",
    "\ud800", "Robert'); --", "<script>alert(1)</script>", "\r\n\r\n",
])
TEXT = st.one_of(st.text(max_size=300), NASTY)


@dataclass
class App:
    loop: asyncio.AbstractEventLoop
    client: httpx.AsyncClient
    service: ParleyService
    db: Path

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    def inbox_count(self) -> int:
        with sqlite3.connect(self.db) as con:
            return int(con.execute("SELECT count(*) FROM inbox").fetchone()[0])


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    telegram, twilio = FakeTelegram(token=TOKEN), FakeTwilio()
    with ServedApp(telegram.app) as tg, ServedApp(twilio.app) as tw:
        config = Config.model_validate({
            "project": {"locales": ["en", "cy"]},
            "store": {"url": f"sqlite:///{tmp_path / 'p.db'}"},
            "server": {"public_url": PUBLIC},
            "telegram": {"token": TOKEN, "webhook_secret": SECRET,
                         "api_base_url": f"{tg.base_url}/bot"},
            "sms": {"account_sid": DEFAULT_ACCOUNT_SID, "auth_token": DEFAULT_AUTH_TOKEN,
                    "from_number": "+447700900000", "api_base_url": tw.base_url},
        })
        loop = asyncio.new_event_loop()

        async def build() -> tuple[ParleyService, httpx.AsyncClient]:
            runtime = await open_runtime(config)
            service = ParleyService(runtime, senders_paused=True)
            build_channels(service)
            await service.start()
            asgi = create_app(service, manage_lifecycle=False)
            client = httpx.AsyncClient(transport=httpx.ASGITransport(app=asgi),
                                       base_url="http://parley.test")
            return service, client

        service, client = loop.run_until_complete(build())
        try:
            yield App(loop, client, service, tmp_path / "p.db")
        finally:
            loop.run_until_complete(client.aclose())
            loop.run_until_complete(service.stop())
            loop.close()


def telegram_update(update_id: int, chat: int, text: str) -> dict[str, Any]:
    return {"update_id": update_id, "message": {
        "message_id": update_id, "date": 1767600000, "text": text,
        "chat": {"id": chat, "type": "private", "first_name": "Ann"},
        "from": {"id": chat, "is_bot": False, "first_name": "Ann"}}}


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
                    | st.text(max_size=40),
                    lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.text(max_size=12), inner, max_size=4), max_leaves=20)


@pytest.mark.timeout(180)
@SETTINGS
@given(body=st.one_of(JSON.map(json.dumps), st.binary(max_size=400).map(
    lambda b: b.decode("latin-1")), st.builds(lambda u, t: json.dumps(
        {"update_id": u, "message": t}), st.one_of(st.integers(), st.text()), JSON)))
def test_telegram_webhook_never_fails_on_garbage(app: App, body: str) -> None:
    response = app.run(app.client.post("/telegram/webhook", content=body.encode(
        "utf-8", "surrogatepass"), headers={"X-Telegram-Bot-Api-Secret-Token": SECRET,
                                            "Content-Type": "application/json"}))
    assert response.status_code in (200, 400), (response.status_code, response.text)
    assert "Traceback" not in response.text


@pytest.mark.timeout(180)
@SETTINGS
@given(secret=st.one_of(st.none(), st.text(max_size=40)), text=TEXT)
def test_forged_telegram_secret_stores_nothing(app: App, secret: str | None,
                                               text: str) -> None:
    if secret == SECRET:
        return
    before = app.inbox_count()
    headers = {} if secret is None else {"X-Telegram-Bot-Api-Secret-Token": secret}
    try:
        response = app.run(app.client.post("/telegram/webhook", json=telegram_update(
            7, 99, text), headers=headers))
    except UnicodeEncodeError:
        return  # a header httpx itself cannot send
    assert response.status_code == 403
    assert app.inbox_count() == before


@pytest.mark.timeout(180)
@SETTINGS
@given(text=TEXT.filter(lambda t: t.strip() != ""), chat=st.integers(1, 10**12))
def test_telegram_text_is_kept_exactly(app: App, text: str, chat: int) -> None:
    """Whatever arrives is committed before the 200, exactly as sent (the inbox row
    keeps it until processed; processing stores answers verbatim, see test_engine)."""
    update_id = abs(hash((text, chat))) % 10**9
    body = json.dumps(telegram_update(update_id, chat, text))
    response = app.run(app.client.post("/telegram/webhook", content=body.encode(
        "utf-8", "surrogatepass"), headers={"X-Telegram-Bot-Api-Secret-Token": SECRET,
                                            "Content-Type": "application/json"}))
    assert response.status_code in (200, 400)
    again = app.run(app.client.post("/telegram/webhook", content=body.encode(
        "utf-8", "surrogatepass"), headers={"X-Telegram-Bot-Api-Secret-Token": SECRET,
                                            "Content-Type": "application/json"}))
    assert again.status_code == response.status_code


def sms_post(app: App, form: dict[str, str], signature: str | None) -> httpx.Response:
    headers = {} if signature is None else {"X-Twilio-Signature": signature}
    return app.run(app.client.post("/sms/inbound", data=form, headers=headers))  # type: ignore[no-any-return]


@pytest.mark.timeout(180)
@SETTINGS
@given(text=TEXT, forged=st.sampled_from(["none", "wrong-token", "other-url", "tampered",
                                          "garbage"]))
def test_forged_sms_signatures_store_nothing(app: App, text: str, forged: str) -> None:
    form = inbound_sms_form("+447700900123", "+447700900000", text.replace("\x00", ""))
    signature: str | None
    if any("\ud800" <= ch <= "\udfff" for ch in text):
        return  # cannot be form-encoded at all
    if forged == "none":
        signature = None
    elif forged == "wrong-token":
        signature = sign_twilio_request("not-the-token", PUBLIC + "/sms/inbound", form)
    elif forged == "other-url":
        signature = sign_twilio_request(DEFAULT_AUTH_TOKEN, "https://evil.example/sms/inbound",
                                        form)
    elif forged == "tampered":
        signature = sign_twilio_request(DEFAULT_AUTH_TOKEN, PUBLIC + "/sms/inbound", form)
        form = {**form, "Body": form["Body"] + "!"}
    else:
        signature = "AAAA" * 7
    before = app.inbox_count()
    try:
        response = sms_post(app, form, signature)
    except UnicodeEncodeError:
        return
    assert response.status_code == 403
    assert app.inbox_count() == before


@pytest.mark.timeout(180)
@SETTINGS
@given(fields=st.dictionaries(st.sampled_from(["From", "Body", "MessageSid", "To",
                                               "NumSegments", "AccountSid", "Junk"]),
                              TEXT.map(lambda t: t.replace("\x00", "")), max_size=7))
def test_signed_but_malformed_sms_is_refused_cleanly(app: App, fields: dict[str, str]) -> None:
    try:  # a lone surrogate cannot be form-encoded or signed: no provider can send it
        signature = sign_twilio_request(DEFAULT_AUTH_TOKEN, PUBLIC + "/sms/inbound", fields)
        response = sms_post(app, fields, signature)
    except UnicodeEncodeError:
        return
    assert response.status_code in (200, 400, 403), response.text
    assert "Traceback" not in response.text


def test_huge_bodies_are_refused_before_reading(app: App) -> None:
    huge = b"x" * (app.service.runtime.config.server.max_body_bytes + 1)
    for path in ("/telegram/webhook", "/sms/inbound"):
        response = app.run(app.client.post(path, content=huge, headers={
            "X-Telegram-Bot-Api-Secret-Token": SECRET}))
        assert response.status_code == 413


@pytest.mark.timeout(60)
def test_locked_store_means_503_and_nothing_acknowledged_then_recovery(app: App) -> None:
    """While another process holds the database, /healthz says 503 and a webhook is not
    acknowledged (Telegram will resend it); afterwards both work and nothing was lost."""
    other = sqlite3.connect(app.db, isolation_level=None, timeout=1)
    other.execute("BEGIN EXCLUSIVE")
    try:
        health = app.run(app.client.get("/healthz"))
        assert health.status_code == 503 and health.json()["status"] == "unavailable"
        body = json.dumps(telegram_update(424242, 777, "are you there?"))
        refused = app.run(app.client.post("/telegram/webhook", content=body, headers={
            "X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"}))
        assert refused.status_code >= 500  # not a 2xx: the provider retries
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert app.run(app.client.get("/healthz")).status_code == 200
    again = app.run(app.client.post("/telegram/webhook", content=body, headers={
        "X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"}))
    assert again.status_code == 200
    with sqlite3.connect(app.db) as con:
        assert con.execute("SELECT count(*) FROM inbox WHERE dedupe_key LIKE '%424242%'"
                           ).fetchone()[0] == 1


@pytest.mark.timeout(60)
def test_out_of_order_and_week_late_updates_are_each_taken_once(app: App) -> None:
    """Telegram may deliver updates out of order, and re-deliver one days later: each is
    stored once, in the order it arrived, however old its message date."""
    week_ago = 1767600000 - 8 * 24 * 3600
    later, earlier = telegram_update(5001, 8080, "Hi"), telegram_update(5000, 8080, "hello")
    stale = telegram_update(4000, 8080, "sent last week")
    stale["message"]["date"] = week_ago
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    for update in (later, earlier, stale, later, stale):
        response = app.run(app.client.post("/telegram/webhook", json=update, headers=headers))
        assert response.status_code == 200
    with sqlite3.connect(app.db) as con:
        rows = con.execute("SELECT dedupe_key FROM inbox WHERE address = 'telegram:8080' "
                           "ORDER BY id").fetchall()
    assert len(rows) == 3
    assert rows[0][0].startswith("5001")  # arrival order is kept
