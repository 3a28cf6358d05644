"""Opening the SQLite store: the file (private), WAL mode, and the numbered migrations
in bot/store/migrations."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import re
import sqlite3
from collections.abc import Awaitable, Callable
from importlib import resources
from pathlib import Path

import aiosqlite

from bot.clock import Clock
from bot.errors import StoreError
from bot.store.sql_runner import SqlConnection, SqlRunner
from bot.store.sqlite_codec import (
    dt_text,
    store_error,
)
from bot.store.sqlite_lane import LoopLane, lane_path

log = logging.getLogger("bot.store.sqlite")

HEALTH_KEY = "_parley.health_probe"
"""The ``meta`` row ``health()`` rewrites to prove the database accepts writes."""
_MIGRATION_NAME = re.compile(r"^(\d{4})_[A-Za-z0-9_-]+\.sql$")


def _migrations() -> list[tuple[int, str, str]]:
    """``(number, file name, sql)`` of every packaged migration, in order."""
    folder = resources.files("bot.store").joinpath("migrations")
    found: list[tuple[int, str, str]] = []
    for entry in folder.iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort()
    numbers = [n for n, _, _ in found]
    if len(set(numbers)) != len(numbers):
        raise StoreError(f"two migrations share a number: {[name for _, name, _ in found]}")
    return found


def _statements(sql: str) -> list[str]:
    """A migration script split into statements (SQLite's own tokenizer finds the ends,
    so semicolons inside comments and strings are safe)."""
    statements: list[str] = []
    buffer = ""
    for line in sql.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        statements.append(buffer.strip())  # a trailing comment, or an unterminated statement
    return statements


def _create_private(path: Path) -> None:
    """Create a new database file readable by its owner only (0600); SQLite gives the
    ``-wal`` and ``-shm`` files the same mode. An existing file is left as it is."""
    if str(path) == ":memory:" or str(path).startswith("file:"):
        return
    with contextlib.suppress(FileExistsError, FileNotFoundError, IsADirectoryError):
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))


class SqliteSchema(SqlRunner):
    """Mixed into SqliteStore."""

    path: Path
    busy_timeout_ms: int
    max_page_count: int | None
    _clock: Clock
    _sync_level: str
    _sync_for: Callable[[bool], str]
    _db: aiosqlite.Connection | None
    _lane: LoopLane | None
    _open_group: Callable[[LoopLane], None]
    _rollback: Callable[[SqlConnection], Awaitable[None]]

    # -- lifecycle ----------------------------------------------------------------------
    async def open(self) -> None:
        """Connect, switch to WAL and apply pending migrations. Two processes opening a
        new file at the same moment can meet SQLite's "database is locked" without its
        busy wait (while one switches the journal mode or changes the schema); each
        migration is its own idempotent transaction, so opening simply starts again,
        for up to the busy timeout."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.busy_timeout_ms / 1000
        while True:
            try:
                await self._open_once()
                return
            except StoreError as exc:
                if not isinstance(exc.__cause__, sqlite3.OperationalError) or \
                        "locked" not in str(exc.__cause__) or loop.time() > deadline:
                    raise
                log.debug("store %s: locked while opening; trying again", self.path)
                await asyncio.sleep(0.02 + random.random() * 0.05)

    async def _open_once(self) -> None:
        if self._db is not None:
            return
        _create_private(self.path)
        folder = Path(self.path).parent
        if not str(self.path).startswith("file:") and str(self.path) != ":memory:" \
                and not folder.is_dir():
            # refused here, not by a failing aiosqlite.connect: that leaves its worker
            # thread finishing after the caller's event loop may be gone
            raise StoreError(f"cannot open the store file: folder {folder} does not exist")
        try:
            db = await aiosqlite.connect(str(self.path), isolation_level=None,
                                         timeout=self.busy_timeout_ms / 1000)
        except sqlite3.Error as exc:
            raise store_error(exc) from exc
        db.row_factory = sqlite3.Row
        self._db = db
        try:
            async with self._locked() as conn:
                # each result read to the end: a statement left open keeps its read
                # snapshot, and the lane's commits would then make this connection's
                # next write fail at once ("database is locked")
                await conn.execute_fetchall(f"PRAGMA busy_timeout = {int(self.busy_timeout_ms)}")
                await conn.execute_fetchall("PRAGMA foreign_keys = ON")
                await conn.execute_fetchall("PRAGMA secure_delete = ON")
                await self._set_wal(conn)
                self._sync_level = self._sync_for(True)
                await conn.execute_fetchall(f"PRAGMA synchronous = {self._sync_level}")
                await self._migrate(conn)
                if self.max_page_count is not None:
                    await conn.execute_fetchall(
                        f"PRAGMA max_page_count = {int(self.max_page_count)}")
            if lane_path(self.path):
                try:
                    self._lane = LoopLane.open(self.path, synchronous=self._sync_for(False),
                                               durable=self._sync_for(True),
                                               max_page_count=self.max_page_count)
                    self._open_group(self._lane)
                except sqlite3.Error as exc:
                    raise store_error(exc) from exc
        except BaseException:
            self._db = None
            with contextlib.suppress(sqlite3.Error):
                await db.close()
            raise

    async def _set_wal(self, db: SqlConnection) -> None:
        """Switching to WAL needs a moment alone with the file and SQLite does not wait
        for it (no busy handler), so two processes opening a new file retry briefly."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.busy_timeout_ms / 1000
        while True:
            try:
                await db.execute_fetchall("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or loop.time() > deadline:
                    raise
                await asyncio.sleep(0.02)

    async def _migrate(self, db: SqlConnection) -> None:
        """Apply each pending migration in its own transaction. The applied set is read
        again under the write lock, so two processes opening a new file at once do not
        both apply a migration."""
        # inside BEGIN IMMEDIATE, which waits for the write lock before it reads: in
        # autocommit the statement would read the schema first and, if another process
        # committed meanwhile, fail at once ("database is locked") with no busy wait
        await db.execute("BEGIN IMMEDIATE")
        try:
            await db.execute("""CREATE TABLE IF NOT EXISTS schema_migrations (
                version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)""")
            await db.execute("COMMIT")
        except BaseException:
            await self._rollback(db)
            raise
        known = _migrations()
        newest = max((n for n, _, _ in known), default=0)
        applied = await self._applied(db)
        if applied and max(applied) > newest:
            raise StoreError(f"store {self.path} has schema {max(applied)}, newer than this "
                             f"Parley knows ({newest}); upgrade Parley")
        for number, name, sql in known:
            if number in applied:
                continue
            try:
                await db.execute("BEGIN IMMEDIATE")
                if number in await self._applied(db):  # another process got there first
                    await db.execute("ROLLBACK")
                    continue
                for statement in _statements(sql):
                    await db.execute(statement)
                await db.execute("INSERT INTO schema_migrations (version, name, applied_at) "
                                 "VALUES (?, ?, ?)", (number, name, dt_text(self._clock.now())))
                await db.execute("COMMIT")
            except BaseException:
                await self._rollback(db)
                raise
            log.info("store %s: applied migration %s", self.path, name)

    @staticmethod
    async def _applied(db: SqlConnection) -> set[int]:
        rows = await db.execute_fetchall("SELECT version FROM schema_migrations")
        return {int(row[0]) for row in rows}

    async def schema_versions(self) -> list[int]:
        """Migration numbers recorded as applied (for diagnostics and tests)."""
        rows = await self._all("SELECT version FROM schema_migrations ORDER BY version")
        return [int(row[0]) for row in rows]
