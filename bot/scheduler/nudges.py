"""One nudge, not two: a round reminder gives way to the flow's own timeout.

A flow may nudge by itself (``timeout = { after = "2d", next = "nudge" }``) and a round
may remind (``--remind-after 2d``). With both at the same moment — the README's own
example — a person got two reminders back to back (issue #11). When they fall due
within ``[schedule] nudge_merge_window`` (default ``"6h"``) of each other, **the flow's
timeout wins**: it is part of the conversation the flow's author wrote (it may branch,
rephrase or ask something else), while the round reminder only repeats the question.
So the round reminder is skipped (counted as skipped) when the person's session has a
timeout due within the window ahead, or one fired within the window before.
"""

from __future__ import annotations

import datetime as dt

from bot.store.base import Store


async def flow_nudge_near(store: Store, participant_id: str, round_id: str,
                          now: dt.datetime, window: dt.timedelta) -> bool:
    """Whether the session of ``round_id`` this person is in nudges them by itself
    within ``window`` of ``now`` (so a round reminder now would be a second nudge)."""
    session = await store.active_session(participant_id)
    if session is None or session.round_id != round_id:
        return False
    for timer in await store.timers_of(session.id):
        if timer.kind == "timeout" and timer.due_at <= now + window:
            return True
    since = now - window
    return any(e.session_id == session.id and e.at >= since
               for e in await store.events(participant_id=participant_id, name="TimedOut"))
