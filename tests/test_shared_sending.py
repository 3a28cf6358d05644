"""Two senders sharing one database and one bot's rate (two ``parley serve`` processes,
each keeping to half of Telegram's 30/s) send a broadcast at the full shared rate.

Both read the same due rows in the same order; a row the other one claimed first was
sent by nobody here, so it must not use up a place in this sender's half of the rate.
When it did, the slower of the two spent its half on rows already gone, and two
processes together sent at about 15/s (``python -m bench --only scale`` found it).

Real parts: two SQLite store connections to one file, python-telegram-bot's Bot through
Parley's Telegram transport, and the fake Bot API on 127.0.0.1 enforcing 30/s.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from telegram import Bot
from telegram.request import HTTPXRequest

from bot.channels.telegram_aiohttp import AiohttpRequest
from bot.channels.telegram_transport import TelegramTransport
from bot.clock import SystemClock
from bot.delivery.outbox import OutboxSender
from bot.delivery.pacing import SlidingWindow
from bot.delivery.transport import Pacing
from bot.metrics import Metrics
from bot.store.records import Changes, OutboxItem
from bot.store.sqlite import SqliteStore
from tests.fakes.telegram_api import DEFAULT_TOKEN, FakeTelegram

pytestmark = [pytest.mark.timeout(30),
              pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")]

MESSAGES = 90


@pytest.fixture
async def two_senders(tmp_path: Path) -> AsyncIterator[tuple[FakeTelegram, SqliteStore]]:
    fake = FakeTelegram(enforce_limits=True, global_per_second=30, per_chat_per_second=1)
    stores = [SqliteStore(tmp_path / "parley.db") for _ in range(2)]
    senders, bots = [], []
    with fake.serve() as served:
        for store in stores:
            await store.open()
            bot = Bot(DEFAULT_TOKEN, base_url=f"{served.base_url}/bot",
                      request=AiohttpRequest(files=HTTPXRequest(), read_timeout=5,
                                             connect_timeout=5, write_timeout=5))
            sender = OutboxSender(store, TelegramTransport(bot, Pacing(30, 1)),
                                  SystemClock(), Metrics(), poll_interval=0.05)
            sender.window.share(2)  # what membership leases do for two live processes
            await sender.start()
            senders.append(sender)
            bots.append(bot)
        try:
            yield fake, stores[0]
        finally:
            for sender in senders:
                await sender.stop()
            for bot in bots:
                await bot.shutdown()
                await bot.request.shutdown()
            for store in stores:
                await store.close()


def broadcast(count: int) -> list[OutboxItem]:
    now = datetime.now(UTC)
    return [OutboxItem(participant_id="", address=f"telegram:{7000 + n}", channel="telegram",
                       payload={"text": f"round {n}", "plain": f"round {n}", "kind": "notice"},
                       created_at=now, not_before=now) for n in range(count)]


async def test_two_senders_on_one_database_send_at_the_full_shared_rate(
        two_senders: tuple[FakeTelegram, SqliteStore]) -> None:
    fake, store = two_senders
    await store.apply(Changes(outbox=broadcast(MESSAGES)))  # found at their next read
    deadline = time.monotonic() + 20
    while len(fake.sent_messages) < MESSAGES:
        assert time.monotonic() < deadline, f"only {len(fake.sent_messages)} sent"
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)  # anything sent twice would arrive meanwhile
    times = sorted(m["time"] for m in fake.sent_messages)
    sent = Counter(m["chat_id"] for m in fake.sent_messages)
    assert fake.rate_limited_count == 0  # together within Telegram's 30/s
    assert len(sent) == MESSAGES and set(sent.values()) == {1}  # each once
    # 90 messages at 30/s need 2 s between the first and the last; at the 15/s two
    # senders reached when lost claims used up their places, they took 5 s
    assert times[-1] - times[0] < 3.6


def test_a_refunded_slot_frees_its_place_at_once() -> None:
    now = [0.0]
    window = SlidingWindow(2, clock=lambda: now[0])
    first, second = window.take(), window.take()
    assert window.delay() > 0
    window.refund(second)  # its row went to another process: no request was made
    assert window.delay() == 0
    window.close(first)
    window.take()
    assert window.delay() > 0
