"""The store's second connection in the event loop's thread (``bot/store/sqlite_lane.py``):
small work runs there, and it never makes the event loop wait for a lock another
process holds (a ``parley`` command writing beside ``parley serve``)."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from pathlib import Path

from bot.store.records import Changes, InboxItem
from bot.store.sqlite import SqliteStore
from tests.test_store_contract import T0, address, person


def hold_write_lock(path: Path, seconds: float, taken: threading.Event) -> None:
    """Another process's long write transaction (a CLI import, say)."""
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    taken.set()
    time.sleep(seconds)
    other.execute("ROLLBACK")
    other.close()


async def test_small_writes_wait_off_the_event_loop_when_another_process_writes(
        tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "p.db")
    await store.open()
    try:
        taken = threading.Event()
        holder = threading.Thread(target=hold_write_lock,
                                  args=(tmp_path / "p.db", 0.4, taken))
        holder.start()
        await asyncio.to_thread(taken.wait, 5)
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        ticking = asyncio.create_task(ticker())
        started = time.monotonic()
        # a turn's unit of work, a lone inbound row and a batch of them: all wait for
        # the lock on aiosqlite's thread, none fails, none freezes the loop
        await store.apply(Changes(participant=person(), addresses=[address()]))
        item = InboxItem("sms", "SM1", "tel:+447700900001", {"text": "hi"}, T0)
        stored = await asyncio.gather(store.inbox_put(item), *(
            store.inbox_put(InboxItem("sms", f"SM{n}", "tel:+447700900001", {"text": "x"}, T0))
            for n in range(2, 6)))
        waited = time.monotonic() - started
        ticking.cancel()
        holder.join()
        assert stored == [True] * 5
        assert waited >= 0.2  # it did wait for the other process
        assert ticks >= waited / 0.01 / 3  # and the loop kept running meanwhile
        assert await store.get_participant("p1") == person()
        assert len(await store.inbox_pending(100)) == 5
    finally:
        await store.close()


async def test_the_lane_sees_what_the_other_connection_committed_and_vice_versa(
        tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "p.db")
    await store.open()
    try:
        await store.apply(Changes(participant=person(), addresses=[address()]))  # lane
        assert await store.list_participants() == [person()]  # aiosqlite's thread
        ada = person("p2", name="Ada")
        await store.import_participants([(ada, [address("telegram:7", "p2")])])  # aiosqlite
        assert await store.contact_of("telegram:7") == (ada, address("telegram:7", "p2"))
    finally:
        await store.close()
