"""``due(now)``: everything that has come due, taken from the store, one step each.

The store is the source of truth; the APScheduler job only decides when to call this.
Each pass, in order:

1. flow timers (no-reply timeouts and expiries), held back during the person's quiet
   hours and while they have PAUSEd (the pause is a stored profile field, so the hold
   outlasts a restart; after RESUME the held timers fire within ``PAUSE_RECHECK``);
2. the next occurrence of each repeating round whose time has come (after downtime, only
   the latest missed one);
3. round targets: first sends, reminders and closes. A step is written in the same
   transaction as its messages and only if the target is unchanged, so a crash or a
   second process never repeats it. After downtime, of several reminders due only the
   latest is sent, and not at all if its moment passed more than a day and a half ago;
   nothing goes out in quiet hours (it waits for the morning); a reminder also waits
   while the person is PAUSEd or has had ``[burden] max_messages_per_week`` messages in
   the last 7 days (until the oldest is a week old; past the round's close it is not
   sent). Replies to a person's own messages never wait for the budget;
4. rounds with nothing left to do are closed;
5. the coordinators' inbox: items for any ``AttentionNeeded`` event not yet made into
   one, and safeguarding items nobody acknowledged in time escalated
   (``bot.safeguarding.desk``).

``DueReport.next_due`` says when the next known piece of work is due.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.burden.pause import paused_until, wait_until
from bot.config import Config
from bot.contact_prefs import Prefs
from bot.conversations import Conversations
from bot.durations import parse_duration
from bot.flows.loader import FlowLibrary
from bot.rounds.burden_limits import WEEK, free_from
from bot.rounds.hooks import ParleyHooks, prefs_for
from bot.rounds.service import RoundService
from bot.rounds.steps import STALE_REMINDER, finish, flow_vars, reminder_times, schedule
from bot.safeguarding.desk import Desk
from bot.scheduler.nudges import flow_nudge_near
from bot.store.base import Store
from bot.store.burden import Usage
from bot.store.records import Changes, Participant
from bot.store.round_records import Round, RoundTarget
from bot.store.rounds_base import StaleWrite
from bot.timing import next_allowed

if TYPE_CHECKING:
    from bot.events.service import EventService

log = logging.getLogger("parley.scheduler")
BATCH = 500
PAUSE_RECHECK = dt.timedelta(minutes=10)
"""How long a flow timer held for a PAUSE waits before the person is looked at again."""


@dataclass
class DueReport:
    timers: int = 0
    spawned: list[str] = field(default_factory=list)
    sent: int = 0
    queued: int = 0
    reminded: int = 0
    skipped_reminders: int = 0
    deferred: int = 0
    closed: int = 0
    final: int = 0
    stale: int = 0
    rounds_closed: list[str] = field(default_factory=list)
    event_reminders: int = 0
    attention: int = 0
    escalated: int = 0
    next_due: dt.datetime | None = None

    @property
    def work(self) -> int:
        return (self.timers + len(self.spawned) + self.sent + self.queued + self.reminded
                + self.skipped_reminders + self.closed + self.final)


class DueWork:
    def __init__(self, *, store: Store, conversations: Conversations, rounds: RoundService,
                 config: Config, library: FlowLibrary, time_budget: float = 20.0) -> None:
        self.store, self.conversations, self.rounds = store, conversations, rounds
        self.config, self.library = config, library
        self.time_budget = time_budget
        self._timer_hold: dict[int, dt.datetime] = {}
        self.events: EventService | None = None
        """Sends events' day-before reminders (set by ``bot.wiring.due_work``)."""
        self.desk = Desk(store=store, config=config, clock=conversations.clock)

    async def due(self, now: dt.datetime) -> DueReport:
        report = DueReport()
        started = time.monotonic()
        await self._timers(now, report)
        report.spawned = [r.id for r in await self.rounds.spawn_due(now)]
        cache: dict[str, Round | None] = {}
        while time.monotonic() - started < self.time_budget:
            batch = await self.store.targets_due(now, BATCH)
            for target in batch:
                await self._advance(target, now, cache, report)
            if len(batch) < BATCH:
                break
        await self._close_rounds(now, report)
        if self.events is not None:
            report.event_reminders = await self.events.due(now)
        report.attention = await self.desk.sync()
        report.escalated = await self.desk.escalate(now)
        report.next_due = await self._next_due(now)
        return report

    # -- flow timers ------------------------------------------------------------------------
    async def _timers(self, now: dt.datetime, report: DueReport) -> None:
        for timer in await self.store.timers_due(now, 2000):
            assert timer.id is not None
            held = self._timer_hold.get(timer.id)
            if held is not None and held > now:
                continue
            person = await self.store.get_participant(timer.participant_id)
            paused = None if person is None else paused_until(person.profile, now)
            if paused is not None:  # no nudges while someone has asked for a break
                self._timer_hold[timer.id] = min(paused, now + PAUSE_RECHECK)
                continue
            if person is not None:
                prefs = prefs_for(person, self.config)
                allowed = next_allowed(now, prefs.timezone, prefs.quiet)
                if allowed > now:
                    self._timer_hold[timer.id] = allowed
                    continue
            self._timer_hold.pop(timer.id, None)
            await self.conversations.fire_timer(timer)
            report.timers += 1

    # -- round targets ------------------------------------------------------------------------
    async def _advance(self, target: RoundTarget, now: dt.datetime,
                       cache: dict[str, Round | None], report: DueReport) -> None:
        if target.round_id not in cache:
            cache[target.round_id] = await self.store.round_get(target.round_id)
        item = cache[target.round_id]
        if item is None or item.status != "running":
            return
        try:
            if target.status == "planned":
                await self._first_send(target, item, now, report)
            elif target.status == "sent":
                await self._reminder(target, item, now, report)
            else:  # queued or consenting: only the close is scheduled
                await self._close(target, now, report)
        except StaleWrite as exc:
            report.stale += 1
            log.info("scheduler: skipped a step already taken elsewhere: %s", exc)

    async def _locked_write(self, target: RoundTarget, changes: Changes | None = None) -> None:
        """Write a target change (no message) under the person's lock."""
        async with self.conversations.hold(target.participant_id):
            unit = changes or Changes()
            unit.targets.append(target)
            await self.store.apply(unit)

    def _defer(self, prefs: Prefs, now: dt.datetime) -> dt.datetime | None:
        allowed = next_allowed(now, prefs.timezone, prefs.quiet, prefs.contact_time)
        return allowed if allowed > now else None

    async def _person(self, target: RoundTarget) -> Participant | None:
        person = await self.store.get_participant(target.participant_id)
        return None if person is None or person.status == "erased" else person

    async def _first_send(self, target: RoundTarget, item: Round, now: dt.datetime,
                          report: DueReport) -> None:
        person = await self._person(target)
        if person is None or person.status == "declined":
            finish(target, "skipped" if person is None else "declined")
            await self._locked_write(target)
            report.final += 1
            return
        later = wait_until(person.profile, now) or self._defer(prefs_for(person, self.config),
                                                                now)
        if later is not None:  # paused (PAUSE), or in their quiet hours
            target.next_at = later
            await self._locked_write(target)
            report.deferred += 1
            return
        addresses = [a for a in await self.store.addresses_of(person.id)
                     if not a.opted_out and not a.unreachable]
        if not addresses:
            every = await self.store.addresses_of(person.id)
            finish(target, "opted_out" if any(a.opted_out for a in every) else "unreachable")
            await self._locked_write(target)
            report.final += 1
            return
        variables = flow_vars(item, target, self.library.get(item.flow_id))
        hooks = self.conversations.hooks
        guard = hooks.first_send(item.id, person.id) if isinstance(hooks, ParleyHooks) \
            else nullcontext()
        with guard:
            outcome = await self.conversations.start_flow(person.id, item.flow_id, variables,
                                                          item.id)
        if outcome == "started":
            report.sent += 1
        else:
            report.queued += 1

    async def _reminder(self, target: RoundTarget, item: Round, now: dt.datetime,
                        report: DueReport) -> None:
        person = await self._person(target)
        assert target.sent_at is not None and target.closes_at is not None
        if person is None or now >= target.closes_at:
            await self._close(target, now, report)
            return
        paused = wait_until(person.profile, now)
        if paused is not None:  # no reminders while someone has asked for a break
            target.next_at = min(paused, target.closes_at)
            await self._locked_write(target)
            report.deferred += 1
            return
        prefs = prefs_for(person, self.config)
        times = reminder_times(item, prefs, target.sent_at)
        due = [k for k in range(max(target.step, 1), len(times) + 1)
               if times[k - 1] <= now and times[k - 1] < target.closes_at]
        if not due:  # woken early (e.g. after a quiet-hours wait): set the next moment
            schedule(target, item, prefs)
            await self._locked_write(target)
            return
        latest = max(due)
        if now - times[latest - 1] > STALE_REMINDER:
            target.step = latest + 1
            schedule(target, item, prefs)
            await self._locked_write(target)
            report.skipped_reminders += len(due)
            return
        later = self._defer(prefs, now) or await self._over_budget(person.id, now)
        if later is not None:  # quiet hours, or over [burden] max_messages_per_week
            target.next_at = min(later, target.closes_at)
            await self._locked_write(target)
            report.deferred += 1
            return
        report.skipped_reminders += len(due) - 1  # at most one reminder per pass
        target.step = latest + 1
        schedule(target, item, prefs)
        window = parse_duration(self.config.schedule.nudge_merge_window)
        if await flow_nudge_near(self.store, person.id, item.id, now, window):
            await self._locked_write(target)  # the flow's own timeout nudges instead
            report.skipped_reminders += 1
            log.info("scheduler: round %s reminder merged into the flow's timeout", item.id)
            return
        sent = await self.conversations.remind(person.id, item.id,
                                               lambda changes: changes.targets.append(target))
        if sent:
            report.reminded += 1
        else:  # nothing waiting for an answer (finished, expired, or another flow first)
            await self._locked_write(target)
            report.skipped_reminders += 1

    async def _over_budget(self, pid: str, now: dt.datetime) -> dt.datetime | None:
        """When one more message keeps this person within ``[burden]
        max_messages_per_week``, if that is later than now. Only round reminders wait
        for it: replies to their own messages, STOP/HELP and safeguarding never do."""
        limit = self.config.burden.max_messages_per_week
        if limit is None:
            return None
        sent = await self.store.burden_messages_of(pid, now - WEEK)
        free = free_from(Usage(messages=sent), now, 1, limit)
        return free if free > now else None

    async def _close(self, target: RoundTarget, now: dt.datetime, report: DueReport) -> None:
        changes = Changes()
        if target.status in ("queued", "consenting"):
            queued = await self.store.queued_flows(target.participant_id)
            changes.queue_remove = [q.id for q in queued
                                    if q.round_id == target.round_id and q.id is not None]
        finish(target, "closed")
        await self._locked_write(target, changes)
        report.closed += 1

    # -- rounds ----------------------------------------------------------------------------
    async def _close_rounds(self, now: dt.datetime, report: DueReport) -> None:
        for item in await self.store.rounds_all():
            if item.status != "running" or item.start_at > now:
                continue
            if await self.store.targets_open(item.id) == 0:
                item.status, item.closed_at = "closed", now
                try:
                    await self.store.round_save(item)
                except StaleWrite:
                    continue
                report.rounds_closed.append(item.id)

    async def _next_due(self, now: dt.datetime) -> dt.datetime | None:
        times = [t for t in [await self.store.next_target_at()] if t is not None]
        timers = await self.store.timers_due(now + dt.timedelta(days=1), 50)
        times += [t.due_at for t in timers
                  if t.id is None or self._timer_hold.get(t.id, now) <= now][:1]
        times += [t for t in self._timer_hold.values() if t > now]
        every_round = await self.store.rounds_all()
        for head in every_round:
            if head.every is not None and head.series_id == head.id and head.status != "cancelled":
                members = [r for r in every_round if r.series_id == head.id]
                n = max(r.occurrence for r in members) + 1
                start = self.rounds.occurrence_start(head, n)
                if head.until is None or start <= head.until:
                    times.append(start)
        escalation = await self.desk.next_escalation()
        if escalation is not None:
            times.append(escalation)
        return min(times, default=None)
