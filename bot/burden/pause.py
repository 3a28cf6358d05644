"""PAUSE [weeks] / RESUME: a person snoozes every round for a while.

The pause is one profile field (``paused_until``, an ISO time), so it is committed
with the reply that confirms it, survives restarts, is shown in the person's data
export and goes with an erasure. Rounds planned for a paused person wait (the
scheduler re-checks, see ``bot.scheduler.due``): RESUME lets them through at once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from bot.keyword_handlers import KeywordCall, register
from bot.timing import zone

PAUSED_UNTIL = "paused_until"
DEFAULT_WEEKS = 2
RECHECK = dt.timedelta(hours=6)
"""How often a round waiting for a paused person looks again (RESUME takes effect by
then at the latest)."""


def paused_until(profile: Mapping[str, object], now: dt.datetime) -> dt.datetime | None:
    """When this person's pause ends, or None when they are not paused now."""
    raw = profile.get(PAUSED_UNTIL)
    if not isinstance(raw, str):
        return None
    try:
        until = dt.datetime.fromisoformat(raw)
    except ValueError:
        return None
    return until if until > now else None


def wait_until(profile: Mapping[str, object], now: dt.datetime) -> dt.datetime | None:
    """When a round held back by a pause should look again, or None if not paused."""
    until = paused_until(profile, now)
    return None if until is None else min(until, now + RECHECK)


def date_text(moment: dt.datetime, tz: str, order: str) -> str:
    local = moment.astimezone(zone(tz)).date()
    parts = {"D": f"{local.day:02d}", "M": f"{local.month:02d}", "Y": str(local.year)}
    return "/".join(parts[c] for c in order)


@register("pause")
async def pause(call: KeywordCall) -> bool:
    limit = call.config.burden.max_pause_weeks
    weeks = int(call.args[0]) if call.args else DEFAULT_WEEKS
    weeks = max(1, min(weeks, limit))
    until = call.now + dt.timedelta(weeks=weeks)
    call.participant.profile[PAUSED_UNTIL] = until.isoformat()
    tz = call.participant.timezone or call.config.schedule.timezone
    call.say("burden.paused", weeks=weeks,
             until=date_text(until, tz, call.config.project.date_order))
    return True


@register("resume")
async def resume(call: KeywordCall) -> bool:
    was = paused_until(call.participant.profile, call.now)
    call.participant.profile.pop(PAUSED_UNTIL, None)
    call.say("burden.resumed" if was is not None else "burden.not_paused")
    return True
