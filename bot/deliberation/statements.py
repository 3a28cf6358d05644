"""Deliberation statements: written by participants (``statement`` nodes) or seeded by
coordinators, moderated before anyone sees them, then put to a round's participants.

A statement is a ``StatementWritten`` event (``T<event id>``; erasure blanks its text
with the author's other events); approval is a decision in the same table as
suggestions' (``SuggestionDecision``: accepted = approved), which names nobody.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Literal

from bot.errors import ParleyError
from bot.store.base import Store
from bot.store.participation import SuggestionDecision
from bot.store.records import Changes, EventRow

SLOTS = 5
"""Statements one round puts to each person: a few, one at a time, by SMS."""
Status = Literal["pending", "approved", "rejected"]


class StatementError(ParleyError):
    """A moderation command that cannot be carried out."""


@dataclass(frozen=True)
class Statement:
    id: int
    text: str
    author: str | None
    at: dt.datetime
    status: Status

    @property
    def code(self) -> str:
        return f"T{self.id}"


def statement_id(code: str) -> int:
    found = re.fullmatch(r"[Tt]?(\d+)", code.strip())
    if found is None:
        raise StatementError(f"'{code}' is not a statement id (like T12)")
    return int(found.group(1))


class Statements:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def all(self) -> list[Statement]:
        decisions = await self.store.suggestion_decisions()
        out = []
        for event in await self.store.events(name="StatementWritten"):
            text = str(event.payload.get("text") or "")
            if event.id is None or not text:
                continue
            decision = decisions.get(event.id)
            status: Status = ("pending" if decision is None else
                              "approved" if decision.status == "accepted" else "rejected")
            out.append(Statement(event.id, text, event.participant_id, event.at, status))
        return out

    async def get(self, code: str) -> Statement:
        wanted = statement_id(code)
        found = next((s for s in await self.all() if s.id == wanted), None)
        if found is None:
            raise StatementError(f"no statement T{wanted}")
        return found

    async def add(self, text: str, now: dt.datetime, by: str = "") -> Statement:
        """A coordinator's seed statement, approved at once (Pol.is starts with a few)."""
        if not text.strip():
            raise StatementError("the statement is empty")
        await self.store.apply(Changes(events=[EventRow(
            None, None, "StatementWritten", {"node": None, "text": text.strip()[:280],
                                             "locale": "en"}, now)]))
        newest = max((s for s in await self.all()), key=lambda s: s.id)
        await self.decide(newest.code, True, now, by)
        return await self.get(newest.code)

    async def decide(self, code: str, approve: bool, now: dt.datetime, by: str = "",
                     reason: str | None = None) -> Statement:
        found = await self.get(code)
        await self.store.decide_suggestion(SuggestionDecision(
            found.id, "accepted" if approve else "rejected", now, reason=reason,
            decided_by=by))
        return await self.get(code)

    async def round_vars(self, used: dict[int, int]) -> dict[str, str]:
        """Up to ``SLOTS`` approved statements, those put to people least so far first
        (``used``: statement id -> rounds it was in), as ``s1``… and ``s1_id``…"""
        approved = [s for s in await self.all() if s.status == "approved"]
        if not approved:
            raise StatementError("no approved statements yet: approve some "
                                 "(parley statements approve ID) or add your own "
                                 "(parley statements add TEXT)")
        approved.sort(key=lambda s: (used.get(s.id, 0), s.id))
        out: dict[str, str] = {"statements": str(min(len(approved), SLOTS))}
        for slot, statement in enumerate(approved[:SLOTS], start=1):
            out[f"s{slot}"] = statement.text
            out[f"s{slot}_id"] = statement.code
        return out
