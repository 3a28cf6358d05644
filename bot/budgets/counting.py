"""Counting a participatory budget: greedy-by-votes and the Method of Equal Shares.

- **Greedy** (what most cities use): projects in order of votes, each funded if it still
  fits in what is left. A 51% majority can take the whole budget.
- **Method of Equal Shares** (Peters & Skowron, "Proportionality and the Limits of
  Welfarism", EC 2020; Peters, Pierczyński & Skowron, "Proportional Participatory
  Budgeting with Additive Utilities", NeurIPS 2021; https://equalshares.net): the
  budget is split equally among voters; a project is bought only with the shares of
  those who want it, each paying at most ρ per unit of what it is worth to them, and
  the project needing the smallest ρ is bought next. With approval ballots every
  utility is 1. Exact fractions, so ties and "just affordable" are decided exactly.

Pure functions over plain data, so they can be checked against published examples.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

Ballot = Mapping[str, int]
"""Project id -> utility: 1 for an approval, the points given when points are spread."""


@dataclass(frozen=True)
class Project:
    id: str
    cost: int


def _votes(ballots: Sequence[Ballot]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for ballot in ballots:
        for pid, utility in ballot.items():
            if utility > 0:
                counts[pid] = counts.get(pid, 0) + 1
    return counts


def greedy(projects: Sequence[Project], ballots: Sequence[Ballot], total: int,
           score: Mapping[str, int] | None = None) -> list[str]:
    """Most votes (or ``score``) first; ties keep the projects' own order."""
    by = score if score is not None else _votes(ballots)
    left = total
    chosen = []
    for project in sorted(projects, key=lambda p: -by.get(p.id, 0)):
        if by.get(project.id, 0) > 0 and project.cost <= left:
            chosen.append(project.id)
            left -= project.cost
    return chosen


def _rho(cost: int, payers: list[tuple[Fraction, int]]) -> Fraction | None:
    """The least ρ with Σ min(budget_i, ρ·u_i) = cost, or None if they cannot pay.
    ``payers`` are (money left, utility) of the project's supporters."""
    if sum((money for money, _ in payers), Fraction(0)) < cost:
        return None
    remaining = Fraction(cost)
    weight = sum(u for _, u in payers)
    # those who run out first (least money per unit of utility) pay all they have
    for money, utility in sorted(payers, key=lambda p: p[0] / p[1]):
        rho = remaining / weight
        if money >= rho * utility:
            return rho
        remaining -= money
        weight -= utility
    return None  # unreachable: the total covers the cost


def equal_shares(projects: Sequence[Project], ballots: Sequence[Ballot],
                 total: int) -> list[str]:
    """The projects the Method of Equal Shares funds, in the order it buys them (no
    completion step: what it leaves unspent is reported, not silently filled)."""
    if not ballots:
        return []
    share = Fraction(total, len(ballots))
    money = [share] * len(ballots)
    votes = _votes(ballots)
    order = {p.id: i for i, p in enumerate(projects)}
    chosen: list[str] = []
    remaining = [p for p in projects if p.cost > 0]
    while remaining:
        best: tuple[Fraction, int, int, Project] | None = None
        for project in remaining:
            payers = [(money[i], b[project.id]) for i, b in enumerate(ballots)
                      if b.get(project.id, 0) > 0]
            rho = _rho(project.cost, payers) if payers else None
            if rho is None:
                continue
            key = (rho, -votes.get(project.id, 0), order[project.id], project)
            if best is None or key[:3] < best[:3]:
                best = key
        if best is None:
            break
        rho, project = best[0], best[3]
        for i, ballot in enumerate(ballots):
            utility = ballot.get(project.id, 0)
            if utility > 0:
                money[i] -= min(money[i], rho * utility)
        chosen.append(project.id)
        remaining = [p for p in remaining if p.id != project.id]
    return chosen
