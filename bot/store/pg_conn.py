"""An asyncpg connection that speaks to the store's SQL mixins as aiosqlite does.

The ``Sqlite*`` mixins write SQLite's SQL against aiosqlite's connection API
(``execute`` → a cursor with ``rowcount``/``lastrowid``/``fetchone``, ``executemany``,
``execute_fetchall``). ``PgConnection`` offers the same calls on one asyncpg
connection: each statement is translated (``bot.store.pg_dialect``), its parameters are
converted to the types PostgreSQL inferred for them (asyncpg checks types strictly, and
SQLite's columns took whatever they were given), and asyncpg's integrity errors are
raised as ``sqlite3.IntegrityError`` so the mixins' ``except`` clauses (a duplicate round
id, a finding already paid…) hold on both backends. Other database errors become
``StoreError`` in ``PostgresStore``.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from asyncpg import Record as Row

from bot.errors import StoreError
from bot.store.pg_dialect import Statement, translate

_MAX_PARAMS = 32767  # PostgreSQL's limit on one statement's parameters


@dataclass(frozen=True)
class _Shape:
    """What preparing a statement told us: its parameters' types and if it returns rows."""

    types: tuple[str, ...]
    returns_rows: bool


@dataclass
class PgCursor:
    """What ``execute`` returns: the rows (fetched already), ``rowcount``, ``lastrowid``."""

    rows: list[Row] = field(default_factory=list)
    rowcount: int = -1
    lastrowid: int | None = None
    _next: int = 0

    async def fetchone(self) -> Row | None:
        if self._next >= len(self.rows):
            return None
        self._next += 1
        return self.rows[self._next - 1]

    async def fetchmany(self, size: int) -> list[Row]:
        chunk = self.rows[self._next:self._next + size]
        self._next += len(chunk)
        return chunk

    async def fetchall(self) -> list[Row]:
        rest = self.rows[self._next:]
        self._next = len(self.rows)
        return rest

    async def close(self) -> None:
        self.rows = []


