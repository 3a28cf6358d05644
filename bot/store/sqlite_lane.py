"""A second SQLite connection on the event loop's own thread, for small work that never
waits for the disk: reads by key and a turn's unit of work (committed without fsync).

Why: every statement through aiosqlite is a hand-off to its worker thread and back —
about 80 µs of CPU on the 2-core development machine, twenty times a read by primary
key (~4 µs) — and a Telegram turn made a dozen of them: half of the server's CPU per
turn (issue 18). On this connection the same SQL runs in place.

What keeps the event loop from waiting on it:

- Only small work comes here: reads the callers mark ``quick`` (by key, a row or a
  few), single statements and units of work of a few rows. Large reads and writes and
  erasure stay on aiosqlite's thread.
- Its ordinary commits use ``synchronous = NORMAL`` (OFF for a store that is not kept):
  in WAL mode that is an append to the log, no fsync, made durable by the next FULL
  commit — the guarantee a NORMAL commit has on aiosqlite (``SqliteStore._write``). A
  commit that must be on the disk before it returns (``durable``: a webhook before its
  200, a message marked ``sending`` before its request) is FULL, and waits for the fsync
  in a worker thread, the store's lock held, so the event loop goes on meanwhile.
- Writing here rather than on aiosqlite's connection also keeps this connection's page
  cache: SQLite drops a connection's whole cache when another connection has committed.
- It never waits for a lock (``busy_timeout = 0``): if another process (a ``parley``
  command beside ``serve``) holds the write lock, it answers "busy" at once and the work
  goes to aiosqlite's thread, which waits there. It never checkpoints the log
  (``wal_autocheckpoint = 0``): a checkpoint syncs the database file; the aiosqlite
  connection's commits do it.
- The store's lock is held around it as around aiosqlite, so the two connections never
  write at once and a read never overtakes a unit of work in flight.
- Its writes are committed in groups: those ready in the same loop turn share one
  transaction, each in its own savepoint (``bot.store.group_commit``).

The connection is set up like the other (foreign keys, secure delete, the size cap).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterable, Sequence
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from bot.store.group_commit import CommitGroup, LaneBusy, Work
from bot.store.records import Changes
from bot.store.sql_runner import SqlConnection, SqlParams, SqlRow, SqlRunner
from bot.store.sqlite_codec import store_error

T = TypeVar("T")

SMALL_UNIT = 64
"""Rows in a unit of work small enough to commit on the event loop's thread."""

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
    """The connection and what is done with it: read, and write in transactions (with
    savepoints for ``bot.store.group_commit``)."""

    def __init__(self, conn: sqlite3.Connection, *, synchronous: str = "NORMAL",
                 durable: str = "FULL") -> None:
        self._conn = conn
        self.connection = LoopConnection(conn)
        self._levels = {False: synchronous, True: durable}
        self._level = synchronous

    @classmethod
    def open(cls, path: Path, *, synchronous: str, durable: str,
             max_page_count: int | None) -> LoopLane:
        """``synchronous``: the level of an ordinary commit; ``durable``: of a commit
        that must be on the disk when it returns (``commit_durably``)."""
        conn = sqlite3.connect(str(path), isolation_level=None, timeout=0,
                               check_same_thread=False)  # used under the store's lock
        try:
            conn.row_factory = sqlite3.Row
            # temp_store: a group's savepoints keep their undo pages in memory, not in
            # a temporary file written page by page
            for pragma in ("busy_timeout = 0", "foreign_keys = ON", "secure_delete = ON",
                           "temp_store = MEMORY", f"synchronous = {synchronous}",
                           "wal_autocheckpoint = 0"):
                conn.execute(f"PRAGMA {pragma}")
            if max_page_count is not None:
                conn.execute(f"PRAGMA max_page_count = {int(max_page_count)}")
        except BaseException:
            conn.close()
            raise
        return cls(conn, synchronous=synchronous, durable=durable)

    def read(self, sql: str, params: Sequence[Any]) -> list[SqlRow] | None:
        """The rows, or None when the file is busy (read them on aiosqlite's thread)."""
        try:
            rows: list[SqlRow] = self._conn.execute(sql, params).fetchall()
        except sqlite3.OperationalError as exc:
            if _busy(exc):
                return None
            raise
        return rows

    def begin(self, *, durable: bool = False) -> bool:
        """Take the write lock; False (nothing begun) if another connection holds it.
        ``durable``: the commit will sync the log (SQLite takes the level only outside a
        transaction, so it is set here)."""
        self._set_level(self._levels[durable])
        try:
            self._conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if _busy(exc):
                return False
            raise
        return True

    def commit(self) -> None:
        self._conn.execute("COMMIT")

    async def commit_durably(self) -> None:
        """COMMIT, waiting for the disk in a worker thread so the event loop goes on (the
        caller holds the store's lock, so nothing else uses the connection meanwhile)."""
        done = asyncio.get_running_loop().run_in_executor(None, self._conn.execute, "COMMIT")
        try:
            await asyncio.shield(done)
        except asyncio.CancelledError:
            await asyncio.wait([done])  # the connection is free only once it has ended
            raise

    def _set_level(self, level: str) -> None:
        if level != self._level:
            self._conn.execute(f"PRAGMA synchronous = {level}")
            self._level = level

    def rollback(self) -> None:
        if self._conn.in_transaction:  # SQLite may have rolled back already (disk full)
            self._conn.execute("ROLLBACK")

    def in_transaction(self) -> bool:
        return self._conn.in_transaction

    def savepoint(self) -> None:
        self._conn.execute("SAVEPOINT writer")

    def release_savepoint(self) -> None:
        self._conn.execute("RELEASE writer")

    def undo_savepoint(self) -> None:
        self._conn.execute("ROLLBACK TO writer")
        self._conn.execute("RELEASE writer")

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
    """Mixed into ``SqliteStore``: ``_quick_rows``, ``_quick_write`` and ``_unit`` use the
    lane when there is one and it is free, aiosqlite otherwise."""

    _lane: LoopLane | None
    _group: CommitGroup | None
    _lock: asyncio.Lock

    def _open_group(self, lane: LoopLane) -> None:
        self._group = CommitGroup(lane, self._lock)

    async def _quick_rows(self, sql: str, params: Sequence[Any]) -> list[SqlRow]:
        lane = self._lane
        if lane is not None:
            async with self._lock:  # behind any group being written
                try:
                    rows = lane.read(sql, params)
                except sqlite3.Error as exc:
                    raise store_error(exc) from exc
            if rows is not None:
                return rows
        return await self._all(sql, params)

    async def _quick_write(self, sql: str, params: Sequence[Any], *,
                           durable: bool) -> list[SqlRow] | None:
        """One statement committed with the lane's group, or None: use aiosqlite."""
        group = self._group
        if group is None:
            return None
        try:
            return await group.run(partial(_fetch_all, sql, params), durable=durable)
        except LaneBusy:
            return None

    async def _unit(self, work: Work[T], *, small: bool, durable: bool) -> T:
        """``work`` in one transaction: committed with the lane's group
        (``bot.store.group_commit``) if it is small, else (or if another process holds the
        write lock) in ``_write`` on aiosqlite's thread. ``durable`` as in ``_write``."""
        group = self._group
        if group is not None and small:
            try:
                return await group.run(work, durable=durable)
            except LaneBusy:
                pass
        async with self._write(durable=durable) as db:
            return await work(db)


async def _fetch_all(sql: str, params: Sequence[Any], db: SqlConnection) -> list[SqlRow]:
    return list(await db.execute_fetchall(sql, params))
