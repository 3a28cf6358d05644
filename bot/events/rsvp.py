"""Recording an RSVP when the invitation (or the day-before reminder) completes.

- yes: booked while places last, else on the waiting list (in order of reply);
- no / maybe: no place; if they had one, the first person waiting is booked and told;
- the reminder's "no" is the same as a "no".

The RSVP, any promotion and both people's messages commit with the answer, guarded by
the event's version (see ``bot/store/events.py``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from bot.config import Config
from bot.engine.session import Session
from bot.i18n.renderer import Renderer
from bot.notify import notice
from bot.store.base import Store
from bot.store.events import Event, Rsvp
from bot.store.records import Changes, Participant
from bot.timing import zone

FLOWS = {"event_rsvp": "rsvp", "event_reminder": "still_coming"}
"""Flow id -> the field holding the answer."""


def when_text(event: Event, tz: str) -> str:
    """``Tue 10 Mar, 18:00`` in the project's time zone."""
    local = event.at.astimezone(zone(tz))
    return f"{local:%a} {local.day} {local:%b}, {local:%H:%M}"


def seat_for(answer: str, mine: Rsvp | None, others: list[Rsvp], capacity: int) -> str:
    if answer != "yes":
        return "none"
    if mine is not None and mine.seat == "booked":
        return "booked"
    booked = sum(1 for r in others if r.seat == "booked")
    return "booked" if booked < capacity else "waiting"


class EventRsvps:
    def __init__(self, store: Store, renderer: Renderer, config: Config) -> None:
        self.store, self.renderer, self.config = store, renderer, config

    async def completed(self, changes: Changes, person: Participant, session: Session,
                        now: dt.datetime) -> None:
        """``ConversationHooks.flow_completed`` for the event flows."""
        field = FLOWS.get(session.flow_id)
        answer = session.fields.get(field or "")
        event = await self.store.event_get(session.vars.get("event_id", ""))
        if field is None or not isinstance(answer, str) or event is None:
            return
        if event.status == "cancelled":  # an invitation answered after the cancellation
            await self._tell(changes, person, "events.cancelled", event, now, reason="")
            return
        await self.record(changes, person, event, answer, now)

    async def record(self, changes: Changes, person: Participant, event: Event, answer: str,
                     now: dt.datetime) -> None:
        rsvps = await self.store.rsvps_of(event.id)
        mine = next((r for r in rsvps if r.participant_id == person.id), None)
        others = [r for r in rsvps if r.participant_id != person.id]
        seat = seat_for(answer, mine, others, event.capacity)
        keep_waiting = mine is not None and mine.seat == "waiting" and seat == "waiting"
        row = Rsvp(event.id, person.id, answer, seat, now,  # type: ignore[arg-type]
                   waiting_since=mine.waiting_since if keep_waiting and mine else
                   (now if seat == "waiting" else None),
                   reminded_at=mine.reminded_at if mine else None,
                   attended_at=mine.attended_at if mine else None)
        changes.rsvps.append(row)
        changes.event_versions.append((event.id, event.version))
        waiting = sorted((r for r in others if r.seat == "waiting"),
                         key=lambda r: r.waiting_since or r.answered_at)
        if seat == "waiting":
            position = 1 + sum(1 for r in waiting
                               if (r.waiting_since or r.answered_at) <= (row.waiting_since
                                                                         or now))
            await self._tell(changes, person, "events.waiting", event, now,
                             position=position)
        else:
            key = {"booked": "events.booked", "none": "events.maybe"
                   if answer == "maybe" else "events.not_coming"}[seat]
            await self._tell(changes, person, key, event, now)
        if mine is not None and mine.seat == "booked" and seat != "booked" and waiting:
            await self._promote(changes, event, waiting[0], now)

    async def _promote(self, changes: Changes, event: Event, first: Rsvp,
                       now: dt.datetime) -> None:
        first.seat, first.waiting_since = "booked", None
        changes.rsvps.append(first)
        person = await self.store.get_participant(first.participant_id)
        if person is not None:
            await self._tell(changes, person, "events.promoted", event, now)

    async def _tell(self, changes: Changes, person: Participant, key: str, event: Event,
                    now: dt.datetime, **extra: Any) -> None:
        item = await notice(self.store, self.renderer, self.config, person, key, now,
                            title=event.title, place=event.place,
                            when=when_text(event, self.config.schedule.timezone), **extra)
        if item is not None:
            changes.outbox.append(item)
