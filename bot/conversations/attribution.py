"""Which round caused a message: introductions and consent count to the round too.

A round's flow for someone who never consented waits in their queue while Parley
introduces itself and asks for consent (DESIGN §2). Those messages come from the
pathway's own sessions, which belong to no round, so before issue #11 a round that
introduced itself to 2,394 imported people reported 0 messages sent. Here, when a unit
of work commits, every message without a round that is an introduction, a consent or
pathway question, or a system reply sent while a round's flow is waiting for that
person, is attributed to the oldest such round (``rounds status`` then counts it).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Mapping

from bot.engine.session import Session
from bot.store.records import OutboxItem, QueuedFlow


def unattributed(rows: list[OutboxItem], sessions: Mapping[str, Session],
                 pathway: Collection[str]) -> list[OutboxItem]:
    """Rows with no round that an introduction or the pathway sent: system messages (no
    session) and messages of a pathway flow's session."""
    found: list[OutboxItem] = []
    for row in rows:
        if row.round_id is not None:
            continue
        session_id = row.payload.get("session_id")
        if session_id is None:
            found.append(row)
            continue
        session = sessions.get(str(session_id))
        if session is not None and session.flow_id in pathway:
            found.append(row)
    return found


async def attribute_to_waiting_round(
        rows: list[OutboxItem], sessions: Mapping[str, Session], pathway: Collection[str],
        pushed: list[QueuedFlow], load_queue: Callable[[], Awaitable[list[QueuedFlow]]],
) -> str | None:
    """Stamp the oldest waiting round's id on ``rows`` it caused; returns that round."""
    candidates = unattributed(rows, sessions, pathway)
    if not candidates:
        return None
    waiting = [q for q in [*await load_queue(), *pushed] if q.round_id is not None]
    if not waiting:
        return None
    round_id = waiting[0].round_id
    for row in candidates:
        row.round_id = round_id
    return round_id
