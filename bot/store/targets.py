"""Store methods for representativeness targets set on the dashboard, per dimension
(no personal data: a dimension, a value and a share)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from bot.store.sql_runner import SqlRunner


class TargetsStore(Protocol):
    async def representation_targets(self) -> dict[str, dict[str, float]]:
        """Dimension -> value -> percent."""

    async def set_representation_targets(self, dimension: str,
                                         targets: Mapping[str, float]) -> None:
        """Replace one dimension's targets (empty: the config's apply again)."""


class SqliteTargets(SqlRunner):
    """Mixed into SqliteStore."""

    async def representation_targets(self) -> dict[str, dict[str, float]]:
        out: dict[str, dict[str, float]] = {}
        for r in await self._all("SELECT dimension, value, share FROM "
                                 "representation_targets ORDER BY dimension, value"):
            out.setdefault(r[0], {})[r[1]] = float(r[2])
        return out

    async def set_representation_targets(self, dimension: str,
                                         targets: Mapping[str, float]) -> None:
        async with self._write() as db:
            await db.execute("DELETE FROM representation_targets WHERE dimension = ?",
                             (dimension,))
            await db.executemany("INSERT INTO representation_targets (dimension, value, "
                                 "share) VALUES (?, ?, ?)",
                                 [(dimension, v, float(s)) for v, s in targets.items()])