def _to_text(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd") if "\x00" in value else value
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def _to_int(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return value


def _to_float(value: Any) -> Any:
    if isinstance(value, int | str) and not isinstance(value, bool):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def _to_bool(value: Any) -> Any:
    return bool(value) if isinstance(value, int) else value


def _to_bytes(value: Any) -> Any:
    return value.encode() if isinstance(value, str) else value


_CONVERT: dict[str, Callable[[Any], Any]] = {
    "text": _to_text, "varchar": _to_text, "bpchar": _to_text, "name": _to_text,
    "json": _to_text, "jsonb": _to_text, "unknown": _to_text,
    "int2": _to_int, "int4": _to_int, "int8": _to_int,
    "float4": _to_float, "float8": _to_float, "numeric": _to_float,
    "bool": _to_bool,
    "bytea": _to_bytes,
}


def _convert(shape: _Shape, params: Sequence[Any]) -> list[Any]:
    if len(params) != len(shape.types):
        raise StoreError(f"statement takes {len(shape.types)} parameters, got {len(params)}")
    return [None if v is None else _CONVERT.get(t, _identity)(v)
            for t, v in zip(shape.types, params, strict=True)]


def _identity(value: Any) -> Any:
    return value


def _count(status: str) -> int:
    """The row count in a command tag: ``UPDATE 3``, ``DELETE 0``, ``INSERT 0 1``."""
    match = re.search(r"(\d+)\s*$", status or "")
    return int(match.group(1)) if match else -1


def _positional(stmt: Statement, params: Sequence[Any] | Mapping[str, Any]) -> Sequence[Any]:
    if stmt.names:
        if not isinstance(params, Mapping):
            raise StoreError("a statement with :name parameters needs a mapping")
        return [params[name] for name in stmt.names]
    if isinstance(params, Mapping):
        raise StoreError("a statement with ? parameters needs a sequence")
    return params


class PgConnection:
    """One asyncpg connection with aiosqlite's calls (see the module docstring)."""

    row_factory: Any = None  # accepted and ignored: asyncpg's records index both ways

    def __init__(self, conn: asyncpg.Connection, shapes: dict[str, _Shape]) -> None:
        self._conn = conn
        self._ordered = False  # this transaction holds the events table's insert lock
        self._shapes = shapes  # shared by the store's connections: a statement's shape
        # is the same on all of them

    @property
    def raw(self) -> asyncpg.Connection:
        """The asyncpg connection itself (transactions, advisory locks)."""
        return self._conn

    async def _shape(self, sql: str) -> _Shape:
        shape = self._shapes.get(sql)
        if shape is None:
            prepared = await self._conn.prepare(sql)
            shape = _Shape(tuple(t.name for t in prepared.get_parameters()),
                           bool(prepared.get_attributes()))
            self._shapes[sql] = shape
        return shape

    async def _in_order(self, stmt: Statement) -> None:
        """Before a transaction's first insert into ``events``: a lock that only
        inserters of events take (SHARE ROW EXCLUSIVE conflicts with itself, not with
        readers), held to COMMIT, so event ids commit in the order they were handed out
        even across processes. The webhook cursor over ``events.id``
        (``bot.store.webhooks``) relies on that, as SQLite's single writer gives it."""
        if stmt.inserts_into == "events" and not self._ordered and \
                self._conn.is_in_transaction():
            await self._conn.execute("LOCK TABLE events IN SHARE ROW EXCLUSIVE MODE")
            self._ordered = True

    async def _run(self, sql: str, params: Sequence[Any]) -> PgCursor:
        shape = await self._shape(sql)
        args = _convert(shape, params)
        if shape.returns_rows:
            rows = await self._conn.fetch(sql, *args)
            return PgCursor(rows=list(rows), rowcount=len(rows))
        status = await self._conn.execute(sql, *args)
        return PgCursor(rowcount=_count(status))

    async def _translated(self, sql: str, params: Sequence[Any] | Mapping[str, Any]
                          ) -> tuple[Statement, PgCursor]:
        """Run SQLite-dialect ``sql``; a constraint error comes back as SQLite's own."""
        stmt = translate(sql)
        try:
            await self._in_order(stmt)
            return stmt, await self._run(stmt.sql, _positional(stmt, params))
        except asyncpg.IntegrityConstraintViolationError as exc:
            raise sqlite3.IntegrityError(str(exc)) from exc

    async def execute(self, sql: str,
                      params: Sequence[Any] | Mapping[str, Any] = ()) -> PgCursor:
        stmt, cursor = await self._translated(sql, params)
        if stmt.returns_id:
            cursor.lastrowid = int(cursor.rows[0][0]) if cursor.rows else None
            cursor.rows = []
        return cursor

    async def execute_fetchall(self, sql: str,
                               params: Sequence[Any] | Mapping[str, Any] = ()) -> list[Row]:
        return (await self._translated(sql, params))[1].rows

    async def executemany(self, sql: str,
                          seq: Iterable[Sequence[Any] | Mapping[str, Any]]) -> PgCursor:
        """Many rows; an ``INSERT … ON CONFLICT DO NOTHING`` goes as multi-row statements
        so ``rowcount`` says how many rows were new (asyncpg's executemany cannot)."""
        rows = list(seq)
        if not rows:
            return PgCursor(rowcount=0)
        stmt = translate(sql)
        try:
            await self._in_order(stmt)
            if stmt.ignore_conflicts:
                copy = _copy_target(sql)
                if copy is not None and len(rows) >= _COPY_FROM and \
                        self._conn.is_in_transaction():
                    return PgCursor(rowcount=await self._copy_new(stmt, copy, rows))
                return PgCursor(rowcount=await self._insert_new(sql, rows))
            shape = await self._shape(stmt.sql)
            await self._conn.executemany(
                stmt.sql, [_convert(shape, _positional(stmt, r)) for r in rows])
        except asyncpg.IntegrityConstraintViolationError as exc:
            raise sqlite3.IntegrityError(str(exc)) from exc
        return PgCursor(rowcount=len(rows))

    async def _copy_new(self, stmt: Statement, target: tuple[str, str],
                        rows: list[Sequence[Any] | Mapping[str, Any]]) -> int:
        """Thousands of rows: COPY (binary, one round trip) into a temporary table, then
        one ``INSERT … SELECT … ON CONFLICT DO NOTHING``: several times faster than
        multi-row VALUES for a 100,000-person round plan."""
        table, columns = target
        shape = await self._shape(stmt.sql)
        temp = f"parley_copy_{table}"
        await self._conn.execute(f"CREATE TEMP TABLE IF NOT EXISTS {temp} ON COMMIT DROP AS "
                                 f"SELECT {columns} FROM {table} WITH NO DATA")
        names = [c.strip() for c in columns.split(",")]
        await self._conn.copy_records_to_table(
            temp, records=[_convert(shape, _positional(stmt, r)) for r in rows], columns=names)
        status = await self._conn.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} "
                                          f"FROM {temp} ON CONFLICT DO NOTHING")
        await self._conn.execute(f"TRUNCATE {temp}")
        return _count(status)

    async def _insert_new(self, sql: str, rows: list[Sequence[Any] | Mapping[str, Any]]) -> int:
        head, group, tail = _values_group(sql)
        width = len(rows[0])
        per = max(1, min(1000, _MAX_PARAMS // max(width, 1)))
        inserted = 0
        for start in range(0, len(rows), per):
            chunk = rows[start:start + per]
            many = f"{head}{', '.join([group] * len(chunk))}{tail}"
            stmt = translate(many if "RETURNING" in tail.upper() else many + " RETURNING 1")
            flat = [v for r in chunk for v in _positional(translate(sql), r)]
            cursor = await self._run(stmt.sql, flat)
            inserted += len(cursor.rows)
        return inserted


_COPY_FROM = 1000  # rows: below this, multi-row VALUES is as quick
_COPYABLE = re.compile(r"^\s*INSERT\s+(?:OR\s+IGNORE\s+)?INTO\s+(\w+)\s*\(([\w\s,]+)\)\s*"
                       r"VALUES\s*\((?:\s*\?\s*,)*\s*\?\s*\)\s*"
                       r"(?:ON\s+CONFLICT\s+DO\s+NOTHING)?\s*$", re.I)


def _copy_target(sql: str) -> tuple[str, str] | None:
    """``(table, columns)`` of a plain ``INSERT INTO t (cols) VALUES (?, …)`` that
    ignores conflicts, else None (it cannot go through COPY)."""
    match = _COPYABLE.match(sql)
    return None if match is None else (match.group(1), " ".join(match.group(2).split()))


def _values_group(sql: str) -> tuple[str, str, str]:
    """``INSERT … VALUES`` + ``(?, …)`` + the rest (``ON CONFLICT …``)."""
    at = sql.upper().rfind("VALUES")
    if at < 0:
        raise StoreError("executemany with ON CONFLICT needs INSERT … VALUES (…)")
    open_at = sql.index("(", at)
    depth = 0
    for i in range(open_at, len(sql)):
        depth += {"(": 1, ")": -1}.get(sql[i], 0)
        if depth == 0:
            return sql[:open_at], sql[open_at:i + 1], sql[i + 1:]
    raise StoreError("unbalanced parentheses in an INSERT statement")
