"""Per-person limits applied when a round is planned (``[burden]``).

- ``max_rounds_per_month``: someone already reached by that many rounds within 30 days
  either side of this round's send is **left out** of it (target ``skipped``, reason
  kept in the target's ``_burden`` variable), so a busy month never stacks up.
- ``max_messages_per_week``: someone whose last 7 days of messages plus this flow's
  own messages would pass the limit is **delayed** until enough of those messages are a
  week old (then moved out of their quiet hours, as any send is). A flow longer than
  the limit by itself waits for a week with no messages at all.
- People who said PAUSE are not changed here: the scheduler holds their send until the
  pause ends (``bot.scheduler.due``), so RESUME works at once. They are listed in the
  report, so a dry run shows who will get the round late.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.burden.pause import paused_until
from bot.config import Config
from bot.contact_prefs import prefs_of
from bot.rounds.steps import finish
from bot.store.burden import BurdenStore, Usage
from bot.store.records import Participant
from bot.store.round_records import Candidate, Round, RoundTarget
from bot.timing import next_allowed

WEEK = dt.timedelta(days=7)
MONTH = dt.timedelta(days=30)
REASON = "_burden"
LEFT_OUT_ROUNDS = "rounds_per_month"
DELAYED_MESSAGES = "messages_per_week"


@dataclass
class BurdenReport:
    """What the limits did to one round's plan."""

    left_out: list[str] = field(default_factory=list)
    delayed: list[tuple[str, dt.datetime]] = field(default_factory=list)
    paused: list[tuple[str, dt.datetime]] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.left_out or self.delayed or self.paused)


def rounds_near(usage: Usage | None, round_id: str, at: dt.datetime) -> int:
    if usage is None:
        return 0
    return sum(1 for rid, when in usage.rounds if rid != round_id and abs(when - at) < MONTH)


def free_from(usage: Usage | None, at: dt.datetime, needed: int, limit: int) -> dt.datetime:
    """The first moment at or after ``at`` when ``needed`` more messages keep the last 7
    days within ``limit``."""
    if usage is None:
        return at
    recent = sorted(m for m in usage.messages if at - WEEK < m <= at)
    drop = len(recent) + needed - limit
    if drop <= 0:
        return at
    drop = min(drop, len(recent))  # a flow longer than the limit waits for a clear week
    return recent[drop - 1] + WEEK


async def apply_limits(store: BurdenStore, config: Config, item: Round,
                       targets: Sequence[RoundTarget], flow_messages: int,
                       people: Sequence[Candidate]) -> BurdenReport:
    """Leave out or delay the planned targets over their budget (changed in place)."""
    report = BurdenReport()
    limits = config.burden
    planned = [t for t in targets if t.status == "planned"]
    if planned and (limits.max_rounds_per_month or limits.max_messages_per_week):
        first = min(t.send_at for t in planned)
        last = max(t.send_at for t in planned)
        usage = await store.burden_usage(first - WEEK, first - MONTH, last + MONTH)
        by_id = {c.id: c for c in people}
        for target in planned:
            _limit_one(target, usage.get(target.participant_id), item, config, flow_messages,
                       report, by_id.get(target.participant_id))
    return report


def note_paused(report: BurdenReport, targets: Sequence[RoundTarget],
                people: Sequence[Participant], now: dt.datetime) -> None:
    """Add the people whose pause will hold this round back (for a dry run)."""
    wanted = {t.participant_id: t.send_at for t in targets if t.status == "planned"}
    for person in people:
        if person.id in wanted:
            until = paused_until(person.profile, max(wanted[person.id], now))
            if until is not None:
                report.paused.append((person.id, until))


def _limit_one(target: RoundTarget, usage: Usage | None, item: Round, config: Config,
               flow_messages: int, report: BurdenReport, person: Candidate | None) -> None:
    limits = config.burden
    if (limits.max_rounds_per_month is not None and
            rounds_near(usage, item.id, target.send_at) >= limits.max_rounds_per_month):
        finish(target, "skipped")
        target.vars[REASON] = LEFT_OUT_ROUNDS
        report.left_out.append(target.participant_id)
        return
    if limits.max_messages_per_week is None:
        return
    free = free_from(usage, target.send_at, flow_messages, limits.max_messages_per_week)
    if free <= target.send_at:
        return
    prefs = prefs_of(person.timezone, person.quiet_hours, person.contact_time, config) \
        if person is not None else prefs_of(None, None, None, config)
    later = next_allowed(free, prefs.timezone, prefs.quiet, prefs.contact_time)
    target.send_at = target.next_at = later
    target.vars[REASON] = DELAYED_MESSAGES
    report.delayed.append((target.participant_id, later))


def describe(report: BurdenReport, config: Config) -> list[str]:
    """Plain lines for a dry run: who the limits and pauses affect, and why."""
    lines = []
    limits = config.burden
    if report.left_out:
        lines.append(f"Left out (already {limits.max_rounds_per_month} round(s) within 30 "
                     f"days, [burden] max_rounds_per_month): {len(report.left_out)}: "
                     + ", ".join(report.left_out[:20]))
    if report.delayed:
        lines.append(f"Delayed (over {limits.max_messages_per_week} messages in 7 days, "
                     f"[burden] max_messages_per_week): {len(report.delayed)}: "
                     + ", ".join(f"{pid} to {at:%d %b %H:%M} UTC"
                                 for pid, at in report.delayed[:20]))
    if report.paused:
        lines.append(f"Paused (they replied PAUSE; they get it when the pause ends or they "
                     f"reply RESUME): {len(report.paused)}: "
                     + ", ".join(f"{pid} until {at:%d %b}" for pid, at in report.paused[:20]))
    return lines


def planned_effects(targets: Sequence[RoundTarget]) -> dict[str, int]:
    """How many of a planned round's people the limits left out or delayed."""
    reasons = [t.vars.get(REASON) for t in targets]
    return {"left_out": reasons.count(LEFT_OUT_ROUNDS),
            "delayed": reasons.count(DELAYED_MESSAGES)}
