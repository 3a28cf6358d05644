"""The steps of one person's round, counted from their own send.

``step`` 0 is the first send; 1..R are the reminders (``--remind-after 2d,5d`` → R = 2);
R+1 is the close. Each reminder falls at ``sent_at + d`` in the person's time zone
(whole days keep the wall-clock time), moved out of their quiet hours; a reminder that
would fall after the close is dropped.
"""

from __future__ import annotations

import datetime as dt

from bot.contact_prefs import Prefs
from bot.conversations import EXPIRE_VAR
from bot.durations import parse_duration
from bot.flows.models import Flow
from bot.store.round_records import Round, RoundTarget, TargetStatus
from bot.timing import add_local, next_allowed

STALE_REMINDER = dt.timedelta(hours=36)
"""A reminder whose moment passed longer ago than this (the server was down) is skipped."""


LATE_GRACE = dt.timedelta(days=2)
"""After a round closes for someone, their conversation stays open this long, so a late
answer is kept (and marked late) rather than turned away."""


def flow_vars(item: Round, target: RoundTarget, flow: Flow) -> dict[str, str]:
    """What a round passes to its flow: the round's and the person's variables, and a
    session life long enough to outlast the close."""
    out = {**item.vars, **target.vars}
    life = parse_duration(item.close_after or flow.expire_after) + LATE_GRACE
    if life > flow.expiry:
        out[EXPIRE_VAR] = f"{int(life.total_seconds())}s"
    return out


def reminder_times(item: Round, prefs: Prefs, sent_at: dt.datetime) -> list[dt.datetime]:
    return [next_allowed(add_local(sent_at, after, prefs.timezone), prefs.timezone,
                         prefs.quiet, prefs.contact_time) for after in item.remind_after]


def close_time(item: Round, flow: Flow, prefs: Prefs, sent_at: dt.datetime) -> dt.datetime:
    """``--close-after`` from the person's send (default: the flow's ``expire_after``)."""
    return add_local(sent_at, item.close_after or flow.expire_after, prefs.timezone)


def schedule(target: RoundTarget, item: Round, prefs: Prefs) -> None:
    """Set ``next_at`` for ``target.step`` (moving past reminders that fall after the
    close)."""
    assert target.sent_at is not None and target.closes_at is not None
    times = reminder_times(item, prefs, target.sent_at)
    step = max(target.step, 1)
    while step <= len(times) and times[step - 1] >= target.closes_at:
        step += 1
    target.step = step
    target.next_at = times[step - 1] if step <= len(times) else target.closes_at


def after_send(target: RoundTarget, item: Round, flow: Flow, prefs: Prefs,
               now: dt.datetime) -> None:
    """The round's flow began for this person now: reminders and close count from here."""
    target.status, target.sent_at = "sent", now
    target.closes_at = close_time(item, flow, prefs, now)
    target.step = 1
    schedule(target, item, prefs)


def finish(target: RoundTarget, status: TargetStatus, now: dt.datetime | None = None) -> None:
    """No more steps for this person in this round."""
    target.status = status
    target.next_at = None
    if status == "completed":
        target.completed_at = now
