"""Running the real ``parley serve`` against the fake Bot API, for the Telegram tests.

The server is a separate process started as an operator would (``python -m bot.cli
serve --config F --port-file P [--senders paused]``); the fake
Telegram runs in the test process on 127.0.0.1 and records every call. A ``Chat`` is one
person's Telegram: it posts updates to ``POST /telegram/webhook`` with the secret token
exactly as Telegram does, presses inline buttons on the messages the fake received, and
reads what the bot sent to it.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from pathlib import Path
from typing import Any

import httpx

from tests.fakes.telegram_api import (
    DEFAULT_TOKEN,
    SECRET_TOKEN_HEADER,
    FakeTelegram,
    make_callback_update,
    make_text_update,
)
from tests.serve_process import ParleyProcess, until
from tests.serve_process import write_config as project_config

SECRET = "s3cret-webhook-token_123"
_UPDATE_IDS = itertools.count(700_000_000 + int(time.time() * 1000) % 100_000_000)


def write_config(folder: Path, fake_url: str, *, public_url: str = "",
                 **telegram: Any) -> Path:
    settings: dict[str, Any] = {"token": DEFAULT_TOKEN, "webhook_secret": SECRET,
                                "api_base_url": f"{fake_url}/bot", "mode": "webhook",
                                "rate_limit_per_second": 200, "per_chat_per_second": 50,
                                "request_timeout": 2}
    return project_config(folder, "telegram", {**settings, **telegram},
                          public_url=public_url)


async def post_update(server: ParleyProcess, update: dict[str, Any] | bytes, *,
                      secret: str | None = SECRET) -> httpx.Response:
    headers = {} if secret is None else {SECRET_TOKEN_HEADER: secret}
    async with httpx.AsyncClient(timeout=10) as http:
        if isinstance(update, bytes):
            return await http.post(server.base_url + "/telegram/webhook", content=update,
                                   headers={**headers, "content-type": "application/json"})
        return await http.post(server.base_url + "/telegram/webhook", json=update,
                               headers=headers)


class Chat:
    """One person's private chat with the bot."""

    def __init__(self, server: ParleyProcess, fake: FakeTelegram, chat_id: int) -> None:
        self.server, self.fake, self.chat_id = server, fake, chat_id
        self.address = f"telegram:{chat_id}"
        self.seen = 0
        self._message_ids = itertools.count(10_000)

    # -- what the bot sent ---------------------------------------------------------------
    def messages(self) -> list[dict[str, Any]]:
        return [m for m in self.fake.sent_messages if m["chat_id"] == self.chat_id]

    def texts(self) -> list[str]:
        return [m["text"] for m in self.messages()]

    def buttons(self, message: dict[str, Any]) -> list[str]:
        markup = message.get("reply_markup") or {}
        return [b["text"] for row in markup.get("inline_keyboard", []) for b in row]

    def keyboard(self, message: dict[str, Any]) -> list[list[str]]:
        markup = message.get("reply_markup") or {}
        return [[b["text"] for b in row] for row in markup.get("inline_keyboard", [])]

    # -- what the person does ------------------------------------------------------------
    def text_update(self, text: str) -> dict[str, Any]:
        return make_text_update(next(_UPDATE_IDS), self.chat_id, text,
                                message_id=next(self._message_ids), first_name="Ffion")

    async def send(self, text: str) -> httpx.Response:
        return await post_update(self.server, self.text_update(text))

    def press_update(self, label: str, message: dict[str, Any] | None = None,
                     ) -> dict[str, Any]:
        """A press of the button ``label`` on ``message`` (default: the latest message
        that has buttons)."""
        if message is None:
            message = next(m for m in reversed(self.messages()) if self.buttons(m))
        markup = message["reply_markup"]
        data = next(b["callback_data"] for row in markup["inline_keyboard"] for b in row
                    if b["text"] == label)
        current = self.fake.message(self.chat_id, message["message_id"])
        return make_callback_update(next(_UPDATE_IDS), self.chat_id, data,
                                    message=current, first_name="Ffion")

    async def press(self, label: str, message: dict[str, Any] | None = None,
                    ) -> httpx.Response:
        return await post_update(self.server, self.press_update(label, message))

    async def replies(self, timeout: float = 10.0, quiet: float = 0.3) -> list[str]:
        """Messages that arrive after the last call: at least one, then until none has
        come for ``quiet`` seconds."""
        await until(lambda: len(self.messages()) > self.seen, timeout,
                    f"no reply in chat {self.chat_id}")
        count = -1
        while count != len(self.messages()):
            count = len(self.messages())
            await asyncio.sleep(quiet)
        new = self.texts()[self.seen:]
        self.seen = count
        return new

    async def say(self, text: str) -> list[str]:
        response = await self.send(text)
        assert response.status_code == 200, response.text
        return await self.replies()

    async def tap(self, label: str) -> list[str]:
        response = await self.press(label)
        assert response.status_code == 200, response.text
        return await self.replies()

    async def silence(self, seconds: float = 0.8) -> None:
        await asyncio.sleep(seconds)
        assert self.texts()[self.seen:] == []
