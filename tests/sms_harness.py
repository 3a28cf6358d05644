"""Running the real ``parley serve`` against the fake Twilio, for the SMS tests.

The server is a separate process, started exactly as an operator would
(``python -m bot.cli serve --config F --port-file P``), so these tests cover the CLI, the
config file, uvicorn, the lifespan, the senders and the SQLite file together. Inbound
requests are signed the way Twilio signs them: for the *public* URL (Parley is assumed
to sit behind a proxy at ``https://parley.example``), whatever port the process got.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
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

ROOT = Path(__file__).resolve().parent.parent
PUBLIC_URL = "https://parley.example"
TWILIO_NUMBER = "+447700900000"


def write_config(folder: Path, fake_url: str, **sms: Any) -> Path:
    settings: dict[str, Any] = {"account_sid": DEFAULT_ACCOUNT_SID,
                                "auth_token": DEFAULT_AUTH_TOKEN,
                                "from_number": TWILIO_NUMBER, "api_base_url": fake_url,
                                "rate_limit_per_second": 50, "request_timeout": 1}
    settings.update(sms)
    lines = "\n".join(f"{k} = {v!r}" if isinstance(v, str) else f"{k} = {str(v).lower()}"
                      if isinstance(v, bool) else f"{k} = {v}" for k, v in settings.items())
    path = folder / "config.toml"
    path.write_text(f"""
[project]
name = "Money Voices"
contact = "call 0800 123 456"
locales = ["en", "cy"]
flows_dir = "{ROOT / 'flows'}"
templates_dir = "{ROOT / 'templates'}"

[store]
url = "sqlite:///{folder / 'parley.db'}"

[server]
host = "127.0.0.1"
port = 0
public_url = "{PUBLIC_URL}"

[schedule]
quiet_hours = ""

[sms]
{lines}
""", encoding="utf-8")
    return path


class ParleyProcess:
    """``parley serve`` in a subprocess; ``base_url`` once it answers /healthz."""

    def __init__(self, config: Path, log_level: str = "INFO",
                 args: tuple[str, ...] = ()) -> None:
        self.config = config
        self.log_level = log_level
        self.args = args
        self.port_file = config.with_name("port")
        self.log = config.with_name("serve.log")
        self.proc: subprocess.Popen[bytes] | None = None
        self.base_url = ""

    def start(self, timeout: float = 20.0) -> ParleyProcess:
        self.port_file.unlink(missing_ok=True)
        env = {**os.environ, "PARLEY_LOG_LEVEL": self.log_level, "PYTHONPATH": str(ROOT)}
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "bot.cli", "serve", "--config", str(self.config),
                 "--port-file", str(self.port_file), *self.args],
                cwd=self.config.parent, env=env, stdout=log, stderr=log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"parley serve exited {self.proc.returncode}:\n"
                                   + self.log.read_text(errors="replace")[-3000:])
            if self.port_file.exists():
                self.base_url = f"http://127.0.0.1:{self.port_file.read_text().strip()}"
                try:
                    if httpx.get(self.base_url + "/healthz", timeout=1).status_code == 200:
                        return self
                except httpx.HTTPError:
                    pass
            time.sleep(0.05)
        self.stop()
        raise TimeoutError("parley serve did not become healthy:\n"
                           + self.log.read_text(errors="replace")[-3000:])

    def stop(self, timeout: float = 10.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout)

    def kill(self) -> None:
        """As a crash would: no clean shutdown at all."""
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(10)


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


async def until(check: Callable[[], object], timeout: float = 10.0,
                what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


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
