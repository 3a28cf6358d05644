"""Refusing round schedules that cannot do what the coordinator meant.

A repeating round whose ``--until`` is before its start would never repeat, and a
reminder due after the round has closed would never be sent: both are almost always a
typo, so ``rounds create`` says so instead of quietly making a round that surprises.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from bot.durations import parse_duration
from bot.errors import ParleyError
from bot.store.round_records import RoundTarget

SENDABLE = "planned"
"""A preview target that will be sent (others are opted out or unreachable)."""


def check_schedule(start_at: dt.datetime, until_at: dt.datetime | None,
                   reminders: Sequence[str], close_after: str | None) -> None:
    """ParleyError naming the option when the schedule contradicts itself."""
    if until_at is not None and until_at < start_at:
        raise ParleyError(f"--until ({until_at:%Y-%m-%d %H:%M} UTC) is before the start "
                          f"({start_at:%Y-%m-%d %H:%M} UTC): the round would never repeat")
    if close_after is None:
        return
    close = parse_duration(close_after)
    late = [r for r in reminders if parse_duration(r) >= close]
    if late:
        raise ParleyError(f"--remind-after {','.join(late)} is not before --close-after "
                          f"{close_after}: the round closes first, so no one would get "
                          "that reminder")


def will_send(targets: Sequence[RoundTarget]) -> list[RoundTarget]:
    """The targets a round will actually message."""
    return [t for t in targets if t.status == SENDABLE]
