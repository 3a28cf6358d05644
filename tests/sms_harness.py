"""Running the real ``parley serve`` against the fake Twilio, for the SMS tests.

``ParleyProcess`` and ``until`` live in ``tests/serve_process.py`` (shared with Telegram).

The server is a separate process, started exactly as an operator would
(``python -m bot.cli serve --config F --port-file P``), so these tests cover the CLI, the
config file, uvicorn, the lifespan, the senders and the SQLite file together. Inbound
requests are signed the way Twilio signs them: for the *public* URL (Parley is assumed
to sit behind a proxy at ``https://parley.example``), whatever port the process got.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from bot.config import load_config
from bot.runtime import Runtime, open_runtime
from bot.simulator import enrolled_phone
from tests.fakes.twilio_api import (
    DEFAULT_ACCOUNT_SID,
    DEFAULT_AUTH_TOKEN,
    FakeTwilio,
    inbound_sms_form,
    sign_twilio_request,
)
from tests.serve_process import ParleyProcess, until
from tests.serve_process import write_config as project_config

PUBLIC_URL = "https://parley.example"
TWILIO_NUMBER = "+447700900000"


def write_config(folder: Path, fake_url: str, **sms: Any) -> Path:
    settings: dict[str, Any] = {"account_sid": DEFAULT_ACCOUNT_SID,
                                "auth_token": DEFAULT_AUTH_TOKEN,
                                "from_number": TWILIO_NUMBER, "api_base_url": fake_url,
                                "rate_limit_per_second": 50, "request_timeout": 1}
    return project_config(folder, "sms", {**settings, **sms}, public_url=PUBLIC_URL)


class Phone:
    """A participant's handset: texts Parley through signed webhooks, reads what the fake
    Twilio was asked to send to it."""

    def __init__(self, server: ParleyProcess, fake: FakeTwilio, number: str) -> None:
        self.server, self.fake, self.number = server, fake, number
        self.address = f"tel:{number}"
        self.seen = 0

    def messages(self) -> list[str]:
        return [m["body"] for m in self.fake.sent_to(self.number)]

    async def text(self, body: str, sid: str | None = None, **kw: Any) -> httpx.Response:
        return await post_signed(self.server, "/sms/inbound",
                                 inbound_sms_form(self.number, TWILIO_NUMBER, body, sid, **kw))

    async def replies(self, timeout: float = 10.0, quiet: float = 0.4) -> list[str]:
        """Messages that arrive after the last call: waits for at least one, then until
        nothing more comes for ``quiet`` seconds."""
        await until(lambda: len(self.messages()) > self.seen, timeout,
                    f"no reply to {self.number}")
        count = -1
        while count != len(self.messages()):
            count = len(self.messages())
            await asyncio.sleep(quiet)
        new = self.messages()[self.seen:]
        self.seen = len(self.messages())
        return new

    async def say(self, body: str) -> list[str]:
        response = await self.text(body)
        assert response.status_code == 200, response.text
        return await self.replies()

    async def silence(self, seconds: float = 1.0) -> None:
        await asyncio.sleep(seconds)
        assert self.messages()[self.seen:] == []


async def post_signed(server: ParleyProcess, path: str, form: dict[str, str], *,
                      token: str = DEFAULT_AUTH_TOKEN, signed_url: str | None = None,
                      signature: str | None = None) -> httpx.Response:
    url = signed_url or PUBLIC_URL + path
    headers = {"X-Twilio-Signature": signature if signature is not None
               else sign_twilio_request(token, url, form)}
    if signature == "":
        headers = {}
    async with httpx.AsyncClient(timeout=10) as http:
        return await http.post(server.base_url + path, data=form, headers=headers)


async def until_db(runtime: Runtime, check: Callable[[Runtime], Any], timeout: float = 10.0,
                   what: str = "database state") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = await check(runtime)
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def db_runtime(config: Path) -> Runtime:
    """The same database as the server, opened beside it (as a coordinator's CLI would)."""
    return await open_runtime(load_config(config))


async def enrol(runtime: Runtime, number: str) -> str:
    """A participant who has consented and finished the pathway, with this number."""
    _, pid = await enrolled_phone(runtime, f"tel:{number}", name="Sam")
    return pid


def rows_mentioning(db: Path, needles: list[str]) -> list[tuple[str, tuple[Any, ...]]]:
    """Every row of every table with a cell containing one of ``needles``."""
    found = []
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            for row in con.execute(f'SELECT * FROM "{table}"'):
                if any(needle in str(cell) for cell in row for needle in needles):
                    found.append((table, row))
    return found
