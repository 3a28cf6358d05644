"""Coordinators' side of events: create, invite (a round of the ``event_rsvp`` flow),
numbers for the dashboard and CLI, and the day-before reminders (``due``)."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from pathlib import Path

from bot.conversations import Conversations
from bot.credits.ledger import to_cents
from bot.engine.keywords import normalise
from bot.errors import ParleyError, StoreError
from bot.events.attendance import has_letter
from bot.events.rsvp import when_text
from bot.rounds.service import RoundService
from bot.store.events import Event, Rsvp
from bot.store.round_records import AuditEntry, Round
from bot.timebank.hours import to_minutes
from bot.timing import parse_local

WORDS = ("bluebell", "harbour", "lantern", "meadow", "orchard", "pebble", "robin",
         "saffron", "thistle", "willow", "acorn", "beacon", "clover", "daffodil", "heron")
"""Code words: short, easy to say aloud and type, no look-alike letters."""
REMIND_BEFORE = dt.timedelta(days=1)


@dataclass
class EventNumbers:
    event: Event
    booked: int = 0
    waiting: int = 0
    maybe: int = 0
    declined: int = 0
    attended: int = 0
    reminded: int = 0


def numbers(event: Event, rsvps: list[Rsvp]) -> EventNumbers:
    out = EventNumbers(event)
    for r in rsvps:
        out.booked += r.seat == "booked"
        out.waiting += r.seat == "waiting"
        out.maybe += r.answer == "maybe"
        out.declined += r.answer == "no"
        out.attended += r.attended_at is not None
        out.reminded += r.reminded_at is not None
    return out


class EventService:
    def __init__(self, conversations: Conversations, rounds: RoundService) -> None:
        self.conversations, self.rounds = conversations, rounds
        self.store, self.config = conversations.store, conversations.config

    @property
    def tz(self) -> str:
        return self.config.schedule.timezone

    async def create(self, *, title: str, at: str, place: str, capacity: int,
                     credits: str | None = None, hours: str | None = None,
                     duration: str = "2", code_word: str | None = None, actor: str = "",
                     now: dt.datetime) -> Event:
        if not title.strip():
            raise ParleyError("--title must not be empty")
        try:
            start = parse_local(at, self.tz)
        except ValueError as exc:
            raise ParleyError(f"--at: {exc}") from exc
        if capacity < 1:
            raise ParleyError(f"--capacity must be at least 1, not {capacity}")
        minutes = to_minutes(hours) if hours else 0
        if minutes and not self.config.credits.time_bank:
            raise ParleyError("--hours needs the time bank: set [credits] time_bank = true")
        length = to_minutes(duration)
        if length <= 0:
            raise ParleyError("--duration must be more than 0 hours")
        if code_word is not None and not has_letter(normalise(code_word)):
            raise ParleyError(f"--code-word '{code_word}' needs at least one letter")
        known = await self.store.events_all()
        event = Event(f"e{len(known) + 1}", title.strip(), start,
                      start + dt.timedelta(minutes=length), place.strip(), capacity,
                      (code_word or secrets.choice(WORDS)).strip().upper(), now,
                      to_cents(credits) if credits else 0, minutes, created_by=actor)
        try:
            await self.store.event_add(event)
        except StoreError as exc:
            raise ParleyError(str(exc)) from exc
        await self.store.audit_add(AuditEntry(now, actor or "unknown", "event.create",
                                              event.id, {"title": event.title}))
        return event

    async def get(self, event_id: str) -> Event:
        event = await self.store.event_get(event_id)
        if event is None:
            raise ParleyError(f"no event '{event_id}' (see: parley events list)")
        return event

    async def invite(self, event_id: str, audience: str, start: str | None, actor: str,
                     base: Path | None = None) -> Round:
        """A draft round of the invitation flow (start it with ``rounds start``)."""
        item = await self.invitation(event_id, audience, start, actor, base)
        return await self.rounds.create(item, actor)

    async def invitation(self, event_id: str, audience: str, start: str | None, actor: str,
                         base: Path | None = None) -> Round:
        """The invitation round, built but not stored (for a dry run)."""
        event = await self.get(event_id)
        return await self.rounds.build(
            flow="event_rsvp", audience=audience, start=start, label=f"event {event.id}",
            close_after="7d", actor=actor, base=base, extra_vars={
                "event_id": event.id, "event_title": event.title,
                "event_when": when_text(event, self.tz), "event_place": event.place})

    async def table(self) -> list[EventNumbers]:
        return [numbers(e, await self.store.rsvps_of(e.id))
                for e in await self.store.events_all()]

    async def due(self, now: dt.datetime) -> int:
        """Start the day-before reminder for everyone booked or maybe (each once)."""
        sent = 0
        for event in await self.store.events_all():
            if event.status != "open" or not (event.at - REMIND_BEFORE <= now < event.at):
                continue
            for r in await self.store.rsvps_of(event.id):
                if r.seat != "booked" and r.answer != "maybe":
                    continue
                if not await self.store.rsvp_claim_reminder(event.id, r.participant_id, now):
                    continue  # claimed first: at most one reminder, even across processes
                await self.conversations.start_flow(r.participant_id, "event_reminder", {
                    "event_id": event.id, "event_title": event.title,
                    "event_when": when_text(event, self.tz), "event_place": event.place})
                sent += 1
        return sent
