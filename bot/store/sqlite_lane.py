"""A second SQLite connection on the event loop's own thread, for small work that never
waits for the disk: reads by key and a turn's unit of work (committed without fsync).

Why: every statement through aiosqlite is a hand-off to its worker thread and back —
about 80 µs of CPU on the 2-core development machine, twenty times a read by primary
key (~4 µs) — and a Telegram turn made a dozen of them: half of the server's CPU per
turn (issue 18). On this connection the same SQL runs in place.

What keeps the event loop from waiting on it:

- Only small work comes here: reads the callers mark ``quick`` (by key, a row or a
  few), and units of work of a few rows. Large reads, erasure and every commit that must
  reach the disk before it returns (``durable``) stay on aiosqlite's thread.
- Its commits use ``synchronous = NORMAL`` (OFF for a store that is not kept): in WAL
  mode that is an append to the log, no fsync. They are made durable by the next FULL
  commit of the aiosqlite connection, which syncs the same log file — exactly the
  guarantee a NORMAL commit had there (``SqliteStore._write``).
- It never waits for a lock (``busy_timeout = 0``): if another process (a ``parley``
  command beside ``serve``) holds the write lock, it answers "busy" at once and the work
  goes to aiosqlite's thread, which waits there. It never checkpoints the log
  (``wal_autocheckpoint = 0``): a checkpoint syncs the database file; the aiosqlite
  connection's commits do it.
- The store's lock is held around it as around aiosqlite, so the two connections never
  write at once and a read never overtakes a unit of work in flight.

The connection is set up like the other (foreign keys, secure delete, the size cap).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

from bot.store.records import Changes
from bot.store.sql_runner import SqlConnection, SqlParams, SqlRow, SqlRunner
from bot.store.sqlite_codec import store_error

SMALL_UNIT = 64
"""Rows in a unit of work small enough to commit on the event loop's thread."""

SYNC_KEY = "_parley.lane_sync"
SYNC_SQL = ("INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value")
"""The one-row durable commit that syncs what the lane wrote (``_batch_write``)."""


