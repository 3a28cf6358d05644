"""Store methods for media people send as replies (the SQL mixin).

A ``MediaItem`` is written when a reply is taken (``media_add``, idempotent on the inbound
message and the item's place in it, so a reprocessed message adds nothing twice). The
file itself is fetched later (``bot.media_fetch``): ``media_due`` lists what to fetch,
``media_update`` records the outcome. Erasure blanks the rows in its transaction
(``erasure.ERASURE``) and ``media_erase`` then deletes the rows *and files*
(``erasure_files.FILE_ERASURE``), so nothing is left on disk.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from bot.store.sql_runner import SqlRow, SqlRunner

log = logging.getLogger("parley.media")

MediaStatus = Literal["pending", "stored", "refused", "failed", "kept", "erased"]
"""``kept``: nothing to fetch (a shared location is its coordinates); ``erased``: its
person was erased, the file and row go right after (``erasure_files``)."""


@dataclass
class MediaItem:
    participant_id: str
    channel: str
    kind: str
    source: str
    created_at: dt.datetime
    content_type: str = ""
    inbox_id: int | None = None
    position: int = 0
    session_id: str | None = None
    node: str | None = None
    status: MediaStatus = "pending"
    path: str | None = None
    size: int | None = None
    attempts: int = 0
    next_attempt_at: dt.datetime | None = None
    error: str | None = None
    updated_at: dt.datetime | None = None
    id: int | None = None


class MediaStore(Protocol):
    async def media_add(self, item: MediaItem) -> int:
        """Record a reply's media; returns its id (the existing one for the same inbound
        message and position)."""

    async def media_due(self, now: dt.datetime, limit: int = 20) -> list[MediaItem]:
        """Pending items whose next attempt is due, oldest first."""

    async def media_update(self, item: MediaItem) -> None: ...

    async def media_get(self, media_id: int) -> MediaItem | None: ...

    async def media_of(self, participant_id: str | None = None) -> list[MediaItem]:
        """A person's media (everyone's with None), oldest first."""

    async def media_erase(self, participant_id: str) -> int:
        """Delete a person's media rows and stored files; returns how many files went."""


def unlink_all(paths: list[str | None]) -> int:
    gone = 0
    for path in paths:
        if path:
            try:
                Path(path).unlink(missing_ok=True)
                gone += 1
            except OSError as exc:  # still erased from the store; say so
                log.error("media: could not delete a stored file: %s", exc)
    return gone


_COLUMNS = ("participant_id", "inbox_id", "position", "channel", "kind", "source",
            "content_type", "session_id", "node", "status", "path", "size", "attempts",
            "next_attempt_at", "error", "created_at", "updated_at")


def _row(row: SqlRow) -> MediaItem:
    from bot.store.sqlite_codec import parse_dt

    def when(value: str | None) -> dt.datetime | None:
        return None if value is None else parse_dt(value)

    return MediaItem(
        participant_id=row["participant_id"], channel=row["channel"], kind=row["kind"],
        source=row["source"], created_at=parse_dt(row["created_at"]),
        content_type=row["content_type"], inbox_id=row["inbox_id"], position=row["position"],
        session_id=row["session_id"], node=row["node"], status=row["status"],
        path=row["path"], size=row["size"], attempts=row["attempts"],
        next_attempt_at=when(row["next_attempt_at"]), error=row["error"],
        updated_at=when(row["updated_at"]), id=row["id"])


def _params(item: MediaItem) -> tuple[Any, ...]:
    from bot.store.sqlite_codec import dt_text, opt_dt_text

    return (item.participant_id, item.inbox_id, item.position, item.channel, item.kind,
            item.source, item.content_type, item.session_id, item.node, item.status,
            item.path, item.size, item.attempts, opt_dt_text(item.next_attempt_at),
            item.error, dt_text(item.created_at), dt_text(item.updated_at or item.created_at))


class SqliteMedia(SqlRunner):
    """Mixed into SqliteStore."""

    async def media_add(self, item: MediaItem) -> int:
        async with self._write() as db:
            if item.inbox_id is not None:
                found = list(await db.execute_fetchall(
                    "SELECT id FROM media WHERE inbox_id = ? AND position = ?",
                    (item.inbox_id, item.position)))
                if found:
                    return int(found[0]["id"])
            cursor = await db.execute(
                f"INSERT INTO media ({', '.join(_COLUMNS)}) "
                f"VALUES ({', '.join('?' for _ in _COLUMNS)})", _params(item))
            return int(cursor.lastrowid or 0)

    async def media_due(self, now: dt.datetime, limit: int = 20) -> list[MediaItem]:
        from bot.store.sqlite_codec import dt_text

        rows = await self._all(
            "SELECT * FROM media WHERE status = 'pending' AND (next_attempt_at IS NULL OR "
            "next_attempt_at <= ?) ORDER BY id LIMIT ?", (dt_text(now), limit))
        return [_row(r) for r in rows]

    async def media_update(self, item: MediaItem) -> None:
        assignments = ", ".join(f"{c} = ?" for c in _COLUMNS)
        async with self._write() as db:
            await db.execute(f"UPDATE media SET {assignments} WHERE id = ?",
                             (*_params(item), item.id))

    async def media_get(self, media_id: int) -> MediaItem | None:
        row = await self._one("SELECT * FROM media WHERE id = ?", (media_id,))
        return None if row is None else _row(row)

    async def media_of(self, participant_id: str | None = None) -> list[MediaItem]:
        if participant_id is None:
            rows = await self._all("SELECT * FROM media ORDER BY id", ())
        else:
            rows = await self._all("SELECT * FROM media WHERE participant_id = ? ORDER BY id",
                                   (participant_id,))
        return [_row(r) for r in rows]

    async def media_erase(self, participant_id: str) -> int:
        async with self._write() as db:
            rows = list(await db.execute_fetchall(
                "SELECT path FROM media WHERE participant_id = ?", (participant_id,)))
            await db.execute("DELETE FROM media WHERE participant_id = ?", (participant_id,))
        return unlink_all([r["path"] for r in rows])
