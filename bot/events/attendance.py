"""Attendance by code word: during an event a coordinator says a word (shown by
``parley events show``); a participant who texts it while the event is on is recorded
as attending, and earns the event's credits and time-bank hours, once.

Only a message that is exactly the word (any case, spaces and punctuation ignored)
counts, and only from an hour before the start to an hour after the end, so the word
never swallows an ordinary answer the rest of the time.
"""

from __future__ import annotations

import datetime as dt

from bot.credits.ledger import credits_text, declined_payment
from bot.engine.keywords import normalise
from bot.events.rsvp import when_text
from bot.keyword_handlers import KeywordCall, register_matcher
from bot.store.events import Event, Rsvp
from bot.store.records import Changes, Participant
from bot.store.round_records import LedgerEntry
from bot.store.timebank import HourEntry
from bot.timebank.hours import hours_text

MARGIN = dt.timedelta(hours=1)


def has_letter(word: str) -> bool:
    """What every code word needs: a number would be taken for the answer to a 0-10
    question during the event (and a number then costs no lookup of the events)."""
    return any(ch.isalpha() for ch in word)


def live(event: Event, now: dt.datetime) -> bool:
    return event.status == "open" and event.at - MARGIN <= now <= event.ends_at + MARGIN


def rewards(event: Event, person: Participant, changes: Changes, now: dt.datetime,
            time_bank: bool) -> list[str]:
    """Ledger rows for attending (keyed, so never twice) and what to tell the person."""
    key = f"event:{event.id}"
    said = []
    if event.credits:
        payable = not declined_payment(person)
        changes.ledger.append(LedgerEntry(
            participant_id=person.id, at=now, amount=event.credits, kind="earned",
            payable=payable, key=f"{key}:{person.id}", note=f"attended {event.id}"))
        said.append(f"{credits_text(event.credits)} credits")
    if event.minutes and time_bank:
        changes.hours.append(HourEntry(person.id, now, event.minutes, "earned",
                                       key=f"{key}:{person.id}", source=key))
        said.append(f"{hours_text(event.minutes)} hours")
    return said


@register_matcher
async def code_word(call: KeywordCall) -> bool:
    word = normalise(call.text)
    if not word or len(word) > 30 or call.participant.status != "consented":
        return False  # nothing is recorded about someone who has not consented
    if not has_letter(word):
        return False
    event = next((e for e in await call.store.events_open_around(call.now, MARGIN)
                  if live(e, call.now) and normalise(e.code_word) == word), None)
    if event is None:
        return False
    mine = next((r for r in await call.store.rsvps_of(event.id)
                 if r.participant_id == call.participant.id), None)
    if mine is not None and mine.attended_at is not None:
        call.say("events.attended_again", title=event.title)
        return True
    row = mine or Rsvp(event.id, call.participant.id, "walk_in", "none", call.now)
    row.attended_at = call.now
    call.changes.rsvps.append(row)
    said = rewards(event, call.participant, call.changes, call.now,
                   call.config.credits.time_bank)
    call.say("events.attended", title=event.title, reward=" and ".join(said),
             when=when_text(event, call.config.schedule.timezone))
    return True
