"""Whom an erasure is for: the scope every erasure step reads (``bot/store/erasure.py``
lists the steps; ``erasure_participation.py`` holds some of them)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class Scope:
    """Whom to erase, and what the steps need to find their rows."""

    participant_id: str
    at: dt.datetime
    secret: str
    addresses: frozenset[str] = frozenset()
    sessions: frozenset[str] = frozenset()
    outbox_ids: frozenset[int] = frozenset()

    @property
    def params(self) -> dict[str, str]:
        # the store's own time text (UTC, microseconds), so stored times sort as text
        at = self.at.astimezone(dt.UTC).isoformat(timespec="microseconds")
        return {"pid": self.participant_id, "at": at}
