"""What people said about each version of a finding, and who commented.

Per version: agree / partly / disagree counts, each person's comment (they agreed and
added something) or proposed amendment (they partly agreed or disagreed) side by side,
and the co-authors who asked to be named. People who chose to stay anonymous are shown
as A1, A2…
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from bot.store.base import Store
from bot.store.round_records import Finding
from bot.store.rounds_base import RoundsStore

VIEWS = ("agree", "partly", "disagree")


@dataclass
class Response:
    participant_id: str
    who: str
    view: str | None
    words: str
    named: bool
    late: bool = False

    @property
    def comment(self) -> str:
        """Words from someone who agreed: an addition, not a change."""
        return self.words if self.view == "agree" else ""

    @property
    def amendment(self) -> str:
        """Words from someone who partly agreed or disagreed: a proposed change."""
        return self.words if self.view != "agree" else ""


@dataclass
class VersionSummary:
    finding: Finding
    rounds: list[str]
    responses: list[Response] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        seen = Counter(r.view for r in self.responses if r.view)
        return {view: seen.get(view, 0) for view in VIEWS}

    @property
    def coauthors(self) -> list[str]:
        return [r.who for r in self.responses if r.named]


async def _answers_by_person(store: Store, round_ids: list[str]
                             ) -> dict[str, dict[str, tuple[object, bool]]]:
    """participant → field → (latest value, late)."""
    found: dict[str, dict[str, tuple[object, bool]]] = {}
    for rid in round_ids:
        for a in await store.answers(round_id=rid):
            if a.field is None:
                continue
            found.setdefault(a.participant_id, {})[a.field] = (
                None if a.skipped else a.value, a.late)
    return found


async def summarise(store: Store, finding: Finding) -> VersionSummary:
    rounds = [r.id for r in await store.rounds_all() if r.finding_id == finding.id]
    summary = VersionSummary(finding, rounds)
    anonymous = 0
    for pid, fields in (await _answers_by_person(store, rounds)).items():
        view, late = fields.get("endorse", (None, False))
        words = fields.get("amendment", (None, False))[0]
        named = fields.get("credit", (None, False))[0] == "named"
        person = await store.get_participant(pid)
        if named and person is not None:
            who = str(person.profile.get("preferred_name") or person.name or pid)
        else:
            anonymous += 1
            who = f"A{anonymous}"
        summary.responses.append(Response(pid, who, None if view is None else str(view),
                                          str(words or "").strip(), named, late))
    return summary


async def lineage(store: RoundsStore, finding_id: str) -> list[Finding]:
    """Every version of the finding ``finding_id`` belongs to, oldest first."""
    every = await store.findings_all()
    found = next((f for f in every if f.id == finding_id), None)
    if found is None:
        return []
    return sorted((f for f in every if f.lineage == found.lineage), key=lambda f: f.version)


async def flagged_words(store: Store) -> set[tuple[str, str]]:
    """(participant, words) of every answer a safeguarding phrase flagged: never quoted
    back to the person in an automated message (DESIGN §2, Distress)."""
    found: set[tuple[str, str]] = set()
    for event in await store.events(name="DistressFlagged"):
        if event.participant_id is None or event.session_id is None:
            continue
        for a in await store.answers(participant_id=event.participant_id):
            if a.session_id == event.session_id and a.node == event.payload.get("node"):
                found.add((a.participant_id, str(a.value or "").strip()))
    return found


async def commenters(store: Store, finding: Finding) -> dict[str, str]:
    """People who commented on an earlier version → their latest words (for "you said,
    we did" when this version is sent back to them); "" for words that were flagged,
    so the person still gets the new version but without their words quoted."""
    said: dict[str, str] = {}
    for version in await lineage(store, finding.id):
        if version.version >= finding.version:
            continue
        for response in (await summarise(store, version)).responses:
            if response.words:
                said[response.participant_id] = response.words
    if said:
        flagged = await flagged_words(store)
        said = {pid: "" if (pid, words) in flagged else words for pid, words in said.items()}
    return said
