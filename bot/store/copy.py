"""``parley db copy``: move a project's database to another store, verified.

1. The target must hold no rows (a missing SQLite file counts as empty): a copy only
   ever fills a new database, so nothing is overwritten or merged.
2. A ``parley serve`` holding a lease on the source refuses the copy (what it wrote
   after the snapshot would be left behind). The target's schema is made by opening it
   as a Parley store, which applies the migrations; the source must be at the same
   schema version (``parley db migrate`` brings an older one up to date). The source is
   read, never written.
3. Every table except ``schema_migrations`` is copied in one snapshot of the source and
   one transaction on the target, in batches (memory stays flat for any size), parents
   before children, ids as they are; then identity counters move past the largest id.
4. Verification reads the target back: per table, row counts (``count(*)`` on both
   sides) and the order-independent digest of ``copy_tables`` over the rows read from
   the source and the rows read back from the target.

    StoreError
     └── CopyRefused   the target is not empty, the two schemas differ, or a
                       ``parley serve`` still holds a lease on the source
"""

from __future__ import annotations

import contextlib
import datetime as dt
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.errors import ConfigError, StoreError
from bot.store.copy_sqlite import SqliteTables
from bot.store.copy_tables import (
    MIGRATIONS_TABLE,
    Digest,
    Tables,
    canonical,
    digest_of,
    load_order,
)
from bot.store.pg_dialect import mask_url
from bot.store.sqlite_codec import dt_text

BATCH = 1000
LEASES = "leases"
"""Held by each running ``parley serve`` (bot/store/leases.py)."""


class CopyRefused(StoreError):
    """The copy did not start: the target holds rows, or the schemas differ."""


@dataclass(frozen=True)
class TableCheck:
    """One table's verification."""

    table: str
    source_rows: int
    target_rows: int
    source_digest: str
    target_digest: str

    @property
    def ok(self) -> bool:
        return self.source_rows == self.target_rows and \
            self.source_digest == self.target_digest


@dataclass(frozen=True)
class CopyReport:
    """What was copied and whether every table matches."""

    source: str
    target: str
    schema_version: int
    tables: list[TableCheck]

    @property
    def ok(self) -> bool:
        return all(t.ok for t in self.tables)

    @property
    def rows(self) -> int:
        return sum(t.target_rows for t in self.tables)


def tables_for(url: str, *, read_only: bool) -> Tables:
    """The ``Tables`` side a store URL names."""
    if url.startswith("sqlite:"):
        from bot.store.sqlite import SqliteStore

        return SqliteTables(SqliteStore.from_url(url).path, read_only=read_only)
    if url.startswith(("postgresql://", "postgres://")):
        from bot.store.copy_pg import PgTables
        from bot.store.postgres import PostgresStore

        return PgTables(PostgresStore.from_url(url).url)  # without ?pool_size=N
    raise ConfigError(f"'{mask_url(url)}' is not a database URL to copy; use sqlite:///path.db "
                      "or postgresql://user:password@host:5432/database")


async def filled_tables(side: Tables) -> list[str]:
    """Tables holding rows (``schema_migrations`` aside)."""
    return [t for t in await side.tables() if t != MIGRATIONS_TABLE and await side.count(t)]


async def _refuse_filled(url: str) -> None:
    side = tables_for(url, read_only=True)
    if isinstance(side, SqliteTables) and not Path(side.path).exists():
        return
    await side.connect()
    try:
        filled = await filled_tables(side)
    finally:
        await side.close()
    if filled:
        raise CopyRefused(f"the target {side.label} is not empty ({', '.join(filled[:5])}"
                          f"{', …' if len(filled) > 5 else ''} hold rows); "
                          "db copy only fills a new, empty database")


def _check_versions(source: list[int], target: list[int], source_label: str) -> int:
    if source == target:
        return max(source, default=0)
    mine, theirs = max(target, default=0), max(source, default=0)
    if theirs < mine:
        raise CopyRefused(f"the source {source_label} has schema {theirs}, older than this "
                          f"Parley's {mine}; run 'parley db migrate --url …' on it first")
    raise CopyRefused(f"the source {source_label} has schema {theirs}, newer than this "
                      f"Parley knows ({mine}); upgrade Parley")


async def _plan(source: Tables, target: Tables) -> list[tuple[str, list[str]]]:
    """``(table, columns)`` in load order; the two sides must have the same tables and
    columns."""
    theirs = set(await source.tables()) - {MIGRATIONS_TABLE}
    mine = set(await target.tables()) - {MIGRATIONS_TABLE}
    if theirs != mine:
        raise CopyRefused(f"the two schemas differ: only in the source {sorted(theirs - mine)}"
                          f", only in the target {sorted(mine - theirs)}")
    plan: list[tuple[str, list[str]]] = []
    parents = {t: await target.parents(t) for t in mine}
    for table in load_order(sorted(mine), parents):
        columns = await target.columns(table)
        if set(columns) != set(await source.columns(table)):
            raise CopyRefused(f"table {table} has different columns in the two schemas")
        plan.append((table, columns))
    return plan


Progress = Callable[[str, int], None]


async def _copy_table(source: Tables, target: Tables, table: str, columns: list[str],
                      batch: int, handed_out: int) -> tuple[int, Digest]:
    counted = await source.count(table)
    digest = Digest(columns)
    async for rows in source.rows(table, columns, batch):
        try:
            await target.insert(table, columns, rows)
        except _driver_errors(ValueError, TypeError) as exc:  # a value that does not fit
            raise StoreError(f"copying {table} failed after {digest.rows} rows: "
                             f"{_without_values(exc)}") from exc
        digest.add(rows)
    await target.advance_counters(table, handed_out)
    return counted, digest


