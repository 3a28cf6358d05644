"""One side of ``parley db copy`` on PostgreSQL (asyncpg, public API only).

Rows are written with ``COPY`` (``copy_records_to_table``), each value first converted
to the column's PostgreSQL type (SQLite keeps flags as integers and times as text; a
``boolean`` or ``timestamptz`` column wants a bool or a datetime). Reads stream through
a server-side cursor inside a ``REPEATABLE READ`` snapshot. After the inserts every
identity or serial column's sequence is set to the table's largest id, so the next row
gets a new one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable, Sequence
from decimal import Decimal
from typing import Any

from bot.errors import StoreError
from bot.store.copy_sqlite import quoted
from bot.store.copy_tables import MIGRATIONS_TABLE, Row
from bot.store.pg_dialect import mask_url


def _to_bool(v: object) -> object:
    return bool(v) if isinstance(v, int) else v


def _to_int(v: object) -> object:
    return int(v) if isinstance(v, bool | float | str | Decimal) else v


def _to_float(v: object) -> object:
    return float(v) if isinstance(v, int | str | Decimal) else v


def _to_decimal(v: object) -> object:
    return Decimal(str(v)) if isinstance(v, int | float | str) else v


def _to_bytes(v: object) -> object:
    return v.encode() if isinstance(v, str) else v


def _to_time(v: object) -> object:
    return dt.datetime.fromisoformat(v) if isinstance(v, str) else v


def _to_text(v: object) -> object:
    return str(v) if isinstance(v, int | float) else v


_CONVERT: dict[str, Callable[[object], object]] = {
    "boolean": _to_bool,
    "smallint": _to_int, "integer": _to_int, "bigint": _to_int,
    "real": _to_float, "double precision": _to_float, "numeric": _to_decimal,
    "bytea": _to_bytes,
    "timestamp with time zone": _to_time, "timestamp without time zone": _to_time,
    "text": _to_text, "character varying": _to_text, "character": _to_text,
}


class PgTables:
    """``Tables`` over one PostgreSQL database (its current schema)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.label = mask_url(url)
        self._db: Any = None
        self._types: dict[str, dict[str, str]] = {}

    def _conn(self) -> Any:
        if self._db is None:
            raise StoreError(f"{self.label} is not open")
        return self._db

    async def connect(self) -> None:
        import asyncpg

        try:
            self._db = await asyncpg.connect(self.url)
        except (OSError, asyncpg.PostgresError) as exc:
            raise StoreError(f"cannot connect to {self.label}: {exc}") from exc

    async def close(self) -> None:
        if self._db is not None:
            db, self._db = self._db, None
            await db.close()

    async def tables(self) -> list[str]:
        rows = await self._conn().fetch(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = "
            "current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name")
        return [str(r[0]) for r in rows]

    async def _column_types(self, table: str) -> dict[str, str]:
        if table not in self._types:
            rows = await self._conn().fetch(
                "SELECT column_name, data_type FROM information_schema.columns WHERE "
                "table_schema = current_schema() AND table_name = $1 "
                "ORDER BY ordinal_position", table)
            self._types[table] = {str(r[0]): str(r[1]) for r in rows}
        return self._types[table]

    async def columns(self, table: str) -> list[str]:
        return list(await self._column_types(table))

    async def parents(self, table: str) -> set[str]:
        rows = await self._conn().fetch(
            "SELECT p.relname FROM pg_constraint k JOIN pg_class c ON k.conrelid = c.oid "
            "JOIN pg_class p ON k.confrelid = p.oid JOIN pg_namespace n "
            "ON c.relnamespace = n.oid WHERE k.contype = 'f' AND c.relname = $1 "
            "AND n.nspname = current_schema()", table)
        return {str(r[0]) for r in rows}

    async def schema_versions(self) -> list[int]:
        if MIGRATIONS_TABLE not in await self.tables():
            return []
        rows = await self._conn().fetch(
            f"SELECT version FROM {MIGRATIONS_TABLE} ORDER BY version")
        return [int(r[0]) for r in rows]

    async def count(self, table: str) -> int:
        return int(await self._conn().fetchval(f"SELECT count(*) FROM {quoted(table)}"))

    async def rows(self, table: str, columns: Sequence[str],
                   batch: int) -> AsyncIterator[list[Row]]:
        names = ", ".join(quoted(c) for c in columns)
        cursor = await self._conn().cursor(f"SELECT {names} FROM {quoted(table)}")
        while chunk := await cursor.fetch(batch):
            yield [tuple(r) for r in chunk]

    async def insert(self, table: str, columns: Sequence[str], rows: list[Row]) -> None:
        types = await self._column_types(table)
        convert = [_CONVERT.get(types.get(c, ""), _same) for c in columns]
        records = [tuple(None if v is None else f(v) for f, v in zip(convert, row, strict=True))
                   for row in rows]
        await self._conn().copy_records_to_table(table, records=records, columns=list(columns))

    async def _sequences(self, table: str) -> list[tuple[str, str]]:
        """``(column, sequence)`` of the table's identity and serial columns."""
        found = []
        for column in await self.columns(table):
            sequence = await self._conn().fetchval("SELECT pg_get_serial_sequence($1, $2)",
                                                   quoted(table), column)
            if sequence is not None:
                found.append((column, str(sequence)))
        return found

    async def counters(self) -> dict[str, int]:
        found: dict[str, int] = {}
        for table in await self.tables():
            for _, sequence in await self._sequences(table):
                row = await self._conn().fetchrow(
                    f"SELECT last_value, is_called FROM {sequence}")
                found[table] = int(row[0]) if row[1] else int(row[0]) - 1
        return found

    async def advance_counters(self, table: str, handed_out: int) -> None:
        for column, sequence in await self._sequences(table):
            await self._conn().execute(
                f"SELECT setval($1::text::regclass, m) FROM (SELECT greatest(max("
                f"{quoted(column)}), $2::bigint) AS m FROM {quoted(table)}) AS t "
                "WHERE m > 0", sequence, handed_out)

    async def begin_read(self) -> None:
        await self._conn().execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")

    async def begin_write(self) -> None:
        await self._conn().execute("BEGIN")

    async def end(self, *, commit: bool) -> None:
        await self._conn().execute("COMMIT" if commit else "ROLLBACK")


def _same(v: object) -> object:
    return v


__all__ = ["PgTables"]
