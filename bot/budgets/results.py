"""A budget's results: votes and points per project, winners by greedy and by Equal
Shares, and how each cohort voted. The ``--json`` form is part of the public contract:
``{"id", "total", "currency", "voters", "projects": [{"id", "title", "cost", "votes",
"points"}], "winners": {"greedy": [ids], "equal_shares": [ids]}, "by_cohort": {…}}``.
"""

from __future__ import annotations

from typing import Any

from bot.budgets.counting import Ballot, Project, equal_shares, greedy
from bot.errors import ParleyError
from bot.store.base import Store
from bot.store.participation import Budget
from bot.store.rounds_base import RoundsStore


async def ballots_of(store: Store, budget: Budget) -> dict[str, Ballot]:
    """Each voter's latest ballot in any round on this budget (erased people's are
    gone: their answers hold nothing). Approvals count 1; points count as given."""
    rounds = {r.id for r in await store.rounds_all() if r.vars.get("budget_id") == budget.id}
    known = {p.id for p in budget.projects}
    found: dict[str, Ballot] = {}
    for answer in await store.answers():
        if answer.round_id not in rounds or answer.skipped:
            continue
        value = answer.value
        if isinstance(value, list):
            found[answer.participant_id] = {v: 1 for v in value if v in known}
        elif isinstance(value, dict):
            found[answer.participant_id] = {k: v for k, v in value.items()
                                            if k in known and v > 0}
    return {pid: b for pid, b in found.items() if b}


async def _points_rounds(store: RoundsStore, budget: Budget) -> bool:
    flows = {r.flow_id for r in await store.rounds_all() if r.vars.get("budget_id") == budget.id}
    return bool(flows) and all(f == "budget_points" for f in flows)


def _tally(budget: Budget, ballots: list[Ballot]) -> list[dict[str, Any]]:
    rows = []
    for p in budget.projects:
        votes = sum(1 for b in ballots if b.get(p.id, 0) > 0)
        points = sum(b.get(p.id, 0) for b in ballots)
        rows.append({"id": p.id, "title": p.title, "cost": p.cost, "votes": votes,
                     "points": points})
    return rows


async def results(store: Store, budget_id: str) -> dict[str, Any]:
    budget = await store.budget_get(budget_id)
    if budget is None:
        raise ParleyError(f"no budget '{budget_id}' (create one with: parley budgets create)")
    by_voter = await ballots_of(store, budget)
    ballots = list(by_voter.values())
    projects = [Project(p.id, p.cost) for p in budget.projects]
    rows = _tally(budget, ballots)
    # greedy ranks by votes; by points when the rounds spread points (budget_points)
    by_points = await _points_rounds(store, budget)
    score = {r["id"]: r["points"] for r in rows} if by_points else None
    cohorts: dict[str, list[Ballot]] = {}
    people = {p.id: p for p in await store.list_participants()}
    for pid, ballot in by_voter.items():
        person = people.get(pid)
        cohorts.setdefault((person.cohort if person else None) or "none", []).append(ballot)
    return {
        "id": budget.id, "title": budget.title, "total": budget.total,
        "currency": budget.currency, "voters": len(ballots), "projects": rows,
        "winners": {"greedy": greedy(projects, ballots, budget.total, score),
                    "equal_shares": equal_shares(projects, ballots, budget.total)},
        "by_cohort": {name: {"voters": len(group),
                             "votes": {r["id"]: r["votes"] for r in _tally(budget, group)}}
                      for name, group in sorted(cohorts.items())},
    }
