"""An aiosqlite connection that runs quick statements on the event loop's own thread.

Why: aiosqlite sends every statement to its worker thread and back. On the webhook hot
path that round trip (a queue put, a thread wake-up, the GIL handed over and back, a
self-pipe write to wake the loop) costs several times more than the statement itself —
a conversation turn makes about two dozen of them, and the store's single connection
made every turn queue behind them (bench/telegram_turns.py).

What runs where:

- on the loop's thread, synchronously: plain reads and writes (``SELECT``, ``INSERT``,
  ``UPDATE``, ``DELETE``, ``WITH``), ``PRAGMA synchronous``, fetching rows, and a
  ``COMMIT`` under ``synchronous=NORMAL`` (no fsync to wait for). In WAL mode a read
  never waits for a writer, and a write inside ``BEGIN IMMEDIATE`` already holds the
  write lock, so none of these can wait on another process's lock. SQLite's automatic
  WAL checkpoint, which would run inside such a ``COMMIT``, is replaced by one on the
  worker thread every ``CHECKPOINT_EVERY`` commits;
- ``BEGIN`` inline too when the write lock is free (tried with a zero busy timeout);
  when another process holds it, on aiosqlite's thread, which waits up to the busy
  timeout without stopping the loop;
- on aiosqlite's thread, in order, as before: everything else that may wait or touch
  the disk for long — a ``COMMIT`` under ``synchronous=FULL`` (it waits for fsync),
  ``ROLLBACK``, every other ``PRAGMA`` (journal mode, checkpoints), connecting and
  closing.

The one connection is never used by two threads at once: a statement runs inline only
when nothing is queued on or running in the worker thread (a cancelled caller can leave
a ``COMMIT`` running there, and then later statements queue behind it, as with plain
aiosqlite). Everything else about aiosqlite — its API, its cursors, its errors — is
unchanged, so ``SqliteStore`` and its mixins do not know the difference.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiosqlite

_INLINE_SQL = ("SELECT", "INSERT", "UPDATE", "DELETE", "WITH", "REPLACE")
CHECKPOINT_EVERY = 100
"""Inline commits between WAL checkpoints. SQLite's automatic checkpoint (every 1,000
WAL pages) would run inside whichever COMMIT crossed the line, on the loop's thread,
with fsyncs; it is switched off for this connection and done here instead, on the
worker thread, about as often (a turn writes ten or so pages)."""


def _quick(sql: str) -> bool:
    return sql.startswith(_INLINE_SQL)


class InlineConnection(aiosqlite.Connection):
    """``aiosqlite.Connection`` with quick statements run inline (see the module)."""

    def __init__(self, connector: Callable[[], sqlite3.Connection],
                 iter_chunk_size: int = 64) -> None:
        super().__init__(connector, iter_chunk_size)
        self._queued = 0
        self._finished = 0
        self._busy_ms: int | None = None
        self._full = True
        self._commits = 0
        """``synchronous`` is FULL (or stricter): a COMMIT waits for fsync, so not inline."""

    def _inline(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> bool:
        if self._queued != self._finished or self._connection is None:
            return False
        name = getattr(fn, "__name__", "")
        if name in ("execute", "executemany", "_execute_fetchall"):
            if not args or not isinstance(args[0], str):
                return False
            sql = args[0].lstrip()[:40].upper()
            if sql.startswith("PRAGMA SYNCHRONOUS"):
                if "=" in sql:  # a setting, not a question
                    level = sql.split("=", 1)[1].strip(" ;")
                    self._full = level in ("FULL", "EXTRA", "2", "3")
                return True
            if sql.startswith("COMMIT"):
                return not self._full  # no fsync to wait for
            return _quick(sql)
        return name in ("fetchone", "fetchmany", "fetchall")  # rows of a cursor

    def _try_begin(self, sql: str) -> bool:
        """``BEGIN`` inline if the write lock is free right now (busy timeout 0 for the
        attempt); False, with nothing begun, if another process holds it."""
        conn = self._conn
        if self._busy_ms is None:
            self._busy_ms = int(conn.execute("PRAGMA busy_timeout").fetchone()[0])
        conn.execute("PRAGMA busy_timeout = 0")
        try:
            conn.execute(sql)
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            return False
        finally:
            conn.execute(f"PRAGMA busy_timeout = {self._busy_ms}")
        return True

    def _checkpoint_later(self) -> None:
        """Copy the WAL into the database on the worker thread, unawaited; statements
        queue behind it meanwhile (see ``CHECKPOINT_EVERY``)."""
        conn = self._conn

        def checkpoint() -> None:
            try:
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            finally:
                self._finished += 1

        self._queued += 1
        self._tx.put_nowait((None, checkpoint))

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if self._inline(fn, args):
            result = fn(*args, **kwargs)
            if args and isinstance(args[0], str) and args[0].lstrip()[:6].upper() == "COMMIT":
                self._commits += 1
                if self._commits >= CHECKPOINT_EVERY:
                    self._commits = 0
                    self._checkpoint_later()
            return result
        if (getattr(fn, "__name__", "") == "execute" and args and isinstance(args[0], str)
                and args[0].lstrip()[:5].upper() == "BEGIN" and not any(args[1:])
                and self._queued == self._finished and self._connection is not None
                and self._try_begin(args[0])):
            return self._conn.cursor()

        def tracked() -> Any:
            try:
                return fn(*args, **kwargs)
            finally:
                self._finished += 1  # counted by the worker, even for a cancelled caller

        self._queued += 1
        return await super()._execute(tracked)  # type: ignore[no-untyped-call]


def inline_connect(database: str | Path, **kwargs: Any) -> InlineConnection:
    """Like ``aiosqlite.connect`` (``await`` it), for an ``InlineConnection``."""

    def connector() -> sqlite3.Connection:
        # used from the loop's thread and aiosqlite's, never both at once (see above)
        connection: sqlite3.Connection = sqlite3.connect(
            str(database), check_same_thread=False, **kwargs)
        connection.execute("PRAGMA wal_autocheckpoint = 0")  # see CHECKPOINT_EVERY
        return connection

    return InlineConnection(connector)
