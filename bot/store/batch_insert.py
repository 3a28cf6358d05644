"""Many rows into one table in one statement, with their new ids.

Why: every statement sent through aiosqlite is a round trip to its worker thread and
back (a queue, a thread wake-up, a wake-up of the event loop), which costs more CPU than
inserting a small row. A conversation turn inserts several events and timers; one
``INSERT … VALUES (…), (…) RETURNING id`` does each table in one trip.

Ids: the tables written this way have ``INTEGER PRIMARY KEY AUTOINCREMENT`` ids, which
only ever grow, and the rows of one ``VALUES`` list are inserted in order, so the
returned ids sorted ascending are the rows' ids in the order given (SQLite does not
promise the order in which ``RETURNING`` hands them back, so they are sorted).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from bot.store.sql_runner import SqlConnection

CHUNK = 200
"""Rows a statement: 200 × 15 columns stays far below SQLite's 32,766 parameters."""


@lru_cache(maxsize=64)
def multi_row(sql: str, count: int) -> str:
    """``INSERT … VALUES (?, …)`` → the same for ``count`` rows, returning their ids.
    Cached by statement text and row count only (no data)."""
    head, sep, row = sql.rpartition("VALUES")
    if not sep or not row.strip().startswith("("):
        raise ValueError("expected an INSERT … VALUES (?, …) statement")
    return f"{head}VALUES {', '.join([row.strip()] * count)} RETURNING id"


async def insert_rows(db: SqlConnection, sql: str,
                      rows: Sequence[Sequence[Any]]) -> list[int]:
    """Insert ``rows`` with ``sql`` (one row's ``INSERT … VALUES (?, …)``) in as few
    statements as possible; the new ids, in the order of ``rows``."""
    ids: list[int] = []
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start:start + CHUNK]
        if len(chunk) == 1:  # the common case: no RETURNING needed
            cursor = await db.execute(sql, chunk[0])
            ids.append(int(cursor.lastrowid or 0))
            continue
        params = [value for row in chunk for value in row]
        returned = await db.execute_fetchall(multi_row(sql, len(chunk)), params)
        ids.extend(sorted(int(r[0]) for r in returned))
    return ids
