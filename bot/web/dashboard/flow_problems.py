"""The dashboard's notice of problems in flows' content found at run time (issue #11).

A template that fails to render (a name it uses is undefined) no longer drops its
message: the person gets a fallback text, and the engine records ``FlowErrored``. This
gathers the recent ones so a coordinator sees them on the overview and can fix the
template (``parley flows validate`` then names the file and line).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from bot.store.base import Store

RECENT = dt.timedelta(days=7)


@dataclass(frozen=True)
class FlowProblem:
    message: str
    node: str
    count: int
    last_at: dt.datetime


async def recent_flow_problems(store: Store, now: dt.datetime) -> list[FlowProblem]:
    """Distinct problems of the last week, most recent first."""
    found: dict[tuple[str, str], FlowProblem] = {}
    for event in await store.events(name="FlowErrored"):
        if event.at < now - RECENT:
            continue
        node, message = str(event.payload.get("node", "")), str(event.payload.get("message", ""))
        seen = found.get((node, message))
        found[(node, message)] = FlowProblem(
            message, node, (seen.count if seen else 0) + 1,
            max(event.at, seen.last_at) if seen else event.at)
    return sorted(found.values(), key=lambda p: p.last_at, reverse=True)
