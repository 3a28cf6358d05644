"""A coordinator cancels or changes an event (``parley events cancel|edit``).

Everyone whose reply still counts (yes, maybe, or waiting for a place) is told, in their
own language, through the outbox: each message waits for the end of that person's quiet
hours. A bigger room books people off the waiting list in the order they asked (each is
told); a smaller one is refused while more people are booked than it would hold. The
event row, the RSVPs and the messages commit together, guarded by the event's version
(as RSVPs are, see ``bot/store/events.py``), and each change is in the audit log.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from bot.config import Config
from bot.contact_prefs import prefs_of
from bot.errors import ParleyError
from bot.events.rsvp import when_text
from bot.i18n.renderer import Renderer
from bot.notify import notice
from bot.rounds.service import RoundService
from bot.store.base import Store
from bot.store.events import Event, Rsvp
from bot.store.records import Changes
from bot.store.round_records import AuditEntry
from bot.timing import next_allowed, parse_local

STILL_COUNTS = ("yes", "maybe")
"""RSVP answers whose people are told of a change (a waiting ``yes`` included)."""


@dataclasses.dataclass
class EventChange:
    event: Event
    told: int = 0
    promoted: list[str] = dataclasses.field(default_factory=list)
    rounds_cancelled: list[str] = dataclasses.field(default_factory=list)


class EventChanges:
    def __init__(self, store: Store, renderer: Renderer, config: Config,
                 rounds: RoundService) -> None:
        self.store, self.renderer, self.config, self.rounds = store, renderer, config, rounds

    async def _open(self, event_id: str) -> Event:
        event = await self.store.event_get(event_id)
        if event is None:
            raise ParleyError(f"no event '{event_id}' (see: parley events list)")
        if event.status == "cancelled":
            raise ParleyError(f"event {event_id} is already cancelled")
        return event

    async def cancel(self, event_id: str, reason: str, actor: str,
                     now: dt.datetime) -> EventChange:
        event = await self._open(event_id)
        event.status = "cancelled"
        changes = Changes(event_versions=[(event.id, event.version)], event_edits=[event])
        done = EventChange(event)
        for r in await self.store.rsvps_of(event.id):
            if r.answer in STILL_COUNTS:
                done.told += await self._tell(changes, r, "events.cancelled", event, now,
                                              reason=reason.strip())
        await self.store.apply(changes)
        for item in await self.store.rounds_all():  # invitations not yet sent stay unsent
            if item.label == f"event {event.id}" and item.status in ("draft", "running",
                                                                      "paused"):
                await self.rounds.cancel(item.id, actor)
                done.rounds_cancelled.append(item.id)
        await self._audit(actor, "event.cancel", event, now, {
            "reason": reason.strip(), "told": done.told, "rounds": done.rounds_cancelled})
        return done

    async def edit(self, event_id: str, actor: str, now: dt.datetime, *,
                   at: str | None = None, place: str | None = None,
                   capacity: int | None = None) -> EventChange:
        event = await self._open(event_id)
        before = dataclasses.replace(event)
        rsvps = await self.store.rsvps_of(event.id)
        self._apply_edit(event, rsvps, at, place, capacity)
        changes = Changes(event_versions=[(event.id, event.version)], event_edits=[event])
        done = EventChange(event)
        moved = (event.at, event.place) != (before.at, before.place)
        for r in rsvps:
            if moved and event.at != before.at:
                r.reminded_at = None  # a new day before: remind again
                changes.rsvps.append(r)
            if moved and r.answer in STILL_COUNTS:
                done.told += await self._tell(changes, r, "events.changed", event, now,
                                              seat=r.seat)
        await self._promote(changes, event, rsvps, now, done)
        await self.store.apply(changes)
        await self._audit(actor, "event.edit", event, now, {
            "at": event.at.isoformat() if event.at != before.at else None,
            "place": event.place if event.place != before.place else None,
            "capacity": event.capacity if event.capacity != before.capacity else None,
            "told": done.told, "promoted": len(done.promoted)})
        return done

    def _apply_edit(self, event: Event, rsvps: list[Rsvp], at: str | None,
                    place: str | None, capacity: int | None) -> None:
        if at is None and place is None and capacity is None:
            raise ParleyError("nothing to change: give --at, --place and/or --capacity")
        if at is not None:
            try:
                start = parse_local(at, self.config.schedule.timezone)
            except ValueError as exc:
                raise ParleyError(f"--at: {exc}") from exc
            event.ends_at, event.at = start + (event.ends_at - event.at), start
        if place is not None:
            if not place.strip():
                raise ParleyError("--place must not be empty")
            event.place = place.strip()
        if capacity is not None:
            booked = sum(1 for r in rsvps if r.seat == "booked")
            if capacity < max(1, booked):
                raise ParleyError(f"--capacity {capacity} is less than the {booked} people "
                                  "already booked (at least 1)")
            event.capacity = capacity

    async def _promote(self, changes: Changes, event: Event, rsvps: list[Rsvp],
                       now: dt.datetime, done: EventChange) -> None:
        free = event.capacity - sum(1 for r in rsvps if r.seat == "booked")
        waiting = sorted((r for r in rsvps if r.seat == "waiting"),
                         key=lambda r: r.waiting_since or r.answered_at)
        for r in waiting[:max(free, 0)]:
            r.seat, r.waiting_since = "booked", None
            changes.rsvps.append(r)
            done.promoted.append(r.participant_id)
            await self._tell(changes, r, "events.promoted", event, now)

    async def _tell(self, changes: Changes, r: Rsvp, key: str, event: Event,
                    now: dt.datetime, **extra: Any) -> int:
        person = await self.store.get_participant(r.participant_id)
        if person is None:
            return 0
        item = await notice(self.store, self.renderer, self.config, person, key, now,
                            title=event.title, place=event.place,
                            when=when_text(event, self.config.schedule.timezone), **extra)
        if item is None:
            return 0
        prefs = prefs_of(person.timezone, person.profile.get("quiet_hours"), None,
                         self.config)
        item.not_before = next_allowed(now, prefs.timezone, prefs.quiet)
        changes.outbox.append(item)
        return 1

    async def _audit(self, actor: str, action: str, event: Event, now: dt.datetime,
                     detail: dict[str, Any]) -> None:
        await self.store.audit_add(AuditEntry(now, actor or "unknown", action, event.id,
                                              {k: v for k, v in detail.items()
                                               if v is not None}))