def _busy(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


class LoopCursor:
    """``SqlCursor`` over a ``sqlite3.Cursor`` (nothing to wait for)."""

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    async def fetchone(self) -> SqlRow | None:
        row: SqlRow | None = self._cursor.fetchone()
        return row

    async def fetchmany(self, size: int | None = None) -> Iterable[SqlRow]:
        rows: list[SqlRow] = self._cursor.fetchmany(size or self._cursor.arraysize)
        return rows

    async def close(self) -> None:
        self._cursor.close()


class LoopConnection:
    """``SqlConnection`` over the lane's connection: the mixins' SQL runs unchanged, each
    ``await`` finishing at once."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    @property
    def row_factory(self) -> Any:
        return self._conn.row_factory

    @row_factory.setter
    def row_factory(self, value: Any) -> None:
        self._conn.row_factory = value

    async def execute(self, sql: str, parameters: SqlParams = None, /) -> LoopCursor:
        return LoopCursor(self._conn.execute(sql, () if parameters is None else parameters))

    async def executemany(self, sql: str, parameters: Iterable[Iterable[Any]], /
                          ) -> LoopCursor:
        return LoopCursor(self._conn.executemany(sql, parameters))  # type: ignore[arg-type]

    async def execute_fetchall(self, sql: str, parameters: SqlParams = None, /
                               ) -> list[SqlRow]:
        rows: list[SqlRow] = self._conn.execute(
            sql, () if parameters is None else parameters).fetchall()
        return rows


class LoopLane:
    """The connection and the three things done with it: read, begin, end."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self.connection = LoopConnection(conn)

    @classmethod
    def open(cls, path: Path, *, synchronous: str, max_page_count: int | None) -> LoopLane:
        conn = sqlite3.connect(str(path), isolation_level=None, timeout=0,
                               check_same_thread=False)  # used under the store's lock
        try:
            conn.row_factory = sqlite3.Row
            for pragma in ("busy_timeout = 0", "foreign_keys = ON", "secure_delete = ON",
                           f"synchronous = {synchronous}", "wal_autocheckpoint = 0"):
                conn.execute(f"PRAGMA {pragma}")
            if max_page_count is not None:
                conn.execute(f"PRAGMA max_page_count = {int(max_page_count)}")
        except BaseException:
            conn.close()
            raise
        return cls(conn)

    def read(self, sql: str, params: Sequence[Any]) -> list[SqlRow] | None:
        """The rows, or None when the file is busy (read them on aiosqlite's thread)."""
        try:
            rows: list[SqlRow] = self._conn.execute(sql, params).fetchall()
        except sqlite3.OperationalError as exc:
            if _busy(exc):
                return None
            raise
        return rows

    def write_one(self, sql: str, params: Sequence[Any]) -> list[SqlRow] | None:
        """One statement as its own transaction; None (nothing done) when busy."""
        return self.read(sql, params)  # the same call: SQLite commits it when it ends

    def begin(self) -> bool:
        """Take the write lock; False (nothing begun) if another connection holds it."""
        try:
            self._conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if _busy(exc):
                return False
            raise
        return True

    def commit(self) -> None:
        self._conn.execute("COMMIT")

    def rollback(self) -> None:
        if self._conn.in_transaction:  # SQLite may have rolled back already (disk full)
            self._conn.execute("ROLLBACK")

    def close(self) -> None:
        self._conn.close()


def lane_path(path: Path) -> bool:
    """Whether a second connection reaches the same database: a file, not ``:memory:``
    nor a ``file:`` URI (which may name a private in-memory database)."""
    text = str(path)
    return text != ":memory:" and not text.startswith("file:")


def small(changes: Changes) -> bool:
    """Whether a unit of work may commit on the event loop's thread: a few rows and no
    erasure (which rewrites many rows and checkpoints)."""
    if changes.erase:
        return False
    rows = sum(len(value) for value in vars(changes).values() if isinstance(value, list))
    return rows <= SMALL_UNIT


class SqliteLane(SqlRunner):
    """Mixed into ``SqliteStore``: ``_quick_rows`` and ``_unit_of_work`` use the lane when
    there is one and it is free, aiosqlite otherwise."""

    _lane: LoopLane | None
    _lock: asyncio.Lock
    _synced = 0

    async def _quick_rows(self, sql: str, params: Sequence[Any]) -> list[SqlRow]:
        lane = self._lane
        if lane is not None:
            async with self._lock:  # behind any unit of work in flight
                try:
                    rows = lane.read(sql, params)
                except sqlite3.Error as exc:
                    raise store_error(exc) from exc
            if rows is not None:
                return rows
        return await self._all(sql, params)

    async def _quick_write(self, sql: str, params: Sequence[Any]) -> list[SqlRow] | None:
        """A non-durable statement on the lane, or None: use aiosqlite."""
        lane = self._lane
        if lane is None:
            return None
        async with self._lock:
            try:
                return lane.write_one(sql, params)
            except sqlite3.Error as exc:
                raise store_error(exc) from exc

    @asynccontextmanager
    async def _unit_of_work(self, changes: Changes) -> AsyncIterator[SqlConnection]:
        """``_write(durable=False)`` for ``changes``: on the lane if it is small and the
        write lock is free at once."""
        async with self._lane_or_write(small(changes), durable=False) as db:
            yield db

    def _batch_write(self, rows: int) -> AbstractAsyncContextManager[SqlConnection]:
        return self._lane_or_write(rows <= SMALL_UNIT, durable=True)

    @asynccontextmanager
    async def _lane_or_write(self, small: bool, *,
                             durable: bool) -> AsyncIterator[SqlConnection]:
        """A transaction on the lane (``durable``: then made durable by one FULL commit
        on aiosqlite's thread, which syncs the log the lane appended to), or ``_write``
        when the work is not small, there is no lane or its write lock is taken."""
        lane = self._lane
        begun = False
        if lane is not None and small:
            async with self._lock:
                try:
                    begun = lane.begin()
                except sqlite3.Error as exc:
                    raise store_error(exc) from exc
                if begun:
                    try:
                        yield lane.connection
                        lane.commit()
                    except sqlite3.Error as exc:
                        lane.rollback()
                        raise store_error(exc) from exc
                    except BaseException:
                        lane.rollback()
                        raise
        if not begun:
            async with self._write(durable=durable) as db:
                yield db
        elif durable:
            self._synced += 1  # a new value: the commit writes, so the log is synced
            await self._write_one(SYNC_SQL, (SYNC_KEY, str(self._synced)), durable=True)
