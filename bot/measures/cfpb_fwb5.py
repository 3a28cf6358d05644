"""CFPB Financial Well-Being Scale, abbreviated 5-item version (``flows/cfpb_fwb5.toml``).

Response values are the CFPB scoring worksheet's: statements 1-3 ("How well does this
statement describe you…") run Completely … Not at all, statements 4-5 ("How often does
this statement apply to you?") Always … Never. Every item but "I have money left over at
the end of the month" is negatively worded, so its best answer (Not at all / Never) is
worth 4 and its worst 0; the positive item is the other way round. The sum is the
worksheet's *total response value*, 0-20. The CFPB then converts it to a 0-100 score with
a table by age group and mode of administration; that table is not applied here: it
could not be found in two independent readable sources, and a guessed table would be
worse than none (the flow file's note says what was found and where to get it).
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.measures import MeasureScore

DESCRIBES = ("completely", "very_well", "somewhat", "very_little", "not_at_all")
"""Answer values of statements 1-3, in the worksheet's column order."""
FREQUENCY = ("always", "often", "sometimes", "rarely", "never")
"""Answer values of statements 4-5, in the worksheet's column order."""

ITEMS: dict[str, tuple[tuple[str, ...], bool]] = {
    "fwb_never_have": (DESCRIBES, False),
    "fwb_getting_by": (DESCRIBES, False),
    "fwb_wont_last": (DESCRIBES, False),
    "fwb_left_over": (FREQUENCY, True),
    "fwb_control": (FREQUENCY, False),
}
"""Saved field -> (answer values in column order, positively worded?)."""


def item_value(field: str, answer: object) -> int | None:
    """The worksheet's response value (0-4) of one answer, or None if not answered."""
    columns, positive = ITEMS[field]
    if not isinstance(answer, str) or answer not in columns:
        return None
    position = columns.index(answer)  # 0 = Completely / Always
    return len(columns) - 1 - position if positive else position


def score(answers: Mapping[str, object]) -> MeasureScore:
    """Total response value 0-20 (higher = better financial well-being)."""
    values = [item_value(field, answers.get(field)) for field in ITEMS]
    total = None if None in values else sum(v for v in values if v is not None)
    return MeasureScore("cfpb_fwb5", total, 0, 20, "better financial well-being")
