"""Running the real ``parley serve`` against the fake Twilio taught WhatsApp's rules.

Like ``tests/sms_harness.py``: the server is a separate process started as an operator
would; inbound messages are signed for the public URL. A WhatsApp-only project: the
Twilio account is ``[sms]``'s, SMS itself is off (no ``[sms] from_number``).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx

from tests.fakes.twilio_api import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN
from tests.fakes.twilio_whatsapp import FakeTwilioWhatsApp, inbound_whatsapp_form
from tests.serve_process import ParleyProcess, until
from tests.serve_process import write_config as project_config
from tests.sms_harness import PUBLIC_URL, post_signed

WHATSAPP_NUMBER = "+447700900555"


def write_config(folder: Path, fake_url: str, templates: dict[str, str],
                 choice_templates: dict[str, str]) -> Path:
    path = project_config(folder, "sms", {
        "account_sid": DEFAULT_ACCOUNT_SID, "auth_token": DEFAULT_AUTH_TOKEN,
        "api_base_url": fake_url, "request_timeout": 2}, public_url=PUBLIC_URL)

    def table(name: str, mapping: dict[str, str]) -> str:
        rows = "\n".join(f"{json.dumps(k)} = {json.dumps(v)}" for k, v in mapping.items())
        return f"\n[{name}]\n{rows}\n"

    with path.open("a", encoding="utf-8") as file:
        file.write(f'\n[whatsapp]\nfrom_number = "{WHATSAPP_NUMBER}"\n'
                   "rate_limit_per_second = 50\n")
        file.write(table("whatsapp.templates", templates))
        file.write(table("whatsapp.choice_templates", choice_templates))
        file.write(f'\n[media]\nfolder = "{folder / "media"}"\n')
    return path


class WhatsAppPhone:
    """A participant's WhatsApp: writes through signed webhooks (Twilio notes the
    message, opening the window), reads what the fake was asked to send."""

    def __init__(self, server: ParleyProcess, fake: FakeTwilioWhatsApp, number: str) -> None:
        self.server, self.fake, self.number = server, fake, number
        self.address = f"whatsapp:{number}"
        self.seen = 0

    def received(self) -> list[dict[str, Any]]:
        return self.fake.sent_to(self.address)

    async def send(self, body: str = "", **kw: Any) -> httpx.Response:
        self.fake.note_inbound(self.address)
        form = inbound_whatsapp_form(self.address, f"whatsapp:{WHATSAPP_NUMBER}", body, **kw)
        response = await post_signed(self.server, "/whatsapp/inbound", form)
        assert response.status_code == 200, response.text
        return response

    async def replies(self, timeout: float = 10.0, quiet: float = 0.4) -> list[dict[str, Any]]:
        """Messages since the last call: waits for one, then for ``quiet`` seconds more."""
        await until(lambda: len(self.received()) > self.seen, timeout,
                    f"no reply to {self.address}")
        count = -1
        while count != len(self.received()):
            count = len(self.received())
            await asyncio.sleep(quiet)
        new = self.received()[self.seen:]
        self.seen = len(self.received())
        return new

    async def say(self, body: str = "", **kw: Any) -> list[dict[str, Any]]:
        await self.send(body, **kw)
        return await self.replies()
