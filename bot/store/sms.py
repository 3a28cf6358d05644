"""Store methods for SMS delivery tracking (the SQL mixin).

Twilio answers a send with a message SID and later reports its fate through status
callbacks (``queued → sent → delivered / undelivered / failed``), possibly out of order
and possibly more than once. One outbox row may also become several provider messages
(a long text split into ``(1/3)`` parts). So each accepted provider message is an
``SmsPart`` row, every callback is kept in a history, and the outbox row's
``delivery_status`` is the summary of its parts (``summarise``).

Also here, because it is what makes the goodbye after an erasure leave no trace:
``outbox_forget`` blanks the address and text of a row once it has been sent.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from bot.store.records import OutboxItem
from bot.store.sql_runner import SqlRow, SqlRunner

STATUS_RANK = {"accepted": 0, "scheduled": 0, "queued": 0, "sending": 1, "sent": 2,
               "delivered": 3, "undelivered": 3, "failed": 3, "canceled": 3, "read": 4}
"""How far along a message is; a late callback never moves a message backwards (WhatsApp's
``read`` comes after ``delivered``, and a late ``delivered`` must not undo it)."""
FINAL_BAD = ("failed", "undelivered", "canceled")


@dataclass
class SmsPart:
    """One message Twilio accepted for an outbox row."""

    sid: str
    outbox_id: int
    part: int
    parts: int
    segments: int
    status: str
    created_at: dt.datetime
    updated_at: dt.datetime
    error_code: int | None = None


@dataclass
class SmsStatusEvent:
    """One status callback as received."""

    sid: str
    status: str
    at: dt.datetime
    error_code: int | None = None
    outbox_id: int | None = None
    id: int | None = None


def rank(status: str) -> int:
    return STATUS_RANK.get(status, 1)


def advanced(old: str, new: str) -> bool:
    """Whether ``new`` should replace ``old`` (never backwards; a later final wins)."""
    return rank(new) >= rank(old)


def summarise(parts: Iterable[SmsPart]) -> str | None:
    """An outbox row's delivery status from its parts: a failed part fails the message,
    otherwise it is as far along as its slowest part (delivered only when all are)."""
    statuses = [p.status for p in parts]
    if not statuses:
        return None
    for bad in FINAL_BAD:
        if bad in statuses:
            return bad
    return min(statuses, key=rank)


class SmsStore(Protocol):
    async def sms_part_add(self, part: SmsPart) -> None:
        """Record a message Twilio accepted (idempotent on ``sid``)."""

    async def sms_parts_of(self, outbox_id: int) -> list[SmsPart]:
        """The row's accepted messages, by part number then time."""

    async def sms_part(self, sid: str) -> SmsPart | None: ...

    async def sms_status_record(self, sid: str, status: str, error_code: int | None,
                                at: dt.datetime) -> SmsPart | None:
        """Append a callback to the history (once per ``(sid, status)``) and move the part's
        status forward; returns the part, or None for a SID we never sent (nothing kept)."""

    async def sms_status_history(self, outbox_id: int) -> list[SmsStatusEvent]: ...

    async def outbox_get(self, outbox_id: int) -> OutboxItem | None: ...

    async def outbox_set_delivery_status(self, outbox_id: int, status: str | None) -> None:
        """Only ``delivery_status`` (a sender may be writing the rest of the row)."""

    async def outbox_forget(self, outbox_id: int) -> None:
        """Blank a row's address, text and error, keeping its counts (used for messages
        that must not outlive their sending, like the goodbye after an erasure)."""


def _part(row: SqlRow) -> SmsPart:
    from bot.store.sqlite_codec import parse_dt

    return SmsPart(sid=row["sid"], outbox_id=row["outbox_id"], part=row["part"],
                   parts=row["parts"], segments=row["segments"], status=row["status"],
                   created_at=parse_dt(row["created_at"]),
                   updated_at=parse_dt(row["updated_at"]), error_code=row["error_code"])


class SqliteSms(SqlRunner):
    """Mixed into SqliteStore."""

    async def sms_part_add(self, part: SmsPart) -> None:
        from bot.store.sqlite_codec import dt_text

        async with self._write() as db:
            await db.execute(
                "INSERT INTO sms_parts (sid, outbox_id, part, parts, segments, status, "
                "error_code, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (sid) DO NOTHING",
                (part.sid, part.outbox_id, part.part, part.parts, part.segments, part.status,
                 part.error_code, dt_text(part.created_at), dt_text(part.updated_at)))

    async def sms_parts_of(self, outbox_id: int) -> list[SmsPart]:
        rows = await self._all("SELECT * FROM sms_parts WHERE outbox_id = ? "
                               "ORDER BY part, created_at, rowid", (outbox_id,))
        return [_part(r) for r in rows]

    async def sms_part(self, sid: str) -> SmsPart | None:
        row = await self._one("SELECT * FROM sms_parts WHERE sid = ?", (sid,))
        return None if row is None else _part(row)

    async def sms_status_record(self, sid: str, status: str, error_code: int | None,
                                at: dt.datetime) -> SmsPart | None:
        from bot.store.sqlite_codec import dt_text

        async with self._write() as db:
            rows = list(await db.execute_fetchall("SELECT * FROM sms_parts WHERE sid = ?",
                                                  (sid,)))
            if not rows:
                return None
            part = _part(rows[0])
            await db.execute(
                "INSERT INTO sms_status_events (sid, outbox_id, status, error_code, at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (sid, status) DO NOTHING",
                (sid, part.outbox_id, status, error_code, dt_text(at)))
            if advanced(part.status, status):
                part.status, part.updated_at = status, at
                part.error_code = error_code if error_code is not None else part.error_code
                await db.execute("UPDATE sms_parts SET status = ?, error_code = ?, "
                                 "updated_at = ? WHERE sid = ?",
                                 (part.status, part.error_code, dt_text(at), sid))
        return part

    async def sms_status_history(self, outbox_id: int) -> list[SmsStatusEvent]:
        from bot.store.sqlite_codec import parse_dt

        rows = await self._all("SELECT * FROM sms_status_events WHERE outbox_id = ? "
                               "ORDER BY id", (outbox_id,))
        return [SmsStatusEvent(sid=r["sid"], status=r["status"], at=parse_dt(r["at"]),
                               error_code=r["error_code"], outbox_id=r["outbox_id"],
                               id=r["id"]) for r in rows]

    async def outbox_get(self, outbox_id: int) -> OutboxItem | None:
        from bot.store.sqlite_codec import _outbox

        row = await self._one("SELECT * FROM outbox WHERE id = ?", (outbox_id,))
        return None if row is None else _outbox(row)

    async def outbox_set_delivery_status(self, outbox_id: int, status: str | None) -> None:
        async with self._write() as db:
            await db.execute("UPDATE outbox SET delivery_status = ? WHERE id = ?",
                             (status, outbox_id))

    async def outbox_forget(self, outbox_id: int) -> None:
        async with self._write() as db:
            await db.execute("UPDATE outbox SET address = '', payload = '{}', last_error = NULL "
                             "WHERE id = ?", (outbox_id,))
        await self.checkpoint()  # no older copy of the number left in the -wal file
