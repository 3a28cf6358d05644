"""Store methods for coding free-text answers with themes (the SQL mixin).

``theme_ids`` finds or creates themes by name (any case); a merged theme resolves to
the one it was merged into, so tags and imports always land on a live theme. Tags of an
erased person's answers are deleted with their words (``bot/store/erasure.py``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from bot.store.sql_runner import SqlRunner

if TYPE_CHECKING:
    pass


@dataclass
class Theme:
    id: int
    name: str
    created_at: dt.datetime
    merged_into: int | None = None
    created_by: str = ""


class ThemesStore(Protocol):
    async def themes_all(self) -> list[Theme]: ...
    async def theme_ids(self, names: Sequence[str], at: dt.datetime, by: str) -> list[int]:
        """Live theme ids for these names, creating the missing ones."""

    async def answer_themes(self) -> dict[int, list[int]]:
        """Answer id -> its theme ids."""

    async def tag_answer(self, answer_id: int, theme_ids: Sequence[int], at: dt.datetime,
                         by: str) -> None:
        """Replace the answer's themes."""

    async def merge_theme(self, source: int, into: int) -> None: ...


def _text(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat(timespec="microseconds")


def _live(themes: dict[int, Theme], theme_id: int) -> int:
    seen = set()
    while themes[theme_id].merged_into is not None and theme_id not in seen:
        seen.add(theme_id)
        theme_id = themes[theme_id].merged_into  # type: ignore[assignment]
    return theme_id


class SqliteThemes(SqlRunner):
    """Mixed into SqliteStore."""

    async def themes_all(self) -> list[Theme]:
        rows = await self._all("SELECT * FROM themes ORDER BY id")
        return [Theme(r["id"], r["name"], dt.datetime.fromisoformat(r["created_at"]),
                      r["merged_into"], r["created_by"]) for r in rows]

    async def theme_ids(self, names: Sequence[str], at: dt.datetime,
                        by: str) -> list[int]:
        async with self._write() as db:
            for name in names:
                await db.execute("INSERT INTO themes (name, created_at, created_by) "
                                 "VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING",
                                 (name, _text(at), by))
        themes = {t.id: t for t in await self.themes_all()}
        by_name = {t.name.casefold(): t.id for t in themes.values()}
        return list(dict.fromkeys(_live(themes, by_name[n.casefold()]) for n in names))

    async def answer_themes(self) -> dict[int, list[int]]:
        out: dict[int, list[int]] = {}
        for r in await self._all("SELECT answer_id, theme_id FROM answer_themes "
                                 "ORDER BY answer_id, tagged_at, theme_id"):
            out.setdefault(r[0], []).append(r[1])
        return out

    async def tag_answer(self, answer_id: int, theme_ids: Sequence[int],
                         at: dt.datetime, by: str) -> None:
        async with self._write() as db:
            await db.execute("DELETE FROM answer_themes WHERE answer_id = ?", (answer_id,))
            await db.executemany("INSERT OR IGNORE INTO answer_themes (answer_id, theme_id, "
                                 "tagged_at, tagged_by) VALUES (?, ?, ?, ?)",
                                 [(answer_id, t, _text(at), by) for t in theme_ids])

    async def merge_theme(self, source: int, into: int) -> None:
        async with self._write() as db:
            await db.execute("INSERT OR IGNORE INTO answer_themes (answer_id, theme_id, "
                             "tagged_at, tagged_by) SELECT answer_id, ?, tagged_at, "
                             "tagged_by FROM answer_themes WHERE theme_id = ?", (into, source))
            await db.execute("DELETE FROM answer_themes WHERE theme_id = ?", (source,))
            await db.execute("UPDATE themes SET merged_into = ? WHERE id = ?", (into, source))
