"""Scoring of the published measures shipped as flows (``flows/<id>.toml``).

Each measure scores one completed session's saved answers exactly as its publisher
does, and refuses to score a session with a missing item (the publishers' rule), so a
skipped question never turns into a silently lower score. The dashboard and the
evaluation report use :func:`score` and never re-implement a scoring rule.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

__all__ = ["MeasureScore", "Scorer", "score", "scored_flows"]


@dataclass(frozen=True, slots=True)
class MeasureScore:
    """One person's score on one measure, as its publisher defines it."""

    measure: str
    """The flow id, e.g. ``"ons_loneliness"``."""
    total: int | None
    """The published numeric total, or None when an item needed for it is missing."""
    low: int
    high: int
    higher_is: str
    """What a higher total means, e.g. ``"better financial well-being"``."""
    category: str | None = None
    """A published categorical indicator beside the total (ONS: the direct question)."""


Scorer = Callable[[Mapping[str, object]], MeasureScore]


def _registry() -> dict[str, Scorer]:
    # Imported here so each measure stays one small module that imports this one.
    from bot.measures import cfpb_fwb5, cfpb_fwb10, ons_loneliness

    return {"cfpb_fwb5": cfpb_fwb5.score, "cfpb_fwb10": cfpb_fwb10.score,
            "ons_loneliness": ons_loneliness.score}


def scored_flows() -> frozenset[str]:
    """Flow ids that have a published scoring rule."""
    return frozenset(_registry())


def score(flow_id: str, answers: Mapping[str, object]) -> MeasureScore | None:
    """The measure's score for one session's answers (field -> saved value), or None
    when ``flow_id`` is not a scored measure."""
    scorer = _registry().get(flow_id)
    return None if scorer is None else scorer(answers)
