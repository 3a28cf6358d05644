"""The SQLite store: one aiosqlite connection in WAL mode, numbered migrations.

Storage rules (the codec helpers in ``bot/store/sqlite_codec.py``):

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
import datetime as dt
import logging
import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite

from bot.clock import Clock, SystemClock
from bot.engine.session import Session
from bot.errors import ConfigError, StoreError
from bot.store.api_tokens import SqliteApiTokens
from bot.store.attention import SqliteAttention
from bot.store.burden import SqliteBurden
from bot.store.dashboard import SqliteDashboard
from bot.store.delivery import SqliteDelivery
from bot.store.erasure import SECRET_KEY, erase_sqlite, new_secret
from bot.store.erasure_files import scrub_files
from bot.store.events import SqliteEvents, write_events
from bot.store.group_commit import CommitGroup
from bot.store.leases import SqliteLeases, process_name
from bot.store.login_limits import SqliteLoginLimits
from bot.store.logins import SqliteLogins
from bot.store.media import SqliteMedia
from bot.store.participation import SqliteParticipation
from bot.store.people import SqlitePeople
from bot.store.records import (
    AnswerRow,
    Changes,
    ConsentRecord,
    EventRow,
    InboxItem,
    Participant,
)
from bot.store.sms import SqliteSms
from bot.store.sql_runner import SqlConnection, SqlRow
from bot.store.sqlite_apply import NewIds, finish_inbox, use_invites, write_rows
from bot.store.sqlite_codec import (
    ACTIVE_STATUSES,
    Params,
    _answer,
    _consent,
    _Encoded,
    _event,
    _filters,
    _participant,
    _session,
    dt_text,
    safe_text,
    store_error,
)
from bot.store.sqlite_lane import LoopLane, SqliteLane, small
from bot.store.sqlite_ledger import SqliteLedger
from bot.store.sqlite_queues import SqliteQueues
from bot.store.sqlite_rounds import SqliteRounds, write_ledger, write_targets
from bot.store.sqlite_schema import HEALTH_KEY, SqliteSchema
from bot.store.targets import SqliteTargets
from bot.store.themes import SqliteThemes
from bot.store.timebank import SqliteTimebank, write_timebank
from bot.store.webhooks import SqliteWebhooks
from bot.store.window import SqliteWindow

log = logging.getLogger(__name__)


class SqliteStore(SqliteSchema, SqliteQueues, SqlitePeople, SqliteSms, SqliteDashboard,
                  SqliteRounds, SqliteLedger, SqliteWindow, SqliteMedia, SqliteAttention,
                  SqliteLogins, SqliteParticipation, SqliteBurden, SqliteTimebank, SqliteEvents,
                  SqliteThemes, SqliteTargets, SqliteDelivery, SqliteApiTokens, SqliteLeases,
                  SqliteLoginLimits, SqliteWebhooks, SqliteLane):
    """``Store`` on one SQLite file (WAL, ``synchronous=FULL``, ``secure_delete``)."""

    def __init__(self, path: str | Path, *, busy_timeout_ms: int = 5000,
                 clock: Clock | None = None, max_page_count: int | None = None,
                 fsync: bool = True) -> None:
        """``fsync=False`` never waits for the disk (``synchronous=OFF``): for a store
        that is not kept (``ScratchStore``) or a test; a power cut may lose its last
        commits, so a real project keeps the default."""
        self.path = Path(path)
        self.fsync = fsync
        self.busy_timeout_ms = busy_timeout_ms
        self.max_page_count = max_page_count
        self._clock: Clock = clock or SystemClock()
        self._db: aiosqlite.Connection | None = None
        self._lane: LoopLane | None = None  # opened with the store (bot/store/sqlite_lane.py)
        self._group: CommitGroup | None = None  # writes for the lane, committed together
        self._lock = asyncio.Lock()
        self._sync_level = self._sync_for(durable=True)
        self._inbox_batch: list[tuple[InboxItem, Params, asyncio.Future[bool]]] = []
        self._inbox_flusher: asyncio.Task[None] | None = None
        self._secret: str | None = None
        self.holder = process_name()

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
            level = self._sync_for(durable)
            try:  # inside: a cancelled BEGIN still ends
                if level != self._sync_level:  # one round trip to aiosqlite's thread, not two
                    self._sync_level = ""  # unknown until the script has run
                    await db.executescript(f"PRAGMA synchronous = {level}; BEGIN IMMEDIATE")
                    self._sync_level = level
                else:
                    await db.execute("BEGIN IMMEDIATE")
                yield db
                await db.execute("COMMIT")
            except BaseException:
                await self._rollback(db)
                raise

    async def _write_one(self, sql: str, params: Sequence[Any], *,
                         durable: bool) -> list[SqlRow]:
        """One statement as its own transaction (SQLite's autocommit: it takes the write
        lock, waiting up to the busy timeout, and commits when done): one round trip to
        aiosqlite's thread instead of three (``BEGIN``, the statement, ``COMMIT``).
        ``durable`` as in ``_write``; give the statement ``RETURNING`` to see its rows."""
        if (done := await self._quick_write(sql, params, durable=durable)) is not None:
            return done  # committed on the event loop's thread (bot/store/sqlite_lane.py)
        async with self._locked() as db:
            level = self._sync_for(durable)
            if level != self._sync_level:
                self._sync_level = ""  # unknown until the PRAGMA has run
                await db.execute(f"PRAGMA synchronous = {level}")
                self._sync_level = level
            return list(await db.execute_fetchall(sql, params))

    def _sync_for(self, durable: bool) -> str:
        """The ``synchronous`` level of a commit (see ``_write``)."""
        if not self.fsync:
            return "OFF"
        return "FULL" if durable else "NORMAL"

    @staticmethod
    async def _rollback(db: SqlConnection) -> None:
        """Queued behind any statement still running (e.g. after a cancellation), so it
        always ends the transaction; "no transaction is active" is fine."""
        try:
            await db.execute("ROLLBACK")
        except sqlite3.OperationalError as exc:
            if "no transaction" not in str(exc):
                log.warning("rollback failed: %s", exc)

    async def _all(self, sql: str, params: Sequence[Any] = (), *,
                   quick: bool = False) -> list[SqlRow]:
        if quick:
            return await self._quick_rows(sql, params)
        async with self._locked() as db:
            return list(await db.execute_fetchall(sql, params))

    async def _one(self, sql: str, params: Sequence[Any] = (), *,
                   quick: bool = False) -> SqlRow | None:
        rows = await self._all(sql, params, quick=quick)
        return rows[0] if rows else None

    async def close(self) -> None:
        lane, self._lane, self._group = self._lane, None, None
        if lane is not None:
            lane.close()
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

    # -- the unit of work ---------------------------------------------------------------
    async def apply(self, changes: Changes) -> None:
        enc = _Encoded.of(changes, self._clock.now())
        now_text = dt_text(self._clock.now())

        async def work(db: SqlConnection) -> NewIds:
            ids: NewIds = []  # afresh: the work runs again on aiosqlite if the lane is busy
            await write_rows(db, enc, changes, ids)
            await finish_inbox(db, enc, changes.inbox_done)
            await use_invites(db, changes.invites_used, now_text)
            await write_targets(db, changes.targets)
            ids.extend(await write_ledger(db, changes.ledger))
            ids.extend(await write_timebank(db, changes))  # time bank (#15)
            await write_events(db, changes)  # event RSVPs (#15)
            await self._erase(db, changes.erase)  # last: it also blanks rows above
            return ids

        # NORMAL: the next FULL commit syncs it
        ids = await self._unit(work, small=small(changes), durable=False)
        for obj, new_id in ids:  # only once committed
            obj.id = new_id
        for target in changes.targets:
            target.version += 1
        await self._after_erase(changes.erase)

    # -- participants and addresses -----------------------------------------------------
    async def get_participant(self, participant_id: str) -> Participant | None:
        row = await self._one("SELECT * FROM participants WHERE id = ?", (participant_id,),
                              quick=True)
        return None if row is None else _participant(row)

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
        row = await self._one("SELECT * FROM sessions WHERE id = ?", (session_id,), quick=True)
        return None if row is None else _session(row)

    async def active_session(self, participant_id: str) -> Session | None:
        row = await self._one(
            "SELECT * FROM sessions WHERE participant_id = ? AND status IN (?, ?) "
            "ORDER BY updated_at DESC, rowid DESC LIMIT 1", (participant_id, *ACTIVE_STATUSES),
            quick=True)
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

    # -- meta ---------------------------------------------------------------------------
    async def _erase(self, db: SqlConnection,
                     erase: tuple[str, dt.datetime] | None) -> None:
        if erase is not None:
            await erase_sqlite(db, erase[0], erase[1], await self._erasure_secret(db))

    async def _after_erase(self, erase: tuple[str, dt.datetime] | None) -> None:
        """Once committed: the WAL checkpointed (so erased text leaves it), then files."""
        if erase is not None:
            await self.checkpoint()
            await scrub_files(self, erase[0])

    async def _erasure_secret(self, db: SqlConnection) -> str:
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
