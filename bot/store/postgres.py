"""The PostgreSQL store: an asyncpg pool behind the same ``Store`` contract as SQLite.

``PostgresStore`` inherits every feature of ``SqliteStore`` (the ``Sqlite*`` SQL mixins)
and replaces only the connection primitives: ``_locked`` (a pooled connection, in
autocommit), ``_write`` (one transaction on a pooled connection), ``_write_one``,
``_all`` and ``_one``. Statements are SQLite's, translated by ``bot.store.pg_dialect``
and run by ``bot.store.pg_conn.PgConnection``; migrations are the same files,
translated at apply time, under an advisory lock so processes starting together apply
each migration once.

Storage is as in SQLite (datetimes as fixed-width ISO text, JSON as text, flags as
integers), so a ``parley db copy`` between the two moves values unchanged. Durability:
``durable=False`` commits run with ``synchronous_commit = off`` (a crash of the database
server can lose the last of them, never half of one; the next durable commit flushes
them), like SQLite's ``synchronous=NORMAL``.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg
from asyncpg import Record as Row

from bot.clock import Clock
from bot.errors import ConfigError, StoreError
from bot.store.pg_conn import PgConnection
from bot.store.pg_dialect import mask_url, migration_statement
from bot.store.records import InboxItem
from bot.store.sqlite import SqliteStore
from bot.store.sqlite_codec import Params, dt_text, store_error
from bot.store.sqlite_schema import HEALTH_KEY, _migrations, _statements

log = logging.getLogger(__name__)

MIGRATION_LOCK = 0x7061726C6579  # "parley": the advisory lock migrations run under
_NOCASE = ("CREATE COLLATION IF NOT EXISTS nocase (provider = icu, "
           "locale = 'und-u-ks-level2', deterministic = false)")


def _pg_error(exc: BaseException, url: str) -> StoreError:
    """A StoreError saying in plain words why PostgreSQL refused (never the password)."""
    detail = str(exc) or type(exc).__name__
    if isinstance(exc, asyncpg.InvalidAuthorizationSpecificationError):  # password too
        reason = "PostgreSQL refused the login"
    elif isinstance(exc, asyncpg.InvalidCatalogNameError):
        reason = "the database does not exist"
    elif isinstance(exc, OSError | asyncio.TimeoutError | asyncpg.CannotConnectNowError):
        reason = "cannot reach PostgreSQL"
    elif isinstance(exc, asyncpg.UndefinedTableError | asyncpg.UndefinedColumnError):
        reason = "store has the wrong schema"
    elif isinstance(exc, asyncpg.DiskFullError | asyncpg.InsufficientResourcesError):
        reason = "store is full (disk full)"
    elif isinstance(exc, asyncpg.ReadOnlySQLTransactionError):
        reason = "store is read-only"
    elif isinstance(exc, asyncpg.IntegrityConstraintViolationError):
        reason = "store refused inconsistent data"
    elif isinstance(exc, asyncpg.InterfaceError):
        reason = "store connection failed"
    else:
        reason = "store error"
    password = urlsplit(url).password
    if password:
        detail = detail.replace(password, "***")
    return StoreError(f"{reason} ({mask_url(url)}): {detail}")


_ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, asyncio.TimeoutError)


class PostgresStore(SqliteStore):
    """``Store`` on a PostgreSQL database (``postgresql://user:pass@host:5432/db``)."""

    def __init__(self, url: str, *, clock: Clock | None = None, pool_size: int = 10,
                 connect_timeout: float = 10.0) -> None:
        super().__init__(":pg:", clock=clock)
        self.url = url
        self.pool_size = pool_size
        self.connect_timeout = connect_timeout
        self._pool: asyncpg.Pool | None = None
        self._shapes: dict[str, Any] = {}
        self._inbox_batch: list[tuple[InboxItem, Params, asyncio.Future[bool]]] = []

    @classmethod
    def from_url(cls, url: str, *, busy_timeout_ms: int = 5000,
                 clock: Clock | None = None) -> PostgresStore:
        """``postgresql://user:pass@host:5432/db``, optionally ``?pool_size=N``
        (connections per process, default 10); other query options go to asyncpg."""
        parts = urlsplit(url)
        if parts.scheme not in ("postgresql", "postgres") or not parts.path.strip("/"):
            raise ConfigError(f"[store] url: '{mask_url(url)}' is not a PostgreSQL URL; "
                              "expected postgresql://user:password@host:5432/database")
        query = parse_qsl(parts.query)
        pool_size = 10
        rest = []
        for key, value in query:
            if key == "pool_size":
                if not value.isdigit() or int(value) < 1:
                    raise ConfigError(f"[store] url: pool_size must be a positive "
                                      f"number, not '{value}'")
                pool_size = int(value)
            else:
                rest.append((key, value))
        clean = urlunsplit(parts._replace(query=urlencode(rest)))
        return cls(clean, clock=clock, pool_size=pool_size,
                   connect_timeout=max(busy_timeout_ms / 1000, 10.0))

    def __repr__(self) -> str:
        return f"PostgresStore({mask_url(self.url)!r})"

    # -- connection plumbing ------------------------------------------------------------
    def _the_pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise StoreError(f"store {mask_url(self.url)} is not open")
        return self._pool

    @asynccontextmanager
    async def _locked(self) -> AsyncIterator[PgConnection]:  # type: ignore[override]
        """A pooled connection in autocommit, with database errors as StoreError."""
        pool = self._the_pool()
        try:
            async with pool.acquire() as conn:
                yield PgConnection(conn, self._shapes)
        except sqlite3.Error as exc:  # PgConnection's integrity errors, not caught above
            raise store_error(exc) from exc
        except _ERRORS as exc:
            raise _pg_error(exc, self.url) from exc

    @asynccontextmanager
    async def _write(self, *, durable: bool = True  # type: ignore[override]
                     ) -> AsyncIterator[PgConnection]:
        """One transaction; rolled back on any error. ``durable=False`` commits without
        waiting for the WAL flush (see the module docstring). A process's transactions
        take turns (``self._lock``), as on SQLite, so the mixins' read-then-write steps
        see what they read; reads run beside them on other pooled connections."""
        async with self._lock, self._locked() as db:
            conn = db.raw
            await conn.execute("BEGIN" if durable else
                               "BEGIN; SET LOCAL synchronous_commit TO OFF")
            try:
                yield db
            except BaseException:
                if not conn.is_closed():
                    try:
                        await conn.execute("ROLLBACK")
                    except _ERRORS as exc:
                        log.warning("rollback failed: %s", type(exc).__name__)
                raise
            await conn.execute("COMMIT")

    async def _write_one(self, sql: str, params: Sequence[Any], *,
                         durable: bool) -> list[Row]:
        """One statement as its own (autocommitted) transaction."""
        async with self._lock, self._locked() as db:
            return await db.execute_fetchall(sql, params)

    async def _all(self, sql: str, params: Sequence[Any] = (), *,
                   quick: bool = False) -> list[Row]:  # quick: every read is a round trip
        async with self._locked() as db:
            return await db.execute_fetchall(sql, params)

    async def _one(self, sql: str, params: Sequence[Any] = (), *,
                   quick: bool = False) -> Row | None:
        rows = await self._all(sql, params)
        return rows[0] if rows else None

    # -- lifecycle ----------------------------------------------------------------------
    async def open(self) -> None:
        """Connect the pool and apply pending migrations (under an advisory lock)."""
        if self._pool is not None:
            return
        try:
            pool = await asyncpg.create_pool(self.url, min_size=1, max_size=self.pool_size,
                                             timeout=self.connect_timeout,
                                             statement_cache_size=1024,
                                             # batched inserts (1,000 rows a statement)
                                             # exceed asyncpg's 15 KB default: uncached,
                                             # each was parsed and planned again (a
                                             # 100,000-person round: 7.9 s, cached: 3.0 s)
                                             max_cacheable_statement_size=256 * 1024)
        except _ERRORS as exc:
            raise _pg_error(exc, self.url) from exc
        except ValueError as exc:  # a malformed URL, found by asyncpg's parser
            raise ConfigError(f"[store] url: {mask_url(self.url)}: "
                              f"{str(exc).replace(urlsplit(self.url).password or '', '***')}"
                              ) from exc
        self._pool = pool
        try:
            await self._migrate_pg()
        except BaseException:
            self._pool = None
            await pool.close()
            raise

    async def _migrate_pg(self) -> None:
        known = _migrations()
        newest = max((n for n, _, _ in known), default=0)
        async with self._locked() as db:
            conn = db.raw
            await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
            try:
                await conn.execute(_NOCASE)
                await conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version "
                                   "BIGINT PRIMARY KEY, name TEXT NOT NULL, "
                                   "applied_at TEXT NOT NULL)")
                applied = {int(r[0]) for r in
                           await conn.fetch("SELECT version FROM schema_migrations")}
                if applied and max(applied) > newest:
                    raise StoreError(f"store {mask_url(self.url)} has schema {max(applied)}, "
                                     f"newer than this Parley knows ({newest}); upgrade Parley")
                for number, name, sql in known:
                    if number not in applied:
                        await self._apply_migration(conn, number, name, sql)
            finally:
                await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)

    async def _apply_migration(self, conn: asyncpg.Connection, number: int, name: str,
                               sql: str) -> None:
        async with conn.transaction():
            for statement in _statements(sql):
                translated = migration_statement(statement)
                if translated:
                    await conn.execute(translated)
            await conn.execute("INSERT INTO schema_migrations (version, name, applied_at) "
                               "VALUES ($1, $2, $3)", number, name,
                               dt_text(self._clock.now()))
        log.info("store %s: applied migration %s", mask_url(self.url), name)

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

    async def health(self) -> None:
        async with self._locked() as db:
            await db.execute_fetchall("SELECT count(*) FROM schema_migrations")
        async with self._write() as db:
            await db.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) "
                             "DO UPDATE SET value = excluded.value",
                             (HEALTH_KEY, dt_text(self._clock.now())))

    async def checkpoint(self) -> None:
        """Nothing to do: PostgreSQL has no WAL file beside the database to truncate
        (old row versions of erased text go at the next VACUUM, run by autovacuum)."""
