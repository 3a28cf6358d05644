"""Store methods for events (workshops) and their RSVPs (the SQL mixin) (tables
``workshops`` and ``workshop_rsvps``: ``events`` is the event log).

RSVP changes travel in ``Changes.rsvps`` with ``Changes.event_versions`` (the event's
version as read): the unit commits only if no other reply changed the event meanwhile
(``StaleWrite`` otherwise; the inbound message is then processed again), so the seat
count is never overrun. Reminders are claimed one RSVP at a time
(``rsvp_claim_reminder``), so two processes never remind the same person twice.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol, cast

from bot.store.rounds_base import StaleWrite
from bot.store.sql_runner import SqlConnection, SqlRow, SqlRunner

if TYPE_CHECKING:
    pass

Seat = Literal["booked", "waiting", "none"]


@dataclass
class Event:
    id: str
    title: str
    at: dt.datetime
    ends_at: dt.datetime
    place: str
    capacity: int
    code_word: str
    created_at: dt.datetime
    credits: int = 0
    """Hundredths of a credit, for attending."""
    minutes: int = 0
    """Time-bank minutes, for attending."""
    status: str = "open"
    created_by: str = ""
    reminded_at: dt.datetime | None = None
    version: int = 0


@dataclass
class Rsvp:
    event_id: str
    participant_id: str
    answer: str
    seat: Seat
    answered_at: dt.datetime
    waiting_since: dt.datetime | None = None
    reminded_at: dt.datetime | None = None
    attended_at: dt.datetime | None = None


class Changes(Protocol):
    """The part of ``bot.store.records.Changes`` this module writes (a Protocol: the
    records module imports the rows defined here)."""

    @property
    def event_versions(self) -> list[tuple[str, int]]: ...

    @property
    def rsvps(self) -> list[Rsvp]: ...

    @property
    def event_edits(self) -> list[Event]: ...


class EventsStore(Protocol):
    async def event_add(self, event: Event) -> None: ...
    async def event_get(self, event_id: str) -> Event | None: ...
    async def events_all(self) -> list[Event]: ...
    async def events_open_around(self, now: dt.datetime,
                                 margin: dt.timedelta) -> list[Event]:
        """Open events from ``margin`` before their start to ``margin`` after their end
        (asked on every plain message, so it reads only those rows)."""
    async def rsvps_of(self, event_id: str) -> list[Rsvp]: ...
    async def rsvps_for(self, participant_id: str) -> list[Rsvp]: ...
    async def rsvp_claim_reminder(self, event_id: str, participant_id: str,
                                  at: dt.datetime) -> bool:
        """Mark the reminder sent; False when someone already did."""


def _dt(text: str | None) -> dt.datetime | None:
    return None if text is None else dt.datetime.fromisoformat(text).astimezone(dt.UTC)


def _text(value: dt.datetime | None) -> str | None:
    return None if value is None else value.astimezone(dt.UTC).isoformat(timespec="microseconds")


def _event(r: SqlRow) -> Event:
    return Event(r["id"], r["title"], cast(dt.datetime, _dt(r["at"])),
                 cast(dt.datetime, _dt(r["ends_at"])), r["place"], r["capacity"],
                 r["code_word"], cast(dt.datetime, _dt(r["created_at"])), r["credits"],
                 r["minutes"], r["status"], r["created_by"], _dt(r["reminded_at"]),
                 r["version"])


def _rsvp(r: SqlRow) -> Rsvp:
    return Rsvp(r["event_id"], r["participant_id"], r["answer"], r["seat"],
                cast(dt.datetime, _dt(r["answered_at"])), _dt(r["waiting_since"]),
                _dt(r["reminded_at"]), _dt(r["attended_at"]))


async def write_events(db: SqlConnection, changes: Changes) -> None:
    """Inside ``SqliteStore.apply``'s transaction."""
    for event_id, version in changes.event_versions:
        cursor = await db.execute("UPDATE workshops SET version = version + 1 "
                                  "WHERE id = ? AND version = ?", (event_id, version))
        if cursor.rowcount != 1:
            raise StaleWrite(f"event {event_id} changed since it was read")
    for e in changes.event_edits:
        await db.execute("UPDATE workshops SET title = ?, at = ?, ends_at = ?, place = ?, "
                         "capacity = ?, status = ? WHERE id = ?",
                         (e.title, _text(e.at), _text(e.ends_at), e.place, e.capacity,
                          e.status, e.id))
    for r in changes.rsvps:
        await db.execute(
            "INSERT INTO workshop_rsvps (event_id, participant_id, answer, seat, waiting_since, "
            "answered_at, reminded_at, attended_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (event_id, participant_id) DO UPDATE SET answer = excluded.answer, "
            "seat = excluded.seat, waiting_since = excluded.waiting_since, "
            "answered_at = excluded.answered_at, reminded_at = excluded.reminded_at, "
            "attended_at = excluded.attended_at",
            (r.event_id, r.participant_id, r.answer, r.seat, _text(r.waiting_since),
             _text(r.answered_at), _text(r.reminded_at), _text(r.attended_at)))


class SqliteEvents(SqlRunner):
    """Mixed into SqliteStore."""

    async def event_add(self, event: Event) -> None:
        async with self._write() as db:
            await db.execute(
                "INSERT INTO workshops (id, title, at, ends_at, place, capacity, credits, "
                "minutes, code_word, status, created_at, created_by) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (event.id, event.title, _text(event.at), _text(event.ends_at), event.place,
                 event.capacity, event.credits, event.minutes, event.code_word,
                 event.status, _text(event.created_at), event.created_by))

    async def event_get(self, event_id: str) -> Event | None:
        row = await self._one("SELECT * FROM workshops WHERE id = ?", (event_id,))
        return None if row is None else _event(row)

    async def events_all(self) -> list[Event]:
        return [_event(r) for r in await self._all("SELECT * FROM workshops ORDER BY at")]

    async def events_open_around(self, now: dt.datetime,
                                 margin: dt.timedelta) -> list[Event]:
        rows = await self._all(
            "SELECT * FROM workshops WHERE status = 'open' AND at <= ? AND ends_at >= ? "
            "ORDER BY at", (_text(now + margin), _text(now - margin)))
        return [_event(r) for r in rows]

    async def rsvps_of(self, event_id: str) -> list[Rsvp]:
        rows = await self._all("SELECT * FROM workshop_rsvps WHERE event_id = ? "
                               "ORDER BY answered_at", (event_id,))
        return [_rsvp(r) for r in rows]

    async def rsvps_for(self, participant_id: str) -> list[Rsvp]:
        rows = await self._all("SELECT * FROM workshop_rsvps WHERE participant_id = ? "
                               "ORDER BY answered_at", (participant_id,))
        return [_rsvp(r) for r in rows]

    async def rsvp_claim_reminder(self, event_id: str, participant_id: str,
                                  at: dt.datetime) -> bool:
        async with self._write() as db:
            cursor = await db.execute(
                "UPDATE workshop_rsvps SET reminded_at = ? WHERE event_id = ? AND "
                "participant_id = ? AND reminded_at IS NULL",
                (_text(at), event_id, participant_id))
            return bool(cursor.rowcount == 1)
