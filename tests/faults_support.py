"""Shared parts of the fault suite (issue #11): local fakes, stores and senders.

Real parts throughout: the real twilio ``Client`` and python-telegram-bot ``Bot`` against
the local fakes on 127.0.0.1, real SQLite files, Parley's own outbox and inbox.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
from telegram import Bot
from telegram.request import HTTPXRequest

from bot.channels.sms_transport import TwilioTransport
from bot.channels.telegram_aiohttp import AiohttpRequest
from bot.channels.telegram_transport import TelegramTransport
from bot.clock import ManualClock, SystemClock
from bot.delivery.outbox import OutboxSender
from bot.delivery.transport import Pacing
from bot.errors import StoreError
from bot.metrics import Metrics
from bot.runtime import Runtime, open_runtime
from bot.store.records import Changes, EventRow, InboxItem, OutboxItem
from bot.store.sqlite import SqliteStore
from tests.conftest import T0, make_config
from tests.fakes.server import ServedApp
from tests.fakes.telegram_api import DEFAULT_TOKEN, FakeTelegram
from tests.fakes.twilio_api import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, FakeTwilio

FROM = "+447700900000"
FINDING = ("People told us that letters about benefit changes arrive too late to act on. "
           "Several said they found out about a cut only when their payment was smaller. "
           "Most wanted a text a month before any change, in plain words.")


async def until(check: Callable[[], object], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


@pytest.fixture(scope="module")
def twilio() -> Iterator[tuple[FakeTwilio, ServedApp]]:
    fake = FakeTwilio(hang_seconds=2.0)
    with fake.serve() as srv:
        yield fake, srv


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    db = SqliteStore(tmp_path / "parley.db")
    await db.open()
    yield db
    await db.close()


def sms(to: str, text: str, *, long_ok: bool = False,
        at: dt.datetime | None = None) -> OutboxItem:
    now = at or dt.datetime.now(dt.UTC)
    return OutboxItem(participant_id="", address=f"tel:{to}", channel="sms",
                      payload={"plain": text, "text": text, "long_ok": long_ok},
                      created_at=now, not_before=now)


async def sms_sender(store: SqliteStore, base_url: str, rate: float) -> OutboxSender:
    config = make_config(sms={"account_sid": DEFAULT_ACCOUNT_SID,
                              "auth_token": DEFAULT_AUTH_TOKEN, "from_number": FROM,
                              "api_base_url": base_url, "request_timeout": 1,
                              "rate_limit_per_second": rate})
    transport = TwilioTransport(config, store=store)
    sender = OutboxSender(store, transport, SystemClock(), Metrics(), poll_interval=0.05)
    transport.window = sender.window  # as SmsChannel.start does
    await sender.start()
    return sender

@pytest.fixture
async def sqlite_runtime(tmp_path: Path) -> AsyncIterator[Runtime]:
    store = SqliteStore(tmp_path / "parley.db", busy_timeout_ms=100)
    rt = await open_runtime(make_config(), store=store, clock=ManualClock(T0))
    yield rt
    await rt.close()


def inbound(key: str, address: str, text: str) -> InboxItem:
    return InboxItem(channel="sms", dedupe_key=key, address=address,
                     payload={"text": text, "kind": "text"}, received_at=T0)

@pytest.fixture(scope="module")
def telegram() -> Iterator[tuple[FakeTelegram, ServedApp]]:
    fake = FakeTelegram()
    with fake.serve() as srv:
        yield fake, srv


async def telegram_sender(store: SqliteStore, base_url: str, **options: object,
                          ) -> tuple[OutboxSender, Bot]:
    bot = Bot(DEFAULT_TOKEN, base_url=f"{base_url}/bot",
              request=AiohttpRequest(files=HTTPXRequest(), read_timeout=0.5, connect_timeout=1,
                                     write_timeout=1))
    await bot.initialize()  # so bot.shutdown() closes the HTTP client's session
    sender = OutboxSender(store, TelegramTransport(bot, Pacing(30, 1)), SystemClock(),
                          Metrics(), poll_interval=0.05, **options)  # type: ignore[arg-type]
    await sender.start()
    return sender, bot


def chat_message(chat: int, text: str, at: dt.datetime | None = None) -> OutboxItem:
    now = at or dt.datetime.now(dt.UTC)
    return OutboxItem(participant_id="", address=f"telegram:{chat}", channel="telegram",
                      payload={"text": text, "plain": text, "kind": "notice"},
                      created_at=now, not_before=now)

def filler(kind: str, n: int, size: int) -> Changes:
    """One harmless row of ``kind`` (never due, never anyone's): what fills the disk."""
    if kind == "meta":
        return Changes()
    if kind == "events":
        return Changes(events=[EventRow(None, None, "Filler", {"x": "x" * size}, T0)])
    return Changes(outbox=[OutboxItem(participant_id="", address=f"filler:{n}",
                                      channel="sms", payload={"x": "x" * size},
                                      created_at=T0, not_before=T0, status="cancelled")])


async def fill_store(store: SqliteStore) -> int:
    """Write filler through the store itself until SQLite reports it full, in ever
    smaller pieces and into the tables processing writes, so nothing more fits."""
    written = 0
    for size in (3000, 400, 60, 8):
        for kind in ("meta", "events", "outbox"):
            for _ in range(100_000):
                try:
                    if kind == "meta":
                        await store.set_meta(f"filler.{written}", "x" * size)
                    else:
                        await store.apply(filler(kind, written, size))
                except StoreError:
                    break
                written += 1
    return written


def free_store(path: Path) -> None:
    with sqlite3.connect(path) as other:
        other.execute("DELETE FROM meta WHERE key LIKE 'filler.%'")
        other.execute("DELETE FROM events WHERE name = 'Filler'")
        other.execute("DELETE FROM outbox WHERE address LIKE 'filler:%'")


async def capped_runtime(path: Path, room: int = 60) -> Runtime:
    setup = SqliteStore(path)
    await setup.open()
    await setup.close()
    pages = sqlite3.connect(path).execute("PRAGMA page_count").fetchone()[0]
    store = SqliteStore.from_url(f"sqlite:///{path}?max_page_count={pages + room}")
    return await open_runtime(make_config(), store=store, clock=ManualClock(T0))
