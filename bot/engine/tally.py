"""Totals of several-option answers across people, for results pages, exports and votes.

- ``multi``: how many people picked each option;
- ``ranking``: a Borda count (with k places, first = k points … last = 1), the usual
  way to turn many orderings into one, plus how many put each option first;
- ``allocate``: the sum of amounts per option.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bot.engine.session import FieldValue
from bot.flows.models_many import AllocateAnswer, MultiAnswer, RankingAnswer


@dataclass(frozen=True)
class OptionTotal:
    value: str
    score: int
    """Picks (multi), Borda points (ranking) or the amount (allocate)."""
    first: int = 0
    """Ranking only: how many people put this option first."""


def _add_amounts(score: dict[str, int], value: FieldValue) -> None:
    if isinstance(value, dict):
        for key, amount in value.items():
            if key in score:
                score[key] += amount


def _add_ranking(score: dict[str, int], first: dict[str, int], value: FieldValue,
                 places: int) -> None:
    if not isinstance(value, list):
        return
    for position, key in enumerate(value[:places]):
        if key in score:
            score[key] += places - position
    if value and value[0] in first:
        first[value[0]] += 1


def _add_picks(score: dict[str, int], value: FieldValue) -> None:
    if isinstance(value, list):
        for key in set(value):
            if key in score:
                score[key] += 1


def tally(answer: MultiAnswer | RankingAnswer | AllocateAnswer,
          values: Iterable[FieldValue]) -> list[OptionTotal]:
    """One total per option, in the flow's order (zeros included); values of the wrong
    shape (a skipped answer, an older flow version) are left out."""
    order = [o.value for o in answer.options]
    score = dict.fromkeys(order, 0)
    first = dict.fromkeys(order, 0)
    for value in values:
        if isinstance(answer, AllocateAnswer):
            _add_amounts(score, value)
        elif isinstance(answer, RankingAnswer):
            _add_ranking(score, first, value, answer.needed)
        else:
            _add_picks(score, value)
    return [OptionTotal(v, score[v], first[v]) for v in order]
