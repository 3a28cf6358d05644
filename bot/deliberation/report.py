"""The deliberation report of one round: per statement agree / disagree / pass,
consensus and divisive statements, and the opinion groups with their cohorts.

``--json`` is part of the public contract: ``{"round", "participants", "statements":
[{"id", "text", "agree", "disagree", "pass", "consensus", "divisive"}], "groups":
[{"id", "size", "by_cohort"}]}``. A statement's slot answer (``s1``…) is a vote; a
skipped slot (PASS/SKIP) is a pass.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bot.deliberation.groups import analyse
from bot.deliberation.statements import SLOTS, Statements
from bot.errors import ParleyError
from bot.store.base import Store

VOTE = {"agree": 1.0, "disagree": -1.0, "pass": 0.0}


async def report(store: Store, round_id: str) -> dict[str, Any]:
    item = await store.round_get(round_id)
    if item is None:
        raise ParleyError(f"no round '{round_id}'")
    slots = {f"s{n}": item.vars[f"s{n}_id"] for n in range(1, SLOTS + 1)
             if f"s{n}_id" in item.vars}
    if not slots:
        raise ParleyError(f"round {round_id} is not a statements round")
    texts = {s.code: s.text for s in await Statements(store).all()}
    codes = sorted(set(slots.values()), key=lambda c: int(c[1:]))
    column = {code: i for i, code in enumerate(codes)}
    rows: dict[str, dict[int, float]] = {}
    for answer in await store.answers():
        if answer.round_id != round_id or answer.field not in slots:
            continue
        if not answer.skipped and answer.value is None:
            continue  # an erased person's answer
        vote = 0.0 if answer.skipped else VOTE.get(str(answer.value), 0.0)
        rows.setdefault(answer.participant_id, {})[column[slots[answer.field]]] = vote
    people = sorted(rows)
    matrix = np.zeros((len(people), len(codes)))
    for r, pid in enumerate(people):
        for c, vote in rows[pid].items():
            matrix[r, c] = vote
    analysis = analyse(matrix)
    cohort = {p.id: p.cohort or "none" for p in await store.list_participants()}
    groups: dict[int, dict[str, int]] = {}
    for pid, label in zip(people, analysis.labels, strict=True):
        by = groups.setdefault(label, {})
        by[cohort.get(pid, "none")] = by.get(cohort.get(pid, "none"), 0) + 1
    voted = {(r, c) for r, pid in enumerate(people) for c in rows[pid]}
    return {
        "round": round_id, "participants": len(people),
        "statements": [{"id": code, "text": texts.get(code, ""),
                        "agree": result.agree, "disagree": result.disagree,
                        # a pass is a vote of 0 by someone who was asked
                        "pass": sum(1 for r in range(len(people)) if (r, i) in voted
                                    and matrix[r, i] == 0),
                        "consensus": result.consensus, "divisive": result.divisive}
                       for i, (code, result) in enumerate(zip(codes, analysis.statements,
                                                               strict=True))],
        "groups": [{"id": g + 1, "size": sum(by.values()), "by_cohort": dict(sorted(by.items()))}
                   for g, by in sorted(groups.items())],
    }
