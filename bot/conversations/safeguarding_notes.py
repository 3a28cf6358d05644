"""Recording that a message needs a person, inside the conversation's own transaction.

``Conversations`` calls ``note`` with the unit's ``Changes``: the ``AttentionNeeded``
event commits with the message that caused it (or not at all), and ``desk`` turns it
into an inbox item and alerts. It is kept even before consent: a request for help is
the minimum needed to answer someone.
"""

from __future__ import annotations

import datetime as dt

from bot.store.attention import EVENT, AttentionKind
from bot.store.records import Changes, EventRow

MAX_TEXT = 2000
"""Longer messages are cut: the inbox shows what someone wrote, not a document."""


def note(changes: Changes, participant_id: str, channel: str, kind: AttentionKind,
         text: str, now: dt.datetime) -> None:
    """Add one ``AttentionNeeded`` event (at most one per unit: distress wins)."""
    for event in changes.events:
        if event.name == EVENT:
            if kind == "distress":
                event.payload["kind"] = "distress"
            return
    changes.events.append(EventRow(participant_id, None, EVENT,
                                   {"kind": kind, "channel": channel,
                                    "text": text[:MAX_TEXT]}, now))


def has_distress(changes: Changes) -> bool:
    """Whether the engine flagged an answer in this unit (``DistressFlagged``)."""
    return any(e.name == "DistressFlagged" for e in changes.events)
