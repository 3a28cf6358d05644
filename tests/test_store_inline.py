"""``InlineConnection``: quick statements on the loop's thread, waits on aiosqlite's."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.store.inline_sqlite import InlineConnection, inline_connect

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[InlineConnection]:
    connection = await inline_connect(tmp_path / "t.db", isolation_level=None, timeout=5)
    await connection.execute("PRAGMA journal_mode = WAL")
    await connection.execute("CREATE TABLE t (x INTEGER)")
    connection._conn.create_function("tid", 0, threading.get_ident)
    yield connection
    await connection.close()


async def thread_of(db: InlineConnection) -> int:
    rows = list(await db.execute_fetchall("SELECT tid()"))
    return int(rows[0][0])


async def test_reads_writes_and_normal_commits_run_inline(db: InlineConnection) -> None:
    loop_thread = threading.get_ident()
    assert await thread_of(db) == loop_thread
    before = db._queued  # creating the table went to the worker thread
    await db.execute("PRAGMA synchronous = NORMAL")
    await db.execute("BEGIN IMMEDIATE")  # the lock is free: taken inline
    cursor = await db.execute("INSERT INTO t (x) VALUES (1)")
    assert cursor.lastrowid == 1
    await db.executemany("INSERT INTO t (x) VALUES (?)", [(2,), (3,)])
    await db.execute("COMMIT")
    assert db._queued == before  # nothing went to the worker thread
    await db.execute("PRAGMA synchronous = FULL")
    await db.execute("BEGIN IMMEDIATE")
    await db.execute("INSERT INTO t (x) VALUES (4)")
    await db.execute("COMMIT")  # waits for fsync: on the worker thread
    assert db._queued == db._finished == before + 1
    assert [r[0] for r in await db.execute_fetchall("SELECT x FROM t ORDER BY x")] == [1, 2, 3, 4]


async def test_begin_waiting_for_another_process_does_not_stop_the_loop(
        db: InlineConnection, tmp_path: Path) -> None:
    other = sqlite3.connect(tmp_path / "t.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    running = asyncio.create_task(ticker())
    loop = asyncio.get_running_loop()
    loop.call_later(0.4, other.execute, "COMMIT")
    await db.execute("BEGIN IMMEDIATE")  # waits (busy timeout) on the worker thread
    await db.execute("ROLLBACK")
    running.cancel()
    assert ticks >= 20  # the loop kept running while BEGIN waited
    other.close()


async def test_after_a_cancelled_wait_statements_queue_behind_it(
        db: InlineConnection, tmp_path: Path) -> None:
    other = sqlite3.connect(tmp_path / "t.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    waiting = asyncio.create_task(db.execute("BEGIN IMMEDIATE"))
    await asyncio.sleep(0.1)
    waiting.cancel()
    # the BEGIN still waits on the worker thread: the next statement must not run
    # beside it on the loop's thread
    reading = asyncio.create_task(thread_of(db))
    await asyncio.sleep(0.1)
    other.execute("COMMIT")
    assert await reading != threading.get_ident()
    await db.execute("ROLLBACK")
    assert await thread_of(db) == threading.get_ident()  # inline again once idle
    other.close()


async def test_wal_checkpoints_happen_on_the_worker_thread(db: InlineConnection,
                                                           tmp_path: Path) -> None:
    await db.execute("CREATE TABLE blobs (b BLOB)")
    await db.execute("PRAGMA synchronous = NORMAL")
    scheduled = 0
    schedule = db._checkpoint_later

    def counting() -> None:
        nonlocal scheduled
        scheduled += 1
        schedule()

    db._checkpoint_later = counting  # type: ignore[method-assign]
    for _ in range(300):  # ~5 MB written, 16 KB a commit
        await db.execute("BEGIN IMMEDIATE")
        await db.execute("INSERT INTO blobs (b) VALUES (zeroblob(16384))")
        await db.execute("COMMIT")
        await asyncio.sleep(0)
    # one checkpoint every 100 inline commits (commits queued behind one are not inline)
    assert 2 <= scheduled <= 3
    await db.execute("SELECT 1")
    wal = tmp_path / "t.db-wal"
    assert wal.stat().st_size < 3_500_000  # reused after each checkpoint, not 5 MB
