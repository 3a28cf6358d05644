"""Whom an erasure is for: the scope every erasure step reads (``bot/store/erasure.py``
lists the steps; ``erasure_participation.py`` holds some of them)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class Scope:
    """Whom to erase, when, and the secret that replaces their inbox keys."""

    participant_id: str
    at: dt.datetime
    secret: str

    @property
    def params(self) -> dict[str, str]:
        # the store's own time text (UTC, microseconds), so stored times sort as text
        at = self.at.astimezone(dt.UTC).isoformat(timespec="microseconds")
        return {"pid": self.participant_id, "at": at}
