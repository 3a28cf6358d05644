"""The table-level view of a database that ``parley db copy`` works through.

A ``Tables`` is one side of a copy (SQLite in ``copy_sqlite``, PostgreSQL in
``copy_pg``): it lists tables and columns, streams a table's rows in batches, inserts
batches, counts, and advances id counters. It knows nothing of Parley's records, so the
copy carries every table the migrations made, including ones added later.

A table's **digest** is order-independent and computed the same way on both sides: each
row becomes canonical JSON (values in column-name order; integers and booleans as
integers, floats, text, bytes as hex, datetimes as the store's fixed-width UTC text,
NULL) hashed with SHA-256; the digests of the rows are added modulo 2**256 (a multiset
hash, so a row present twice counts twice), and the table's checksum is SHA-256 over the
column names, the row count and that sum. Nothing is sorted, so a table of any size is
checked in one streaming pass.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import AsyncIterator, Sequence
from decimal import Decimal
from typing import Protocol

Row = Sequence[object]
MIGRATIONS_TABLE = "schema_migrations"
"""Written by opening the target store, so never copied (and not digested)."""


class Tables(Protocol):
    """One side of a copy. Reads of a copy run between ``begin_read`` and ``end``, so
    every table comes from one snapshot; writes between ``begin_write`` and ``end``
    (``commit=False`` rolls them back)."""

    label: str
    """Where it is, for messages: a path or host/database, never a password."""

    async def connect(self) -> None:
        """Open the connection (the database must exist)."""

    async def close(self) -> None:
        """Close the connection; safe to call twice."""

    async def tables(self) -> list[str]:
        """Every ordinary table, sorted by name (no system tables)."""

    async def columns(self, table: str) -> list[str]:
        """The table's column names, in declared order."""

    async def parents(self, table: str) -> set[str]:
        """The other tables this one's foreign keys reference."""

    async def schema_versions(self) -> list[int]:
        """Applied migration numbers, ascending (empty when there is no schema yet)."""

    async def count(self, table: str) -> int:
        """``SELECT count(*)``."""

    def rows(self, table: str, columns: Sequence[str], batch: int) -> AsyncIterator[list[Row]]:
        """The table's rows (values in ``columns`` order), at most ``batch`` at a time."""

    async def insert(self, table: str, columns: Sequence[str], rows: list[Row]) -> None:
        """Insert rows as given, ids included."""

    async def counters(self) -> dict[str, int]:
        """Per table with an id counter, the highest id it has handed out (which can be
        above the largest id left, after deletions)."""

    async def advance_counters(self, table: str, handed_out: int) -> None:
        """Make the table's id counter hand out ids above both its largest id and
        ``handed_out`` (the source's counter), so no id is ever reused."""

    async def begin_read(self) -> None:
        """Start a read-only snapshot."""

    async def begin_write(self) -> None:
        """Start the transaction the copy's inserts run in."""

    async def end(self, *, commit: bool) -> None:
        """Commit or roll back what ``begin_read``/``begin_write`` started."""


def canonical(value: object) -> object:
    """A stored value as the JSON both sides agree on."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        return value
    if isinstance(value, bytes | bytearray | memoryview):
        return {"hex": bytes(value).hex()}
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise ValueError("a naive datetime in the database")
        return value.astimezone(dt.UTC).isoformat(timespec="microseconds")
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"cannot digest a {type(value).__name__} value")


_PLAIN = frozenset({type(None), str, int, float})
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=True, allow_nan=True)


class Digest:
    """The streaming, order-independent checksum of one table's rows: a row is the JSON
    array of its canonical values in column-name order (the names go into the final
    hash once)."""

    def __init__(self, columns: Sequence[str]) -> None:
        self.columns = sorted(columns)
        self._order = [list(columns).index(name) for name in self.columns]
        self.rows = 0
        self._sum = 0

    def add(self, rows: list[Row]) -> None:
        total, order, sha = self._sum, self._order, hashlib.sha256
        for row in rows:
            values = [v if type(v) in _PLAIN else canonical(v) for v in (row[i] for i in order)]
            total += int.from_bytes(sha(_ENCODER.encode(values).encode()).digest(), "big")
        self._sum = total % (1 << 256)
        self.rows += len(rows)

    def hexdigest(self) -> str:
        material = json.dumps([self.columns, self.rows, f"{self._sum:064x}"])
        return hashlib.sha256(material.encode()).hexdigest()


async def digest_of(side: Tables, table: str, columns: Sequence[str], batch: int) -> Digest:
    """The digest of a whole table, read ``batch`` rows at a time."""
    digest = Digest(columns)
    async for rows in side.rows(table, columns, batch):
        digest.add(rows)
    return digest


def load_order(tables: list[str], parents: dict[str, set[str]]) -> list[str]:
    """Tables with the ones referenced first (foreign keys hold at every insert);
    ties by name. A cycle keeps the remaining tables in name order."""
    order: list[str] = []
    left = sorted(tables)
    while left:
        ready = [t for t in left if not (parents.get(t, set()) - {t}) & set(left)]
        step = ready or left[:1]
        order.extend(step)
        left = [t for t in left if t not in step]
    return order


__all__ = ["MIGRATIONS_TABLE", "Digest", "Row", "Tables", "canonical", "digest_of",
           "load_order"]
