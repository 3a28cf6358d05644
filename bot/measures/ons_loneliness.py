"""ONS-recommended loneliness measures (``flows/ons_loneliness.toml``).

The three-item UCLA scale scores each item 1 (hardly ever or never), 2 (some of the
time) or 3 (often) and sums them to 3-9, higher meaning lonelier; the ONS reports it
only when all three are answered. The direct question ("How often do you feel lonely?")
is reported as its category; "often/always" is the ONS's chronic loneliness indicator.
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.measures import MeasureScore

UCLA_ITEMS = ("ucla_companionship", "ucla_left_out", "ucla_isolated")
UCLA_VALUES = {"hardly_ever": 1, "some": 2, "often": 3}
DIRECT_FIELD = "lonely_direct"
DIRECT_CATEGORIES = ("often_always", "some", "occasionally", "hardly_ever", "never")
CHRONIC = "often_always"


def ucla_total(answers: Mapping[str, object]) -> int | None:
    """The UCLA three-item total (3-9), or None when any item is unanswered."""
    values = [UCLA_VALUES.get(str(answers.get(field))) for field in UCLA_ITEMS]
    return None if None in values else sum(v for v in values if v is not None)


def score(answers: Mapping[str, object]) -> MeasureScore:
    """UCLA total 3-9 (higher = lonelier) plus the direct question's category."""
    direct = answers.get(DIRECT_FIELD)
    category = direct if isinstance(direct, str) and direct in DIRECT_CATEGORIES else None
    return MeasureScore("ons_loneliness", ucla_total(answers), 3, 9, "more lonely",
                        category)
