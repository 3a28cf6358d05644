"""Store methods for the dashboard's login limits (``bot/web/dashboard/login_guard.py``):
failures recorded in the database, so every process sharing it, and a restarted one,
counts the same tries."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from bot.store.sql_runner import SqlRunner


class LoginLimitsStore(Protocol):
    async def login_failures_since(self, keys: Sequence[str],
                                   since: float) -> dict[str, list[float]]:
        """Per key, the times (epoch seconds) of failures after ``since``, oldest first."""

    async def login_failure_add(self, keys: Sequence[str], at: float,
                                forget_before: float) -> None:
        """Record one failure under each key; delete failures older than
        ``forget_before`` (any key) in the same commit."""

    async def login_failures_clear(self, key: str) -> None: ...


class SqliteLoginLimits(SqlRunner):
    """Mixed into SqliteStore (portable SQL)."""

    async def login_failures_since(self, keys: Sequence[str],
                                   since: float) -> dict[str, list[float]]:
        found: dict[str, list[float]] = {key: [] for key in keys}
        if not keys:
            return found
        marks = ", ".join("?" for _ in keys)
        rows = await self._all(f"SELECT key, at FROM login_failures WHERE key IN ({marks}) "
                               "AND at > ? ORDER BY at", (*keys, since))
        for row in rows:
            found[row[0]].append(float(row[1]))
        return found

    async def login_failure_add(self, keys: Sequence[str], at: float,
                                forget_before: float) -> None:
        async with self._write(durable=False) as db:
            await db.execute("DELETE FROM login_failures WHERE at <= ?", (forget_before,))
            await db.executemany("INSERT INTO login_failures (key, at) VALUES (?, ?)",
                                 [(key, at) for key in keys])

    async def login_failures_clear(self, key: str) -> None:
        await self._write_one("DELETE FROM login_failures WHERE key = ?", (key,),
                              durable=False)
