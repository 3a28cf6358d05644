"""Secrets and phone numbers never reach the logs, with the real logging setup.

``parley serve`` runs as an operator runs it, at DEBUG level (stricter than production),
with both channels talking to local fakes, through a conversation, provider errors and a
forged request. Then every byte it logged is searched for the bot token, the webhook
secret, the Twilio credentials and the participant's number in its common spellings.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest

from tests.fakes.server import ServedApp
from tests.fakes.telegram_api import FakeTelegram, make_text_update
from tests.fakes.twilio_api import (
    DEFAULT_ACCOUNT_SID,
    DEFAULT_AUTH_TOKEN,
    FakeTwilio,
    inbound_sms_form,
    sign_twilio_request,
)
from tests.sms_harness import PUBLIC_URL, TWILIO_NUMBER, ParleyProcess, until

SECRET = "webhook-secret-that-must-not-leak"
TOKEN = "7212345678:AAHk3jW-real-looking-bot-token_x9ZqPl0v"
NUMBER = "+447700900123"


def config_for(folder: Path, telegram_url: str, twilio_url: str) -> Path:
    root = Path(__file__).resolve().parent.parent
    path = folder / "config.toml"
    path.write_text(f"""
[project]
name = "Money Voices"
locales = ["en"]
flows_dir = "{root / 'flows'}"
templates_dir = "{root / 'templates'}"
[store]
url = "sqlite:///{folder / 'parley.db'}"
[server]
port = 0
public_url = "{PUBLIC_URL}"
[schedule]
quiet_hours = ""
[telegram]
token = {json.dumps(TOKEN)}
webhook_secret = "{SECRET}"
api_base_url = "{telegram_url}/bot"
rate_limit_per_second = 100
per_chat_per_second = 50
request_timeout = 2
[sms]
account_sid = "{DEFAULT_ACCOUNT_SID}"
auth_token = "{DEFAULT_AUTH_TOKEN}"
from_number = "{TWILIO_NUMBER}"
api_base_url = "{twilio_url}"
rate_limit_per_second = 50
request_timeout = 2
""", encoding="utf-8")
    return path


@pytest.mark.timeout(90)
async def test_no_secret_or_number_in_any_log_line(tmp_path: Path) -> None:
    telegram, twilio = FakeTelegram(token=TOKEN), FakeTwilio()
    with ServedApp(telegram.app) as tg, ServedApp(twilio.app) as tw:
        server = ParleyProcess(config_for(tmp_path, tg.base_url, tw.base_url),
                               log_level="DEBUG")
        server.start()
        try:
            telegram.fail_next(kind="500")
            twilio.fail_next(kind="500")
            async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as http:
                form = inbound_sms_form(NUMBER, TWILIO_NUMBER, f"Hi, my number is {NUMBER}")
                signature = sign_twilio_request(DEFAULT_AUTH_TOKEN, PUBLIC_URL + "/sms/inbound",
                                                form)
                assert (await http.post("/sms/inbound", data=form,
                                        headers={"X-Twilio-Signature": signature})
                        ).status_code == 200
                forged = await http.post("/sms/inbound", data=form,
                                         headers={"X-Twilio-Signature": "forged"})
                assert forged.status_code == 403
                update = make_text_update(9001, 4242, "Hi there", message_id=1)
                assert (await http.post("/telegram/webhook", json=update, headers={
                    "X-Telegram-Bot-Api-Secret-Token": SECRET})).status_code == 200
                assert (await http.post("/telegram/webhook", json=update, headers={
                    "X-Telegram-Bot-Api-Secret-Token": "wrong"})).status_code == 403
                assert (await http.post("/telegram/webhook", content=b"{not json",
                                        headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
                        ).status_code == 400
            await until(lambda: twilio.sent_to(NUMBER) and telegram.sent_messages, 20,
                        "replies on both channels")
            await asyncio.sleep(0.5)
        finally:
            server.stop()
    logged = server.log.read_text(encoding="utf-8", errors="replace")
    assert "Parley listening" in logged  # the log really was captured
    token_secret_part = TOKEN.split(":", 1)[1]
    forbidden = [TOKEN, token_secret_part, SECRET, DEFAULT_AUTH_TOKEN,
                 DEFAULT_ACCOUNT_SID, NUMBER, NUMBER[1:], "07700 900123", "07700900123"]
    for needle in forbidden:
        assert needle not in logged, f"{needle[:6]}… appears in the server log"


def test_redaction_masks_numbers_but_keeps_dates_and_times() -> None:
    from bot.logging_setup import Redactor

    redact = Redactor(secrets=["hunter2-secret"]).redact
    assert redact("round r1 starts 2026-03-16 10:00 for 5 people") == \
        "round r1 starts 2026-03-16 10:00 for 5 people"
    assert redact("to +447700900123 and 07700 900456") == "to [phone] and [phone]"
    assert redact("POST To=%2B447700900123&Body=hi") == "POST To=%2B[phone]&Body=hi"
    assert redact("GET /bot7212345678:AAHk3jWxyz/sendMessage") == "GET /bot[token]/sendMessage"
    assert redact("auth hunter2-secret") == "auth [secret]"
