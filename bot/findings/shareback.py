"""Share-back: telling *everyone* what was heard and what changed, and telling each
commenter what became of their comment.

- ``shareback_vars``: a round of the ``shareback`` flow (to the whole audience, not only
  those who commented) with the endorsement counts of a finding, the main change asked
  for (the coordinator's words) and what changed (the ``## What we changed`` of the
  version that replaced it), with every translation, so each person reads it in their
  language.
- ``decide_comment``: taken up / partly / not, with a reason, sent to the comment's author
  in their language through the outbox; the decision is a ``CommentDecided`` event of
  the author's, committed with the message.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Literal

from bot.agenda.notify import tell
from bot.config import Config
from bot.errors import ParleyError
from bot.findings.summary import lineage, summarise
from bot.i18n.renderer import Renderer
from bot.store.base import Store
from bot.store.round_records import Finding
from bot.store.rounds_base import RoundsStore

Outcome = Literal["taken", "partly", "not"]
OUTCOMES: tuple[str, ...] = ("taken", "partly", "not")


@dataclass(frozen=True)
class Comment:
    id: int
    participant_id: str
    words: str
    view: str | None
    decision: str | None
    reason: str | None

    @property
    def code(self) -> str:
        return f"C{self.id}"


async def _finding(store: RoundsStore, finding_id: str) -> Finding:
    found = await store.finding_get(finding_id)
    if found is None:
        raise ParleyError(f"no finding '{finding_id}'")
    return found


async def shareback_vars(store: Store, finding_id: str, asked: str = "",
                         asked_translations: dict[str, str] | None = None) -> dict[str, str]:
    finding = await _finding(store, finding_id)
    counts = (await summarise(store, finding)).counts
    answered = sum(counts.values())
    if not answered:
        raise ParleyError(f"nobody has answered on {finding_id} yet: nothing to share back")
    later = [f for f in await lineage(store, finding_id) if f.replaces == finding.id]
    out = {"title": finding.title, "answered": str(answered), "agreed": str(counts["agree"]),
           "partly": str(counts["partly"]), "disagreed": str(counts["disagree"]),
           "asked": asked.strip(), "changed": later[0].changes if later else ""}
    for locale, t in (await store.finding_translations(finding.id)).items():
        out[f"title_{locale}"] = t.title
    if later:
        for locale, t in (await store.finding_translations(later[0].id)).items():
            if t.changes:
                out[f"changed_{locale}"] = t.changes
    for locale, text in (asked_translations or {}).items():
        out[f"asked_{locale}"] = text.strip()
    return out


async def comments(store: Store, finding_id: str) -> list[Comment]:
    """Every comment on the finding (its rounds' ``amendment`` answers), with any
    decision already sent."""
    finding = await _finding(store, finding_id)
    rounds = {r.id for r in await store.rounds_all() if r.finding_id == finding.id}
    decided = {e.payload.get("comment"): e.payload for e in
               await store.events(name="CommentDecided")}
    out = []
    views: dict[str, str] = {}
    for answer in await store.answers():
        if answer.round_id not in rounds:
            continue
        if answer.field == "endorse" and isinstance(answer.value, str):
            views[answer.participant_id] = answer.value
        if answer.field == "amendment" and isinstance(answer.value, str) and answer.value:
            assert answer.id is not None
            out.append((answer.id, answer.participant_id, answer.value))
    result = []
    for cid, pid, words in out:
        d = decided.get(f"C{cid}", {})
        result.append(Comment(cid, pid, words, views.get(pid), d.get("outcome"),
                              d.get("reason")))
    return result


async def decide_comment(store: Store, renderer: Renderer, config: Config,
                         finding_id: str, code: str, outcome: str, reason: str,
                         now: dt.datetime) -> Comment:
    if outcome not in OUTCOMES:
        raise ParleyError(f"--outcome must be one of {', '.join(OUTCOMES)}")
    if not reason.strip():
        raise ParleyError("--reason: say why, in plain words (the author reads it)")
    wanted = re.fullmatch(r"[Cc]?(\d+)", code.strip())
    found = next((c for c in await comments(store, finding_id)
                  if wanted and c.id == int(wanted.group(1))), None)
    if found is None:
        raise ParleyError(f"no comment '{code}' on {finding_id} (see: findings comments)")
    finding = await _finding(store, finding_id)
    person = await store.get_participant(found.participant_id)
    titles = await store.finding_translations(finding.id)
    locale = person.locale if person is not None else ""
    title = titles[locale].title if locale in titles else finding.title
    event = ("CommentDecided", {"comment": found.code, "finding": finding.id,
                                "outcome": outcome, "reason": reason.strip()})
    if person is None or not await tell(store, renderer, config, person,
                                        f"shareback.comment_{outcome}", now, event,
                                        title=title, reason=reason.strip()):
        raise ParleyError(f"{found.code}: its author can no longer be reached")
    return Comment(found.id, found.participant_id, found.words, found.view, outcome,
                   reason.strip())