async def _copy(source: Tables, target: Tables, plan: Sequence[tuple[str, list[str]]],
                batch: int, progress: Progress | None) -> dict[str, tuple[int, Digest]]:
    read: dict[str, tuple[int, Digest]] = {}
    await source.begin_read()
    await target.begin_write()
    try:
        counters = await source.counters()
        for table, columns in plan:
            read[table] = await _copy_table(source, target, table, columns, batch,
                                            counters.get(table, 0))
            if progress:
                progress(table, read[table][1].rows)
    except BaseException:
        await target.end(commit=False)
        await source.end(commit=False)
        raise
    await target.end(commit=True)
    await source.end(commit=False)
    return read


async def _verify(target: Tables, plan: Sequence[tuple[str, list[str]]],
                  read: dict[str, tuple[int, Digest]], batch: int) -> list[TableCheck]:
    checks: list[TableCheck] = []
    await target.begin_read()
    try:
        for table, columns in plan:
            counted, source_digest = read[table]
            written = await target.count(table)
            back = await digest_of(target, table, columns, batch)
            # the digests carry the rows streamed, so a count(*) at odds with them fails too
            checks.append(TableCheck(table, counted, written, source_digest.hexdigest(),
                                     back.hexdigest()))
    finally:
        await target.end(commit=False)
    return checks


async def _refuse_in_use(source: Tables, now: dt.datetime) -> None:
    """A ``parley serve`` on the source holds a lease (``leases``, renewed while it runs):
    rows it writes after the copy's snapshot would be left behind, so refuse."""
    if LEASES not in await source.tables():
        return
    held: list[tuple[str, str]] = []
    await source.begin_read()
    try:
        async for rows in source.rows(LEASES, ["name", "expires_at"], BATCH):
            held += [(str(name), str(canonical(until))) for name, until in rows]
    finally:
        await source.end(commit=False)
    live = sorted((until, name) for name, until in held if until > dt_text(now))
    if live:
        until, name = live[-1]
        raise CopyRefused(f"the source {source.label} is in use: a parley serve holds the "
                          f"lease '{name}' until {until}; stop it first (a stopped "
                          "process's lease runs out by then)")


async def _make_schema(url: str) -> None:
    from bot.store import open_store

    store = open_store(url)
    await store.open()
    await store.close()


def _without_values(exc: BaseException) -> str:
    """What went wrong writing a row, without the row's values (a phone number, say):
    SQLite names the constraint and never a value; PostgreSQL's messages and asyncpg's
    conversion errors can quote one, so only the error's kind, constraint and column."""
    if isinstance(exc, sqlite3.Error):
        return f"{type(exc).__name__}: {exc}"
    where = [f"{name} {value}" for name in ("constraint", "column")
             if (value := getattr(exc, f"{name}_name", None))]
    return type(exc).__name__ + (f" ({', '.join(where)})" if where else "")


def _driver_errors(*more: type[Exception]) -> tuple[type[Exception], ...]:
    """The database drivers' own errors (asyncpg's only when it is installed), and
    ``more``."""
    found: list[type[Exception]] = [sqlite3.Error, *more]
    with contextlib.suppress(ImportError):
        import asyncpg

        found += [asyncpg.PostgresError, asyncpg.InterfaceError]
    return tuple(found)


async def copy_database(source_url: str, target_url: str, *, now: dt.datetime,
                        batch: int = BATCH, progress: Progress | None = None) -> CopyReport:
    """Copy every table from ``source_url`` into the empty store at ``target_url`` and
    verify it; raises ``CopyRefused`` before writing anything when the target holds
    rows, the schemas differ or a ``parley serve`` holds a lease on the source at
    ``now``; ``StoreError`` when a database cannot be read or written."""
    try:
        return await _copy_database(source_url, target_url, batch, progress, now)
    except _driver_errors() as exc:
        raise StoreError(f"db copy: {type(exc).__name__}: {exc}") from exc


async def _copy_database(source_url: str, target_url: str, batch: int,
                         progress: Progress | None, now: dt.datetime) -> CopyReport:
    if source_url == target_url:
        raise CopyRefused("the source and the target are the same database")
    if batch < 1:
        raise ConfigError("--batch must be at least 1")
    source = tables_for(source_url, read_only=True)
    await source.connect()
    try:
        try:
            theirs = await source.schema_versions()
        except _driver_errors() as exc:
            raise StoreError(f"cannot read the source {source.label}: {exc}") from exc
        if not theirs:
            raise CopyRefused(f"the source {source.label} holds no Parley database")
        await _refuse_in_use(source, now)
        await _refuse_filled(target_url)
        await _make_schema(target_url)
        target = tables_for(target_url, read_only=False)
        await target.connect()
        try:
            if filled := await filled_tables(target):  # rows written by someone meanwhile
                raise CopyRefused(f"the target {target.label} is not empty ({filled[0]})")
            version = _check_versions(theirs, await target.schema_versions(), source.label)
            plan = await _plan(source, target)
            read = await _copy(source, target, plan, batch, progress)
            checks = await _verify(target, plan, read, batch)
        finally:
            await target.close()
    finally:
        await source.close()
    return CopyReport(source.label, target.label, version, checks)


__all__ = ["BATCH", "CopyRefused", "CopyReport", "TableCheck", "copy_database",
           "filled_tables", "tables_for"]
