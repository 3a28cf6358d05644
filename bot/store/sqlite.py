"""The SQLite store: one aiosqlite connection in WAL mode, numbered migrations.

Storage rules, shared with ``MemoryStore`` through the codec helpers below:

- Datetimes must be timezone-aware; they are stored as fixed-width ISO-8601 UTC text
  (``2026-01-05T09:00:00.000000+00:00``) so text comparison is time comparison, and
  come back as aware UTC datetimes. A naive datetime raises ``ValueError``.
- Dicts and lists are JSON (``ensure_ascii=False``, so stored text stays readable).
  A value holding a lone surrogate (possible: ``json.loads('"\\ud800"')``) cannot be
  encoded as UTF-8; such a value is written with ``ensure_ascii=True`` instead, which
  escapes it, so it still round-trips exactly.
- ``AnswerRow.raw`` round-trips exactly for every ``str``: normally stored as plain
  text; when it holds a lone surrogate it is stored as an ASCII JSON string literal
  with ``raw_escaped = 1`` and decoded on the way out.
- Other free-text columns (a participant's name, provider errors, …) have lone
  surrogates replaced by U+FFFD rather than failing the write.

Every statement runs under one ``asyncio.Lock``, so a transaction opened by ``apply``
is never interleaved with another coroutine's statements on the shared connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import random
import re
import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any, cast

import aiosqlite

from bot.clock import Clock, SystemClock
from bot.engine.session import Session
from bot.errors import AlreadyProcessed, ConfigError, StoreError
from bot.store.attention import SqliteAttention
from bot.store.dashboard import SqliteDashboard
from bot.store.erasure import SECRET_KEY, erase_sqlite, forgotten_key, new_secret
from bot.store.erasure_files import scrub_files
from bot.store.inline_sqlite import inline_connect
from bot.store.logins import SqliteLogins
from bot.store.media import SqliteMedia
from bot.store.participation import SqliteParticipation
from bot.store.people import SqlitePeople
from bot.store.records import (
    Address,
    AnswerRow,
    Changes,
    ConsentRecord,
    EventRow,
    InboxItem,
    OutboxItem,
    OutboxStatus,
    Participant,
    QueuedFlow,
    Timer,
)
from bot.store.sms import SqliteSms
from bot.store.sqlite_codec import (
    _INSERT_ANSWER,
    _INSERT_CONSENT,
    _INSERT_EVENT,
    _INSERT_INBOX,
    _INSERT_OUTBOX,
    _INSERT_QUEUED,
    _INSERT_TIMER,
    _UPSERT_ADDRESS,
    _UPSERT_PARTICIPANT,
    _UPSERT_SESSION,
    ACTIVE_STATUSES,
    DUE_STATUSES,
    Params,
    _address,
    _answer,
    _consent,
    _Encoded,
    _event,
    _inbox,
    _outbox,
    _participant,
    _queued,
    _session,
    _timer,
    dt_text,
    dumps,
    opt_dt_text,
    safe_text,
    store_error,
)
from bot.store.sqlite_rounds import SqliteRounds, write_ledger, write_targets
from bot.store.window import SqliteWindow

log = logging.getLogger(__name__)

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


class SqliteStore(SqlitePeople, SqliteSms, SqliteDashboard, SqliteRounds, SqliteWindow,
                  SqliteMedia, SqliteAttention, SqliteLogins, SqliteParticipation):
    """``Store`` on one SQLite file (WAL, ``synchronous=FULL``, ``secure_delete``)."""

    def __init__(self, path: str | Path, *, busy_timeout_ms: int = 5000,
                 clock: Clock | None = None, max_page_count: int | None = None) -> None:
        self.path = Path(path)
        self.busy_timeout_ms = busy_timeout_ms
        self.max_page_count = max_page_count
        self._clock: Clock = clock or SystemClock()
        self._db: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()
        self._sync_level = "FULL"
        self._inbox_batch: list[tuple[InboxItem, Params, asyncio.Future[bool]]] = []
        self._inbox_flusher: asyncio.Task[None] | None = None
        self._secret: str | None = None

    @classmethod
    def from_url(cls, url: str, *, busy_timeout_ms: int = 5000,
                 clock: Clock | None = None) -> SqliteStore:
        """``sqlite:///relative/path.db`` or ``sqlite:////absolute/path.db``, optionally
        with ``?max_page_count=N`` to cap the database's size (SQLite then reports it
        full, which Parley survives: webhooks answer 503 and providers retry)."""
        prefix = "sqlite:///"
        if not url.startswith(prefix) or len(url) == len(prefix):
            raise ConfigError(f"[store] url: '{url}' is not a SQLite URL; "
                              "expected sqlite:///path/to/parley.db")
        path, _, query = url[len(prefix):].partition("?")
        max_pages: int | None = None
        for part in filter(None, query.split("&")):
            key, _, value = part.partition("=")
            if key != "max_page_count" or not value.isdigit():
                raise ConfigError(f"[store] url: unknown option '{part}' "
                                  "(only max_page_count=N is supported)")
            max_pages = int(value)
        if path == ":memory:":
            raise ConfigError("[store] url: sqlite:///:memory: is not supported; "
                              "use memory:// for a store that is not kept")
        return cls(path, busy_timeout_ms=busy_timeout_ms, clock=clock,
                   max_page_count=max_pages)

    def __repr__(self) -> str:
        return f"SqliteStore({str(self.path)!r})"

    # -- connection plumbing ------------------------------------------------------------
    def _conn(self) -> aiosqlite.Connection:
        if self._db is None:
            raise StoreError(f"store {self.path} is not open")
        return self._db

    @asynccontextmanager
    async def _locked(self) -> AsyncIterator[aiosqlite.Connection]:
        """The connection, alone, with SQLite errors turned into StoreError."""
        async with self._lock:
            db = self._conn()
            try:
                yield db
            except sqlite3.Error as exc:
                raise store_error(exc) from exc
            except ValueError as exc:
                if "no active connection" in str(exc) or "Connection closed" in str(exc):
                    raise StoreError(f"store {self.path} is closed") from exc
                raise

    @asynccontextmanager
    async def _write(self, *, durable: bool = True) -> AsyncIterator[aiosqlite.Connection]:
        """One ``BEGIN IMMEDIATE`` … ``COMMIT`` transaction; rolled back on any error.

        ``durable`` commits with ``synchronous=FULL`` (fsync of the WAL before COMMIT
        returns): required before a webhook is acknowledged and before a message is
        handed to a provider. Other commits use ``NORMAL``: in WAL mode they survive a
        crash of the process and are made durable by the next FULL commit, which syncs
        the whole WAL up to it — so nothing a FULL commit depends on can be lost."""
        async with self._locked() as db:
            level = "FULL" if durable else "NORMAL"
            if level != self._sync_level:
                await db.execute(f"PRAGMA synchronous = {level}")
                self._sync_level = level
            try:
                await db.execute("BEGIN IMMEDIATE")  # inside: a cancelled BEGIN still ends
                yield db
                await db.execute("COMMIT")
            except BaseException:
                await self._rollback(db)
                raise

    @staticmethod
    async def _rollback(db: aiosqlite.Connection) -> None:
        """Queued behind any statement still running (e.g. after a cancellation), so it
        always ends the transaction; "no transaction is active" is fine."""
        try:
            await db.execute("ROLLBACK")
        except sqlite3.OperationalError as exc:
            if "no transaction" not in str(exc):
                log.warning("rollback failed: %s", exc)

    async def _all(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        async with self._locked() as db:
            return list(await db.execute_fetchall(sql, params))

    async def _one(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Row | None:
        rows = await self._all(sql, params)
        return rows[0] if rows else None

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
        try:
            # quick statements run on the loop's thread, the rest on aiosqlite's: see
            # bot/store/inline_sqlite.py (about a third less CPU a conversation turn)
            db = await inline_connect(str(self.path), isolation_level=None,
                                      timeout=self.busy_timeout_ms / 1000)
        except sqlite3.Error as exc:
            raise store_error(exc) from exc
        db.row_factory = sqlite3.Row
        self._db = db
        try:
            async with self._locked() as conn:
                await conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_ms)}")
                await conn.execute("PRAGMA foreign_keys = ON")
                await conn.execute("PRAGMA secure_delete = ON")
                await self._set_wal(conn)
                await conn.execute("PRAGMA synchronous = FULL")
                await self._migrate(conn)
                if self.max_page_count is not None:
                    await conn.execute(f"PRAGMA max_page_count = {int(self.max_page_count)}")
        except BaseException:
            self._db = None
            with contextlib.suppress(sqlite3.Error):
                await db.close()
            raise

    async def _set_wal(self, db: aiosqlite.Connection) -> None:
        """Switching to WAL needs a moment alone with the file and SQLite does not wait
        for it (no busy handler), so two processes opening a new file retry briefly."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.busy_timeout_ms / 1000
        while True:
            try:
                await db.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or loop.time() > deadline:
                    raise
                await asyncio.sleep(0.02)

    async def _migrate(self, db: aiosqlite.Connection) -> None:
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
    async def _applied(db: aiosqlite.Connection) -> set[int]:
        rows = await db.execute_fetchall("SELECT version FROM schema_migrations")
        return {int(row[0]) for row in rows}

    async def close(self) -> None:
        db, self._db = self._db, None
        if db is None:
            return
        async with self._lock:
            try:
                await db.close()
            except sqlite3.Error as exc:
                raise store_error(exc) from exc

    async def health(self) -> None:
        async with self._locked() as db:
            await db.execute_fetchall("SELECT count(*) FROM schema_migrations")
        async with self._write() as db:
            await db.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) "
                             "DO UPDATE SET value = excluded.value",
                             (HEALTH_KEY, dt_text(self._clock.now())))
        # Room for new rows? Rewriting one row fits in place even when the database is
        # at its size limit, so also add a page's worth of data and roll it back.
        async with self._locked() as db:
            await db.execute("BEGIN IMMEDIATE")
            try:
                await db.execute("INSERT INTO meta (key, value) VALUES (?, ?)",
                                 (HEALTH_KEY + ".room", "x" * 8192))
            finally:
                await self._rollback(db)

    async def schema_versions(self) -> list[int]:
        """Migration numbers recorded as applied (for diagnostics and tests)."""
        rows = await self._all("SELECT version FROM schema_migrations ORDER BY version")
        return [int(row[0]) for row in rows]

    # -- the unit of work ---------------------------------------------------------------
    async def apply(self, changes: Changes) -> None:
        enc = _Encoded.of(changes, self._clock.now())
        ids: list[tuple[Any, int]] = []

        async def insert_all(sql: str, rows: list[Params], objects: Sequence[Any],
                             db: aiosqlite.Connection) -> None:
            for params, obj in zip(rows, objects, strict=True):
                cursor = await db.execute(sql, params)
                ids.append((obj, cast(int, cursor.lastrowid)))

        async with self._write(durable=False) as db:  # see _write: the next FULL syncs it
            if enc.participant is not None:
                await db.execute(_UPSERT_PARTICIPANT, enc.participant)
            if enc.sessions:
                await db.executemany(_UPSERT_SESSION, enc.sessions)
            await insert_all(_INSERT_ANSWER, enc.answers, changes.answers, db)
            await insert_all(_INSERT_EVENT, enc.events, changes.events, db)
            if enc.consents:
                await db.executemany(_INSERT_CONSENT, enc.consents)
            await insert_all(_INSERT_OUTBOX, enc.outbox, changes.outbox, db)
            if changes.queue_remove:
                await db.executemany("DELETE FROM queued_flows WHERE id = ?",
                                     [(i,) for i in changes.queue_remove])
            await insert_all(_INSERT_QUEUED, enc.queue_push, changes.queue_push, db)
            if changes.timers_clear_session:
                await db.executemany("DELETE FROM timers WHERE session_id = ?",
                                     [(s,) for s in changes.timers_clear_session])
            await insert_all(_INSERT_TIMER, enc.timers_set, changes.timers_set, db)
            # addresses last but one: a foreign-key failure here undoes everything above
            if enc.addresses:
                await db.executemany(_UPSERT_ADDRESS, enc.addresses)
            for inbox_id in changes.inbox_done:
                # processed: its effects are stored, so only the dedupe key is kept
                # (before consent, what someone wrote must not linger here). Only a
                # pending row may finish: a second processing of the same message rolls
                # back whole, so no answer is stored and no reply queued twice.
                cursor = await db.execute(
                    "UPDATE inbox SET status = 'done', processed_at = ?, payload = '{}', "
                    "attempts = attempts + 1 WHERE id = ? AND status = 'pending'",
                    (enc.inbox_done_at, inbox_id))
                if cursor.rowcount == 0 and await (await db.execute(
                        "SELECT 1 FROM inbox WHERE id = ?", (inbox_id,))).fetchone():
                    raise AlreadyProcessed(inbox_id)
            if changes.invites_used:
                await db.executemany(
                    "UPDATE invites SET uses = uses + 1, used_at = COALESCE(used_at, ?) "
                    "WHERE code = ?", [(dt_text(self._clock.now()), code)
                                       for code in changes.invites_used])
            await write_targets(db, changes.targets)
            ids.extend(await write_ledger(db, changes.ledger))
            await self._erase(db, changes.erase)  # last: it also blanks rows above
        for obj, new_id in ids:  # only once committed
            obj.id = new_id
        for target in changes.targets:
            target.version += 1
        await self._after_erase(changes.erase)

    # -- participants and addresses -----------------------------------------------------
    async def get_participant(self, participant_id: str) -> Participant | None:
        row = await self._one("SELECT * FROM participants WHERE id = ?", (participant_id,))
        return None if row is None else _participant(row)

    async def participant_for_address(self, address: str) -> Participant | None:
        row = await self._one(
            "SELECT p.* FROM participants p JOIN addresses a ON a.participant_id = p.id "
            "WHERE a.address = ?", (address,))
        return None if row is None else _participant(row)

    async def get_address(self, address: str) -> Address | None:
        row = await self._one("SELECT * FROM addresses WHERE address = ?", (address,))
        return None if row is None else _address(row)

    async def addresses_of(self, participant_id: str) -> list[Address]:
        rows = await self._all("SELECT * FROM addresses WHERE participant_id = ? "
                               "ORDER BY created_at, rowid", (participant_id,))
        return [_address(r) for r in rows]

    async def list_participants(self) -> list[Participant]:
        rows = await self._all("SELECT * FROM participants WHERE status != 'erased' "
                               "ORDER BY created_at, rowid")
        return [_participant(r) for r in rows]

    async def erase_participant(self, participant_id: str, at: dt.datetime) -> None:
        """See ``Store.erase_participant`` and ``bot.store.erasure`` (what each table
        keeps). Raises KeyError for an unknown id."""
        await self.apply(Changes(erase=(participant_id, at)))

    async def checkpoint(self) -> None:
        """Copy the WAL into the database file and truncate it, so overwritten text (zeroed
        by ``secure_delete``) leaves no older copy in the ``-wal`` file."""
        async with self._locked() as db:
            rows = list(await db.execute_fetchall("PRAGMA wal_checkpoint(TRUNCATE)"))
        if rows and rows[0][0]:
            log.warning("store %s: WAL checkpoint blocked by another reader; erased data "
                        "stays in the -wal file until the next checkpoint", self.path)

    # -- sessions -----------------------------------------------------------------------
    async def get_session(self, session_id: str) -> Session | None:
        row = await self._one("SELECT * FROM sessions WHERE id = ?", (session_id,))
        return None if row is None else _session(row)

    async def active_session(self, participant_id: str) -> Session | None:
        row = await self._one(
            "SELECT * FROM sessions WHERE participant_id = ? AND status IN (?, ?) "
            "ORDER BY updated_at DESC, rowid DESC LIMIT 1", (participant_id, *ACTIVE_STATUSES))
        return None if row is None else _session(row)

    async def sessions_of(self, participant_id: str) -> list[Session]:
        rows = await self._all("SELECT * FROM sessions WHERE participant_id = ? "
                               "ORDER BY started_at, rowid", (participant_id,))
        return [_session(r) for r in rows]

    # -- flow versions ------------------------------------------------------------------
    async def save_flow_source(self, flow_id: str, version: str, source: str) -> None:
        """Idempotent: the first source saved for a version is kept."""
        async with self._write() as db:
            await db.execute("INSERT INTO flow_versions (flow_id, version, source) "
                             "VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                             (flow_id, version, safe_text(source)))

    async def flow_source(self, flow_id: str, version: str) -> str | None:
        row = await self._one("SELECT source FROM flow_versions WHERE flow_id = ? AND "
                              "version = ?", (flow_id, version))
        return None if row is None else str(row[0])

    # -- answers, events, consents ------------------------------------------------------
    async def answers(self, *, participant_id: str | None = None, flow_id: str | None = None,
                      round_id: str | None = None) -> list[AnswerRow]:
        where, params = _filters(participant_id=participant_id, flow_id=flow_id,
                                 round_id=round_id)
        rows = await self._all(f"SELECT * FROM answers{where} ORDER BY id", params)
        return [_answer(r) for r in rows]

    async def events(self, *, participant_id: str | None = None,
                     name: str | None = None) -> list[EventRow]:
        where, params = _filters(participant_id=participant_id, name=name)
        rows = await self._all(f"SELECT * FROM events{where} ORDER BY id", params)
        return [_event(r) for r in rows]

    async def consents_of(self, participant_id: str) -> list[ConsentRecord]:
        rows = await self._all("SELECT * FROM consents WHERE participant_id = ? ORDER BY id",
                               (participant_id,))
        return [_consent(r) for r in rows]

    # -- inbox --------------------------------------------------------------------------
    async def inbox_put(self, item: InboxItem) -> bool:
        """Durable before it returns. Concurrent callers share one FULL commit (group
        commit): while one transaction is being synced the next batch gathers, so a
        burst of webhooks costs a few fsyncs rather than one each."""
        params = (item.channel, item.dedupe_key, item.address, dumps(item.payload),
                  dt_text(item.received_at), item.status, item.attempts,
                  opt_dt_text(item.processed_at))
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._inbox_batch.append((item, params, future))
        if self._inbox_flusher is None or self._inbox_flusher.done():
            self._inbox_flusher = asyncio.create_task(self._flush_inbox())
        return await asyncio.shield(future)

    async def _flush_inbox(self) -> None:
        while self._inbox_batch:
            batch, self._inbox_batch = self._inbox_batch[:500], self._inbox_batch[500:]
            try:
                results: list[tuple[bool, int | None]] = []
                async with self._write() as db:
                    secret = await self._erasure_secret(db)
                    for item, params, _ in batch:
                        cursor = await db.execute(_INSERT_INBOX, (*params, item.channel, (
                            forgotten_key(secret, item.channel, item.dedupe_key))))
                        results.append((cursor.rowcount == 1, cursor.lastrowid))
            except BaseException as exc:
                for _, _, future in batch:
                    if not future.done():
                        future.set_exception(exc if isinstance(exc, Exception)
                                             else StoreError("store closed"))
                if not isinstance(exc, Exception):
                    raise
                continue
            for (item, _, future), (inserted, new_id) in zip(batch, results, strict=True):
                if inserted:
                    item.id = new_id
                if not future.done():
                    future.set_result(inserted)

    async def inbox_pending(self, limit: int = 100) -> list[InboxItem]:
        rows = await self._all("SELECT * FROM inbox WHERE status = 'pending' ORDER BY id "
                               "LIMIT ?", (limit,))
        return [_inbox(r) for r in rows]

    async def inbox_mark(self, item_id: int, status: str, at: dt.datetime) -> None:
        """Set the status, ``processed_at = at``, and count one more processing attempt."""
        at_text = dt_text(at)
        async with self._write() as db:
            await db.execute("UPDATE inbox SET status = ?, processed_at = ?, "
                             "attempts = attempts + 1 WHERE id = ?", (status, at_text, item_id))

    # -- outbox -------------------------------------------------------------------------
    async def outbox_due(self, channel: str, now: dt.datetime, limit: int) -> list[OutboxItem]:
        return [_outbox(r) for r in await self._due("*", channel, now, limit)]

    async def outbox_due_ids(self, channel: str, now: dt.datetime, limit: int) -> list[int]:
        return [int(r[0]) for r in await self._due("id", channel, now, limit)]

    async def _due(self, columns: str, channel: str, now: dt.datetime,
                   limit: int) -> list[sqlite3.Row]:
        now_text = dt_text(now)
        return await self._all(
            f"SELECT {columns} FROM outbox WHERE channel = ? AND status IN (?, ?) "
            "AND not_before <= ? AND (next_attempt_at IS NULL OR next_attempt_at <= ?) "
            "ORDER BY created_at, id LIMIT ?",
            (channel, *DUE_STATUSES, now_text, now_text, limit))

    async def outbox_rows(self, ids: Sequence[int]) -> list[OutboxItem]:
        found: dict[int, OutboxItem] = {}
        for start in range(0, len(ids), 500):
            chunk = list(ids[start:start + 500])
            marks = ", ".join("?" * len(chunk))
            for row in await self._all(f"SELECT * FROM outbox WHERE id IN ({marks})", chunk):
                item = _outbox(row)
                assert item.id is not None
                found[item.id] = item
        return [found[i] for i in ids if i in found]

    async def outbox_update(self, item: OutboxItem) -> None:
        """Raises KeyError when the row does not exist."""
        if item.id is None:
            raise KeyError("outbox item has no id; it was never stored")
        params = (item.status, item.attempts, opt_dt_text(item.next_attempt_at),
                  item.provider_id, safe_text(item.last_error), item.delivery_status,
                  item.segments, opt_dt_text(item.sent_at), item.id)
        # 'sending' must be on disk before the request; an outcome may be lost only with
        # the machine's power, and then the row reads 'sending' -> ambiguous: never resent
        async with self._write(durable=item.status == "sending") as db:
            cursor = await db.execute(
                "UPDATE outbox SET status = ?, attempts = ?, next_attempt_at = ?, "
                "provider_id = ?, last_error = ?, delivery_status = ?, segments = ?, "
                "sent_at = ? WHERE id = ?", params)
            if cursor.rowcount != 1:
                raise KeyError(f"no outbox row {item.id}")

    async def outbox_mark_sending(self, items: Sequence[OutboxItem]) -> list[OutboxItem]:
        """Mark several rows ``sending`` (attempts + 1) in one durable commit; only rows
        still due-able are marked, and those are returned."""
        if not items:
            return []
        for item in items:
            if item.id is None:
                raise KeyError("outbox item has no id; it was never stored")
        marked: list[OutboxItem] = []
        async with self._write() as db:
            for item in items:
                cursor = await db.execute(
                    "UPDATE outbox SET status = 'sending', attempts = attempts + 1 "
                    "WHERE id = ? AND status IN (?, ?)", (item.id, *DUE_STATUSES))
                if cursor.rowcount:
                    marked.append(item)
        for item in marked:
            item.status, item.attempts = "sending", item.attempts + 1
        return marked

    async def outbox_by_provider_id(self, provider_id: str) -> OutboxItem | None:
        row = await self._one("SELECT * FROM outbox WHERE provider_id = ? "
                              "ORDER BY id DESC LIMIT 1", (provider_id,))
        return None if row is None else _outbox(row)

    async def outbox_of(self, participant_id: str) -> list[OutboxItem]:
        rows = await self._all("SELECT * FROM outbox WHERE participant_id = ? ORDER BY id",
                               (participant_id,))
        return [_outbox(r) for r in rows]

    async def outbox_all(self, *, round_id: str | None = None,
                         status: OutboxStatus | None = None) -> list[OutboxItem]:
        where, params = _filters(round_id=round_id, status=status)
        rows = await self._all(f"SELECT * FROM outbox{where} ORDER BY id", params)
        return [_outbox(r) for r in rows]

    async def outbox_recover(self) -> int:
        async with self._write() as db:
            cursor = await db.execute(
                "UPDATE outbox SET status = 'ambiguous' WHERE status = 'sending'")
            return cursor.rowcount

    # -- queued flows and timers --------------------------------------------------------
    async def queued_flows(self, participant_id: str) -> list[QueuedFlow]:
        rows = await self._all("SELECT * FROM queued_flows WHERE participant_id = ? "
                               "ORDER BY id", (participant_id,))
        return [_queued(r) for r in rows]

    async def timers_due(self, now: dt.datetime, limit: int = 500) -> list[Timer]:
        rows = await self._all("SELECT * FROM timers WHERE due_at <= ? ORDER BY due_at, id "
                               "LIMIT ?", (dt_text(now), limit))
        return [_timer(r) for r in rows]

    async def timers_of(self, session_id: str) -> list[Timer]:
        rows = await self._all("SELECT * FROM timers WHERE session_id = ? "
                               "ORDER BY due_at, id", (session_id,))
        return [_timer(r) for r in rows]

    # -- meta ---------------------------------------------------------------------------
    async def _erase(self, db: aiosqlite.Connection,
                     erase: tuple[str, dt.datetime] | None) -> None:
        if erase is not None:
            await erase_sqlite(db, erase[0], erase[1], await self._erasure_secret(db))

    async def _after_erase(self, erase: tuple[str, dt.datetime] | None) -> None:
        """Once committed: the WAL checkpointed (so erased text leaves it), then files."""
        if erase is not None:
            await self.checkpoint()
            await scrub_files(self, erase[0])

    async def _erasure_secret(self, db: aiosqlite.Connection) -> str:
        """The per-project secret of erased inbox keys (made once, kept in ``meta``)."""
        if self._secret is None:
            await db.execute("INSERT INTO meta (key, value) VALUES (?, ?) "
                             "ON CONFLICT (key) DO NOTHING", (SECRET_KEY, new_secret()))
            rows = list(await db.execute_fetchall("SELECT value FROM meta WHERE key = ?",
                                                  (SECRET_KEY,)))
            self._secret = str(rows[0][0])
        return self._secret

    async def get_meta(self, key: str) -> str | None:
        row = await self._one("SELECT value FROM meta WHERE key = ?", (key,))
        return None if row is None else str(row[0])

    async def set_meta(self, key: str, value: str) -> None:
        async with self._write() as db:
            await db.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) "
                             "DO UPDATE SET value = excluded.value", (key, safe_text(value)))


def _filters(**conditions: str | None) -> tuple[str, list[str]]:
    """`` WHERE a = ? AND b = ?`` for the conditions that are not None (names are ours)."""
    names = [name for name, value in conditions.items() if value is not None]
    if not names:
        return "", []
    clause = " WHERE " + " AND ".join(f"{name} = ?" for name in names)
    return clause, [v for v in conditions.values() if v is not None]
