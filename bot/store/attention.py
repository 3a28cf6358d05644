"""Store methods for the coordinators' inbox ("needs attention") (the SQL mixin).

An item is projected from one committed ``AttentionNeeded`` event: the event is written
in the same transaction as the message that caused it, and ``attention_open`` inserts
the item and its alerts (outbox rows) together, at most once per event. So an item is
never lost and coordinators are never alerted twice for one message.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from bot.store.records import EventRow, OutboxItem
from bot.store.sql_runner import SqlRow, SqlRunner

AttentionKind = Literal["distress", "help", "unprompted", "late"]
AttentionStatus = Literal["open", "acknowledged", "done"]
EVENT = "AttentionNeeded"


@dataclass
class AttentionItem:
    participant_id: str
    kind: AttentionKind
    channel: str
    text: str
    created_at: dt.datetime
    event_id: int
    status: AttentionStatus = "open"
    acked_by: str | None = None
    acked_at: dt.datetime | None = None
    done_by: str | None = None
    done_at: dt.datetime | None = None
    escalate_at: dt.datetime | None = None
    escalated_at: dt.datetime | None = None
    id: int | None = None


Alerts = Callable[["AttentionItem"], Sequence[OutboxItem]]


class AttentionStore(Protocol):
    async def attention_new_events(self, limit: int = 200) -> list[EventRow]:
        """``AttentionNeeded`` events with no item yet, oldest first."""

    async def attention_open(self, item: AttentionItem, alerts: Alerts) -> bool:
        """Insert the item and its alert messages (``alerts(item)``, once ``item.id`` is
        set) in one transaction; False (nothing written) when its event already has an
        item."""

    async def attention_get(self, item_id: int) -> AttentionItem | None: ...
    async def attention_list(self, *, status: str | None = None,
                             participant_id: str | None = None) -> list[AttentionItem]:
        """Newest first."""

    async def attention_count(self, status: str = "open") -> int: ...
    async def attention_ack(self, item_id: int, by: str, at: dt.datetime) -> bool:
        """Record who acknowledged (first one wins); False when already acknowledged."""

    async def attention_done(self, item_id: int, by: str, at: dt.datetime) -> bool:
        """Close the item (acknowledging it too if nobody had); False when already done."""

    async def attention_escalations_due(self, now: dt.datetime) -> list[AttentionItem]:
        """Unacknowledged, not yet escalated items whose ``escalate_at`` has passed."""

    async def attention_escalate(self, item_id: int, alerts: Sequence[OutboxItem],
                                 at: dt.datetime) -> bool:
        """Mark escalated and queue ``alerts`` together, only if still unacknowledged
        and not escalated (so a second process or pass never escalates twice)."""


def _t(value: dt.datetime | None) -> str | None:
    return None if value is None else value.astimezone(dt.UTC).isoformat(timespec="microseconds")


def _p(value: str | None) -> dt.datetime | None:
    return None if value is None else dt.datetime.fromisoformat(value)


def _item(row: SqlRow) -> AttentionItem:
    created = _p(row["created_at"])
    assert created is not None
    return AttentionItem(
        participant_id=row["participant_id"], kind=row["kind"], channel=row["channel"],
        text=row["text"], created_at=created, event_id=row["event_id"],
        status=row["status"], acked_by=row["acked_by"], acked_at=_p(row["acked_at"]),
        done_by=row["done_by"], done_at=_p(row["done_at"]),
        escalate_at=_p(row["escalate_at"]), escalated_at=_p(row["escalated_at"]),
        id=row["id"])


class SqliteAttention(SqlRunner):
    """Mixed into SqliteStore."""

    async def attention_new_events(self, limit: int = 200) -> list[EventRow]:
        from bot.store.sqlite_codec import _event

        rows = await self._all(
            "SELECT * FROM events WHERE name = ? AND id > "
            "COALESCE((SELECT MAX(event_id) FROM attention), 0) ORDER BY id LIMIT ?",
            (EVENT, limit))
        return [_event(r) for r in rows]

    async def attention_open(self, item: AttentionItem, alerts: Alerts) -> bool:
        from bot.store.sqlite_codec import _INSERT_OUTBOX, _outbox_params

        async with self._write() as db:
            cursor = await db.execute(
                "INSERT OR IGNORE INTO attention (event_id, participant_id, kind, channel, "
                "text, created_at, status, escalate_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (item.event_id, item.participant_id, item.kind, item.channel, item.text,
                 _t(item.created_at), item.status, _t(item.escalate_at)))
            if cursor.rowcount == 0:
                return False
            item.id = cursor.lastrowid
            await db.executemany(_INSERT_OUTBOX, [_outbox_params(a) for a in alerts(item)])
        return True

    async def attention_get(self, item_id: int) -> AttentionItem | None:
        row = await self._one("SELECT * FROM attention WHERE id = ?", (item_id,))
        return None if row is None else _item(row)

    async def attention_list(self, *, status: str | None = None,
                             participant_id: str | None = None) -> list[AttentionItem]:
        where, params = [], []
        if status is not None:
            where.append("status = ?")
            params.append(status)
        if participant_id is not None:
            where.append("participant_id = ?")
            params.append(participant_id)
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        rows = await self._all(f"SELECT * FROM attention{clause} ORDER BY id DESC", params)
        return [_item(r) for r in rows]

    async def attention_count(self, status: str = "open") -> int:
        row = await self._one("SELECT COUNT(*) FROM attention WHERE status = ?", (status,))
        return int(row[0]) if row is not None else 0

    async def attention_ack(self, item_id: int, by: str, at: dt.datetime) -> bool:
        async with self._write() as db:
            cursor = await db.execute(
                "UPDATE attention SET acked_by = ?, acked_at = ?, status = CASE WHEN "
                "status = 'open' THEN 'acknowledged' ELSE status END "
                "WHERE id = ? AND acked_at IS NULL", (by, _t(at), item_id))
            return bool(cursor.rowcount)

    async def attention_done(self, item_id: int, by: str, at: dt.datetime) -> bool:
        async with self._write() as db:
            cursor = await db.execute(
                "UPDATE attention SET status = 'done', done_by = ?, done_at = ?, "
                "acked_by = COALESCE(acked_by, ?), acked_at = COALESCE(acked_at, ?) "
                "WHERE id = ? AND status != 'done'", (by, _t(at), by, _t(at), item_id))
            return bool(cursor.rowcount)

    async def attention_escalations_due(self, now: dt.datetime) -> list[AttentionItem]:
        rows = await self._all(
            "SELECT * FROM attention WHERE acked_at IS NULL AND escalated_at IS NULL "
            "AND escalate_at IS NOT NULL AND escalate_at <= ? ORDER BY id", (_t(now),))
        return [_item(r) for r in rows]

    async def attention_escalate(self, item_id: int, alerts: Sequence[OutboxItem],
                                 at: dt.datetime) -> bool:
        from bot.store.sqlite_codec import _INSERT_OUTBOX, _outbox_params

        async with self._write() as db:
            cursor = await db.execute(
                "UPDATE attention SET escalated_at = ? WHERE id = ? AND acked_at IS NULL "
                "AND escalated_at IS NULL", (_t(at), item_id))
            if cursor.rowcount == 0:
                return False
            await db.executemany(_INSERT_OUTBOX, [_outbox_params(a) for a in alerts])
        return True
