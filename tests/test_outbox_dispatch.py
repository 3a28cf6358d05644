"""The outbox dispatcher works from the due rows it last read (reading thousands of rows
for every send cost most of a broadcast's CPU). These tests hold it to what that must
not change: a row cancelled after it was read is never sent, a row queued behind its
back is still sent, and a chat's messages keep their order and pace.

Real parts throughout: the SQLite store on a file, python-telegram-bot's Bot through
Parley's Telegram transport, and the fake Bot API on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from telegram import Bot
from telegram.request import HTTPXRequest

from bot.channels.telegram_aiohttp import AiohttpRequest
from bot.channels.telegram_transport import TelegramTransport
from bot.clock import SystemClock
from bot.delivery import outbox as outbox_module
from bot.delivery.outbox import OutboxSender
from bot.delivery.transport import Pacing
from bot.metrics import Metrics
from bot.store.records import Changes, OutboxItem
from bot.store.sqlite import SqliteStore
from tests.fakes.server import ServedApp
from tests.fakes.telegram_api import DEFAULT_TOKEN, FakeTelegram

pytestmark = [pytest.mark.timeout(30),
              pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")]


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[FakeTelegram, ServedApp]]:
    fake = FakeTelegram()
    with fake.serve() as srv:
        yield fake, srv


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    db = SqliteStore(tmp_path / "parley.db")
    await db.open()
    yield db
    await db.close()


@pytest.fixture
async def sender(served: tuple[FakeTelegram, ServedApp],
                 store: SqliteStore) -> AsyncIterator[OutboxSender]:
    fake, srv = served
    fake.reset()
    bot = Bot(DEFAULT_TOKEN, base_url=f"{srv.base_url}/bot",
              request=AiohttpRequest(files=HTTPXRequest(), read_timeout=2, connect_timeout=2,
                                     write_timeout=2))
    sending = OutboxSender(store, TelegramTransport(bot, Pacing(30, 1)), SystemClock(),
                           Metrics(), poll_interval=0.05)
    await sending.start()
    yield sending
    await sending.stop()
    await bot.shutdown()
    await bot.request.shutdown()  # an uninitialised Bot skips it


def message(chat: int, text: str) -> OutboxItem:
    now = datetime.now(UTC)
    return OutboxItem(participant_id="", address=f"telegram:{chat}", channel="telegram",
                      payload={"text": text, "plain": text, "kind": "notice"},
                      created_at=now, not_before=now)


async def until(check: object, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


async def test_a_row_cancelled_after_it_was_read_is_never_sent(
        sender: OutboxSender, store: SqliteStore, served: tuple[FakeTelegram, ServedApp],
        monkeypatch: pytest.MonkeyPatch) -> None:
    # no re-read while the test runs: the dispatcher must rely on the list it has
    monkeypatch.setattr(outbox_module, "REFRESH_EVERY", 60.0)
    fake = served[0]
    first, second = message(501, "first"), message(501, "second")
    await store.apply(Changes(outbox=[first, second]))
    sender.wake()
    # the first goes at once; the second waits its turn (1/s in a chat) in the list the
    # dispatcher has read, and is cancelled meanwhile (a round cancelled, say)
    await until(lambda: fake.texts_to(501) == ["first"], 5, "the first message")
    second.status, second.last_error = "cancelled", "round cancelled"
    await store.outbox_update(second)
    await asyncio.sleep(1.6)  # past the chat's pace
    assert fake.texts_to(501) == ["first"]
    [stored] = [o for o in await store.outbox_all() if o.id == second.id]
    assert stored.status == "cancelled" and stored.attempts == 0


async def test_a_row_queued_without_a_wake_is_still_sent(
        sender: OutboxSender, store: SqliteStore,
        served: tuple[FakeTelegram, ServedApp]) -> None:
    """Another process (the CLI, say) queues rows and cannot wake this one: while the
    dispatcher is busy with rows it has read, it still reads again and finds them."""
    fake = served[0]
    busy = [message(502, f"m{i}") for i in range(5)]  # ~4 s of work at 1/s in a chat
    await store.apply(Changes(outbox=busy))
    sender.wake()
    await until(lambda: len(fake.texts_to(502)) == 1, 5, "the first of chat 502")
    late = message(503, "queued behind its back")
    await store.apply(Changes(outbox=[late]))  # no wake
    started = time.monotonic()
    await until(lambda: fake.texts_to(503) == ["queued behind its back"], 5, "the late row")
    # found by the periodic re-read (every second), not only once chat 502's rows are
    # all sent, some 4 s from now
    assert outbox_module.REFRESH_EVERY == 1.0
    assert time.monotonic() - started < 2.0
    await until(lambda: len(fake.texts_to(502)) == 5, 8, "chat 502's messages")
    assert fake.texts_to(502) == ["m0", "m1", "m2", "m3", "m4"]  # in order, at its pace
    times = [m["time"] for m in fake.sent_messages if m["chat_id"] == 502]
    assert all(b - a >= 0.95 for a, b in itertools.pairwise(times))
