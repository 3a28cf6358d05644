"""What rounds, credits and coordinator commands add to ``Conversations``.

``ParleyHooks`` implements ``bot.conversations.ConversationHooks``. Every call adds rows
to the unit of work being committed, so a round target's new step, a credit earned and
the messages or answers that caused them are one transaction:

- a round's flow begins for someone → their target is ``sent``, and reminders and the
  close are counted from now (their own send);
- it is queued behind another conversation, or behind introduction and consent →
  ``queued`` / ``consenting``, with only the close scheduled;
- a reply in a round's session → the target is ``started``; after the close the answer
  is kept and marked late;
- a flow completes → the target is ``completed`` and the credit rule for the flow, if
  any, adds one ledger entry keyed by the session.

A target is read afresh inside the participant's lock and written only if unchanged
(``StaleWrite`` otherwise), so a step can never be taken twice.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Protocol

from bot.config import Config
from bot.contact_prefs import Prefs, prefs_of
from bot.credits.ledger import CreditRules
from bot.engine.session import Session
from bot.flows.loader import FlowLibrary
from bot.rounds.steps import after_send, finish
from bot.store.base import Store
from bot.store.records import Changes, Participant
from bot.store.round_records import RoundTarget
from bot.store.rounds_base import StaleWrite
from bot.timebank.hours import HourRules
from bot.timing import add_local

if TYPE_CHECKING:
    from bot.conversations import Inbound
    from bot.rounds.coordinator_chat import CoordinatorChat

log = logging.getLogger("parley.rounds")
SENDABLE = ("planned", "queued", "consenting")


def prefs_for(p: Participant, config: Config) -> Prefs:
    return prefs_of(p.timezone, p.profile.get("quiet_hours"), p.profile.get("contact_time"),
                    config)


def pending_target(changes: Changes, round_id: str, pid: str) -> RoundTarget | None:
    """A target already changed in this unit (a flow queued then begun in one go)."""
    return next((t for t in reversed(changes.targets)
                 if t.round_id == round_id and t.participant_id == pid), None)


class FlowCompletedHook(Protocol):
    """Something that acts when a person completes a flow: an event's RSVP
    (``bot.events.rsvp.EventRsvps``, attached by ``bot.wiring``)."""

    async def completed(self, changes: Changes, participant: Participant, session: Session,
                        now: dt.datetime) -> None: ...


class ParleyHooks:
    def __init__(self, *, store: Store, config: Config, library: FlowLibrary,
                 coordinator: CoordinatorChat | None = None) -> None:
        self.store, self.config, self.library = store, config, library
        self.credits = CreditRules(config)
        self.hours = HourRules(config)
        self.events: FlowCompletedHook | None = None
        """Records event RSVPs when an invitation completes (set by ``wiring.attach``)."""
        self.coordinator = coordinator
        self.sending: Counter[tuple[str, str]] = Counter()
        """(round, person) the scheduler is sending right now: a begin that finds the step
        already taken must undo itself (StaleWrite), not send twice."""

    @contextmanager
    def first_send(self, round_id: str, pid: str) -> Iterator[None]:
        """Mark a scheduler's first send (see ``sending``)."""
        key = (round_id, pid)
        self.sending[key] += 1
        try:
            yield
        finally:
            self.sending[key] -= 1
            if self.sending[key] <= 0:
                del self.sending[key]

    async def _target(self, changes: Changes, round_id: str, pid: str) -> RoundTarget | None:
        found = pending_target(changes, round_id, pid)
        if found is not None:
            return found
        target = await self.store.target_get(round_id, pid)
        if target is not None:
            changes.targets.append(target)
        return target

    # -- ConversationHooks ----------------------------------------------------------------
    async def intercept(self, inbound: Inbound) -> bool:
        return self.coordinator is not None and await self.coordinator.handle(inbound)

    async def flow_begun(self, changes: Changes, participant: Participant, session: Session,
                         now: dt.datetime) -> None:
        assert session.round_id is not None
        target = await self._target(changes, session.round_id, participant.id)
        item = await self.store.round_get(session.round_id)
        if target is None or item is None:
            return
        if target.status not in SENDABLE:
            if (item.id, participant.id) in self.sending:
                raise StaleWrite(f"round {item.id} already reached {participant.id} "
                                 f"({target.status})")
            log.warning("round %s: a queued flow began for %s whose target is %s; "
                        "the target is left as it is", item.id, participant.id, target.status)
            return
        flow = self.library.get(session.flow_id, session.flow_version) \
            if self.library.has_version(session.flow_id, session.flow_version) \
            else self.library.get(session.flow_id)
        after_send(target, item, flow, prefs_for(participant, self.config), now)

    async def flow_queued(self, changes: Changes, participant: Participant, flow_id: str,
                          round_id: str, outcome: str, now: dt.datetime) -> None:
        target = await self._target(changes, round_id, participant.id)
        item = await self.store.round_get(round_id)
        if target is None or item is None:
            return
        if target.status != "planned":
            raise StaleWrite(f"round {round_id} already reached {participant.id}")
        if outcome == "unreachable":
            changes.queue_push = [q for q in changes.queue_push if q.round_id != round_id]
            finish(target, "unreachable")
            return
        target.status = "consenting" if outcome == "introduced" else "queued"
        prefs = prefs_for(participant, self.config)
        close_after = item.close_after or self.library.get(flow_id).expire_after
        target.closes_at = add_local(now, close_after, prefs.timezone)
        target.step, target.next_at = len(item.remind_after) + 1, target.closes_at

    async def answer_given(self, changes: Changes, participant: Participant,
                           session: Session, now: dt.datetime) -> bool:
        assert session.round_id is not None
        stored = pending_target(changes, session.round_id, participant.id) or \
            await self.store.target_get(session.round_id, participant.id)
        if stored is None:
            return False
        late = stored.status == "closed" or (stored.closes_at is not None
                                             and now >= stored.closes_at)
        if stored.started_at is None:
            target = await self._target(changes, session.round_id, participant.id)
            assert target is not None
            target.started_at = now
        return late

    async def flow_completed(self, changes: Changes, participant: Participant,
                             session: Session, outcome: str, now: dt.datetime) -> None:
        await self.credits.earn(self.store, changes, participant, session, outcome, now)
        self.hours.earn(changes, participant, session, outcome, now)  # time bank
        if self.events is not None:
            await self.events.completed(changes, participant, session, now)
        if session.round_id is None:
            return
        target = await self._target(changes, session.round_id, participant.id)
        if target is None or target.status in ("completed", "no_reply"):
            return
        late = target.status == "closed" or (target.closes_at is not None
                                             and now >= target.closes_at)
        if outcome == "no_reply":
            finish(target, "no_reply")
        else:
            finish(target, "completed", now)
            target.late = late
