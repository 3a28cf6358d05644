"""Moderating suggestions, turning the accepted ones into a vote, telling suggesters.

A suggestion is a ``SuggestionMade`` event (``S<event id>`` to coordinators); its
decision is a ``SuggestionDecision``. Every decision sends its suggester a message in
their own language through the outbox ("taken up", "merged with …", "not this time,
because …"), so they learn what became of it even if they never vote.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from bot.agenda.notify import tell
from bot.config import Config
from bot.conversations.safeguarding_phrases import flagged_phrase
from bot.engine.options_from import encode
from bot.errors import ParleyError
from bot.i18n.renderer import Renderer
from bot.store.base import Store
from bot.store.participation import SuggestionDecision
from bot.store.records import Participant

Status = Literal["pending", "accepted", "merged", "rejected"]
QUOTE = 40
"""How much of a suggestion its suggester is reminded of (one SMS segment in all)."""


class SuggestionError(ParleyError):
    """A moderation command that cannot be carried out (unknown id, wrong state)."""


@dataclass(frozen=True)
class Suggestion:
    id: int
    participant_id: str
    text: str
    locale: str
    at: dt.datetime
    decision: SuggestionDecision | None

    @property
    def code(self) -> str:
        return f"S{self.id}"

    @property
    def status(self) -> Status:
        return "pending" if self.decision is None else self.decision.status

    @property
    def label(self) -> str:
        """The option text a vote shows."""
        return (self.decision.label if self.decision and self.decision.label
                else self.text)[:60]


def suggestion_id(code: str) -> int:
    found = re.fullmatch(r"[Ss]?(\d+)", code.strip())
    if found is None:
        raise SuggestionError(f"'{code}' is not a suggestion id (like S12)")
    return int(found.group(1))


def _quote(text: str) -> str:
    return text if len(text) <= QUOTE else text[:QUOTE - 3].rstrip() + "..."


class Suggestions:
    def __init__(self, store: Store, renderer: Renderer, config: Config) -> None:
        self.store, self.renderer, self.config = store, renderer, config

    async def all(self) -> list[Suggestion]:
        """Every suggestion still holding its text (erased people's are gone)."""
        decisions = await self.store.suggestion_decisions()
        out = []
        for event in await self.store.events(name="SuggestionMade"):
            text = str(event.payload.get("text") or "")
            if event.id is None or not text or event.participant_id is None:
                continue
            out.append(Suggestion(event.id, event.participant_id, text,
                                  str(event.payload.get("locale") or "en"), event.at,
                                  decisions.get(event.id)))
        return out

    async def get(self, code: str) -> Suggestion:
        wanted = suggestion_id(code)
        found = next((s for s in await self.all() if s.id == wanted), None)
        if found is None:
            raise SuggestionError(f"no suggestion S{wanted}")
        return found

    async def accept(self, code: str, now: dt.datetime, *, label: str | None = None,
                     by: str = "") -> Suggestion:
        found = await self.get(code)
        decision = SuggestionDecision(found.id, "accepted", now, label=label, decided_by=by)
        await self._decide(found, decision, "agenda.accepted", now)
        return found

    async def merge(self, code: str, into: str, now: dt.datetime, *, by: str = "") -> Suggestion:
        found, kept = await self.get(code), await self.get(into)
        if found.id == kept.id:
            raise SuggestionError("a suggestion cannot be merged into itself")
        if kept.status in ("merged", "rejected"):
            raise SuggestionError(f"{kept.code} is {kept.status}: merge into an accepted or "
                                  "pending suggestion")
        if kept.status == "pending":  # merging into it takes it up too
            await self.accept(kept.code, now, by=by)
        decision = SuggestionDecision(found.id, "merged", now, merged_into=kept.id,
                                      decided_by=by)
        await self._decide(found, decision, "agenda.merged", now, other=_quote(kept.label))
        return found

    async def reject(self, code: str, reason: str, now: dt.datetime, *,
                     by: str = "") -> Suggestion:
        if not reason.strip():
            raise SuggestionError("say why (--reason): the suggester is told")
        found = await self.get(code)
        decision = SuggestionDecision(found.id, "rejected", now, reason=reason.strip(),
                                      decided_by=by)
        await self._decide(found, decision, "agenda.rejected", now, reason=reason.strip())
        return found

    async def vote_options(self, spec: str) -> tuple[str, list[int]]:
        """The ``options`` variable of a vote on accepted suggestions (``all`` or
        ``S1,S2``), and their ids; SuggestionError when fewer than two qualify."""
        accepted = [s for s in await self.all() if s.status == "accepted"]
        if spec.strip().lower() != "all":
            wanted = [suggestion_id(part) for part in spec.split(",") if part.strip()]
            by_id = {s.id: s for s in accepted}
            missing = [f"S{i}" for i in wanted if i not in by_id]
            if missing:
                raise SuggestionError(f"not accepted (or unknown): {', '.join(missing)}")
            accepted = [by_id[i] for i in wanted]
        if len(accepted) < 2:
            raise SuggestionError(f"a vote needs at least 2 accepted suggestions, "
                                  f"found {len(accepted)}")
        if len(accepted) > 12:
            raise SuggestionError("a vote takes at most 12 options: name them (S1,S2,…)")
        return encode([(s.code.lower(), s.label) for s in accepted]), [s.id for s in accepted]

    async def _decide(self, found: Suggestion, decision: SuggestionDecision, key: str,
                      now: dt.datetime, **extra: str) -> None:
        await self.store.decide_suggestion(decision)
        person = await self.store.get_participant(found.participant_id)
        if person is None or person.status == "erased":
            return
        await self._tell(person, found, key, now, **extra)

    async def _tell(self, person: Participant, found: Suggestion, key: str,
                    now: dt.datetime, **extra: str) -> None:
        """The suggester's message, in their language, to their reachable address."""
        # words flagged for distress are never quoted back in an automated message
        flagged = flagged_phrase(found.text, self.config.safeguarding.phrases) is not None
        await tell(self.store, self.renderer, self.config, person, key, now,
                   ("SuggestionOutcomeSent", {"suggestion": found.code,
                                              "outcome": key.split(".")[-1]}),
                   text="" if flagged else _quote(found.text), **extra)


def decided_counts(found: Sequence[Suggestion]) -> dict[str, int]:
    counts = {"pending": 0, "accepted": 0, "merged": 0, "rejected": 0}
    for s in found:
        counts[s.status] += 1
    return counts
