"""One side of ``parley db copy`` on a SQLite file (aiosqlite, public API only).

A source is opened read-only (``mode=ro``): copying never changes it. A target gets an
ordinary connection without ``PRAGMA foreign_keys``, so rows go in table by table as
they are; its ``AUTOINCREMENT`` counters follow the inserted ids by themselves.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import aiosqlite

from bot.errors import StoreError
from bot.store.copy_tables import MIGRATIONS_TABLE, Row

_WITHOUT_ROWID = re.compile(r"\bWITHOUT\s+ROWID\s*;?\s*$", re.I)


def quoted(name: str) -> str:
    """An identifier as SQL text (both SQLite and PostgreSQL read double quotes)."""
    return '"' + name.replace('"', '""') + '"'


class SqliteTables:
    """``Tables`` over one SQLite file."""

    def __init__(self, path: Path, *, read_only: bool) -> None:
        self.path = path
        self.read_only = read_only
        self.label = str(path)
        self._db: aiosqlite.Connection | None = None

    def _conn(self) -> aiosqlite.Connection:
        if self._db is None:
            raise StoreError(f"{self.label} is not open")
        return self._db

    async def connect(self) -> None:
        if not self.path.is_file():
            raise StoreError(f"no SQLite database at {self.path}")
        target = f"{self.path.resolve().as_uri()}?mode=ro" if self.read_only \
            else str(self.path)
        try:
            self._db = await aiosqlite.connect(target, uri=self.read_only,
                                               isolation_level=None)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open {self.path}: {exc}") from exc

    async def close(self) -> None:
        if self._db is not None:
            db, self._db = self._db, None
            await db.close()

    async def _all(self, sql: str, *params: object) -> list[sqlite3.Row]:
        return list(await self._conn().execute_fetchall(sql, params))

    async def tables(self) -> list[str]:
        rows = await self._all("SELECT name FROM sqlite_master WHERE type = 'table' "
                               "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name")
        return [str(r[0]) for r in rows]

    async def columns(self, table: str) -> list[str]:
        """Declared columns, after ``rowid`` when the table has an implicit one: it is
        the insertion order the store reads back (``ORDER BY …, rowid``), and
        PostgreSQL's schema spells it out as an identity column."""
        info = await self._all(f"PRAGMA table_info({quoted(table)})")
        names = [str(r[1]) for r in info]
        keys = [r for r in info if r[5]]
        aliased = len(keys) == 1 and str(keys[0][2]).upper() == "INTEGER"
        made = await self._all("SELECT sql FROM sqlite_master WHERE type = 'table' "
                               "AND name = ?", table)
        no_rowid = bool(made) and _WITHOUT_ROWID.search(str(made[0][0])) is not None
        if aliased or no_rowid or "rowid" in (n.lower() for n in names):
            return names
        return ["rowid", *names]

    async def parents(self, table: str) -> set[str]:
        rows = await self._all(f"PRAGMA foreign_key_list({quoted(table)})")
        return {str(r[2]) for r in rows}

    async def schema_versions(self) -> list[int]:
        if MIGRATIONS_TABLE not in await self.tables():
            return []
        rows = await self._all(f"SELECT version FROM {MIGRATIONS_TABLE} ORDER BY version")
        return [int(r[0]) for r in rows]

    async def count(self, table: str) -> int:
        rows = await self._all(f"SELECT count(*) FROM {quoted(table)}")
        return int(rows[0][0])

    async def rows(self, table: str, columns: Sequence[str],
                   batch: int) -> AsyncIterator[list[Row]]:
        names = ", ".join(quoted(c) for c in columns)
        async with self._conn().execute(f"SELECT {names} FROM {quoted(table)}") as cursor:
            while chunk := await cursor.fetchmany(batch):
                yield [tuple(r) for r in chunk]

    async def insert(self, table: str, columns: Sequence[str], rows: list[Row]) -> None:
        names = ", ".join(quoted(c) for c in columns)
        marks = ", ".join("?" for _ in columns)
        await self._conn().executemany(
            f"INSERT INTO {quoted(table)} ({names}) VALUES ({marks})", rows)

    async def counters(self) -> dict[str, int]:
        if "sqlite_sequence" not in {str(r[0]) for r in await self._all(
                "SELECT name FROM sqlite_master WHERE type = 'table'")}:
            return {}
        return {str(r[0]): int(r[1]) for r in await self._all(
            "SELECT name, seq FROM sqlite_sequence")}

    async def advance_counters(self, table: str, handed_out: int) -> None:
        """SQLite moved the AUTOINCREMENT counter past every inserted id already; this
        carries a source counter that is higher still."""
        made = await self._all("SELECT sql FROM sqlite_master WHERE type = 'table' "
                               "AND name = ?", table)
        if handed_out < 1 or not made or "AUTOINCREMENT" not in str(made[0][0]).upper():
            return  # other tables reuse no ids SQLite's way: max(rowid) + 1
        db = self._conn()
        cursor = await db.execute("UPDATE sqlite_sequence SET seq = max(seq, ?) "
                                  "WHERE name = ?", (handed_out, table))
        if cursor.rowcount == 0:
            await db.execute("INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)",
                             (table, handed_out))

    async def begin_read(self) -> None:
        await self._conn().execute("BEGIN")

    async def begin_write(self) -> None:
        await self._conn().execute("BEGIN IMMEDIATE")

    async def end(self, *, commit: bool) -> None:
        await self._conn().execute("COMMIT" if commit else "ROLLBACK")


__all__ = ["SqliteTables", "quoted"]
