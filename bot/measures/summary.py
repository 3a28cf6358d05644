"""Published totals over many sessions: per-session totals, and paired change of the
total between two sets of answers (the dashboard's results page and the report)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from bot.measures import score
from bot.stats import PairedChange, paired_change
from bot.store.records import AnswerRow


def session_fields(answers: Sequence[AnswerRow]) -> dict[tuple[str, str], dict[str, Any]]:
    """(participant, session) -> their answers in that session, by field."""
    out: dict[tuple[str, str], dict[str, Any]] = defaultdict(dict)
    for a in answers:
        if a.field and not a.skipped:
            out[(a.participant_id, a.session_id)][a.field] = a.value
    return out


def totals(flow_id: str, answers: Sequence[AnswerRow]) -> dict[str, float]:
    """Each person's published total (their latest complete session)."""
    out: dict[str, float] = {}
    for (pid, _), fields in session_fields(answers).items():
        result = score(flow_id, fields)
        if result is not None and result.total is not None:
            out[pid] = float(result.total)
    return out


def scored_change(flow_id: str, before: Sequence[AnswerRow],
                  after: Sequence[AnswerRow]) -> PairedChange:
    """The published total, paired over people who have it at both times."""
    b, a = totals(flow_id, before), totals(flow_id, after)
    return paired_change([(b[p], a[p]) for p in sorted(set(b) & set(a))])
