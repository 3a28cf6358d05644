"""Representativeness on several dimensions: who answers, against target mixes.

A dimension is ``cohort``, ``locale``, ``channel`` (preferred channel) or any profile
field (``age_band``, ``gender``, ``region``, ``payment_preference``…). Targets come from
``[representation.targets.<dimension>]``; those set on the dashboard win.
A responder is someone who completed at least one round.

Before a round, ``gap_warnings`` asks: given who the round goes to and how each group
has responded so far, would the responders' mix move further from a target that is
already missed? That is the "this round would widen a gap" warning of the dry run.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence

from bot.config import Config
from bot.stats import CohortShare
from bot.store.base import Store
from bot.store.records import Participant
from bot.store.round_records import Round

NOT_GIVEN = "(not given)"


def value_of(person: Participant, dimension: str) -> str:
    if dimension == "cohort":
        found: object = person.cohort
    elif dimension == "locale":
        found = person.locale
    elif dimension == "channel":
        found = person.preferred_channel
    else:
        found = person.profile.get(dimension)
    return str(found) if found not in (None, "") else NOT_GIVEN


async def targets_of(store: Store, config: Config) -> dict[str, dict[str, float]]:
    """The config's targets, overridden per dimension by the dashboard's."""
    out = {dim: dict(values) for dim, values in config.representation.targets.items()}
    out.update(await store.representation_targets())
    cohorts = await store.cohort_targets()
    if cohorts:
        out["cohort"] = dict(cohorts)
    return out


async def dimension_rows(store: Store, config: Config, rounds: Sequence[Round],
                         dimensions: Sequence[str] | None = None
                         ) -> dict[str, list[CohortShare]]:
    """Per dimension and value: enrolled, asked, responded, completed, target."""
    people = {p.id: p for p in await store.list_participants() if p.status != "erased"}
    targets = await targets_of(store, config)
    dims = list(dimensions or dict.fromkeys(["cohort", *targets]))
    asked: dict[str, int] = Counter()
    done: dict[str, int] = Counter()
    responders: set[str] = set()
    for r in rounds:
        if r.status == "draft":
            continue
        for t in await store.targets_of(r.id):
            if t.participant_id in people:
                asked[t.participant_id] += 1
                if t.status == "completed":
                    done[t.participant_id] += 1
                    responders.add(t.participant_id)
    out: dict[str, list[CohortShare]] = {}
    for dim in dims:
        groups: dict[str, list[str]] = defaultdict(list)
        for pid, person in people.items():
            groups[value_of(person, dim)].append(pid)
        wanted = targets.get(dim, {})
        names = sorted(set(groups) | set(wanted))
        out[dim] = [CohortShare(v, sum(people[p].status == "consented" for p in groups[v]),
                                sum(asked[p] for p in groups[v]),
                                sum(p in responders for p in groups[v]), wanted.get(v),
                                sum(done[p] for p in groups[v])) for v in names]
    return out


def expected_shares(rows: Sequence[CohortShare], audience: Counter[str]) -> dict[str, float]:
    """Each value's share (percent) of the responders this audience would likely give,
    at each group's response rate so far (the overall rate where a group has none)."""
    asked = sum(r.targeted for r in rows)
    overall = sum(r.completed for r in rows) / asked if asked else 1.0
    rate = {r.cohort: r.response_rate if r.response_rate is not None else overall
            for r in rows}
    expected = {v: n * rate.get(v, overall) for v, n in audience.items()}
    total = sum(expected.values())
    return {v: 100 * e / total for v, e in expected.items()} if total else {}


def gap_warnings(rows_by_dim: dict[str, list[CohortShare]], audience: Sequence[Participant],
                 tolerance: float) -> list[str]:
    out = []
    for dim, rows in rows_by_dim.items():
        total = sum(r.responded for r in rows)
        if not total:
            continue
        expected = expected_shares(rows, Counter(value_of(p, dim) for p in audience))
        for r in rows:
            if r.target is None:
                continue
            share = 100 * r.responded / total
            likely = expected.get(r.cohort, 0.0)
            under = share < r.target - tolerance and likely < share
            over = share > r.target + tolerance and likely > share
            if under or over:
                out.append(f"{dim} '{r.cohort}' is {'under' if under else 'over'} target "
                           f"({share:.0f}% of responders, target {r.target:.0f}%) and this "
                           f"round would likely bring {likely:.0f}%: it would widen the gap.")
    return out
