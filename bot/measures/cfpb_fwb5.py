"""CFPB Financial Well-Being Scale, abbreviated 5-item version (``flows/cfpb_fwb5.toml``).

Scoring follows the CFPB's two-step worksheet for the abbreviated version. Step 1, the
*total response value* (0-20): statements 1-3 ("How well does this statement describe
you…") are answered Completely … Not at all, statements 4-5 ("How often does this
statement apply to you?") Always … Never, each worth 0-4. Every statement but "I have
money left over at the end of the month" is negatively worded (Completely / Always = 0);
that one is positive (Always = 4). A person who skips any statement gets no score (the
CFPB: "the respondent must answer every question"). Step 2, the *financial well-being
score*: the total is looked up in the worksheet's table by age group (18-61 or 62+) and
mode of administration.

The table below is the abbreviated worksheet's "Questionnaire self-administered"
columns, from "Measuring financial well-being: A guide to using the CFPB Financial
Well-Being Scale" (CFPB, December 2015), abbreviated-version scoring worksheet, p. 28,
as transcribed in ONE public copy: a JavaScript implementation (``scoring.js``, arrays
``CFPB5_SELF.younger`` / ``.older``, citing the guide's pp. 28 and 31; two stored
versions of the file agree). No second independent copy of the 5-item table was found.
Cross-check of that copy: the same file's 10-item self-administered table
(``CFPB10_SELF``) equals, row by row in both age groups, the 10-item table Parley ships
in :mod:`bot.measures.cfpb_fwb10`, which agrees with the CFPB's own scoring code for its
online questionnaire; ``tests/test_measures_fwb5.py`` asserts that. To check the 5-item
rows against the CFPB's own text, compare them with the guide's appendix
(https://files.consumerfinance.gov/f/201512_cfpb_financial-well-being-user-guide-scale.pdf)
or the abbreviated questionnaire and scoring worksheet PDF.

Parley's SMS, Telegram and WhatsApp questionnaires are always self-administered, so only
the self-administered columns are shipped; the worksheet's "read to the respondent"
columns are not needed and are deliberately not included (none was transcribed from a
source). The person's age group is asked as the flow's last question (field
``fwb_age_group``), worded as in the 10-item flow; if it is missing, the 18-61 column is
used and the score says so in its ``category``. The raw 0-20 total stays available
through :func:`total_response_value`.
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.measures import MeasureScore
from bot.measures.cfpb_fwb10 import (  # the same answers, age question and column rule
    AgeGroup,
    ScoreTableError,
    age_group_of,
    response_value,
    self_administered,
    total_of,
)

DESCRIBES = ("completely", "very_well", "somewhat", "very_little", "not_at_all")
"""Answer values of statements 1-3, in the worksheet's column order."""
FREQUENCY = ("always", "often", "sometimes", "rarely", "never")
"""Answer values of statements 4-5, in the worksheet's column order."""

ITEMS: dict[str, tuple[tuple[str, ...], bool]] = {
    "fwb_never_have": (DESCRIBES, False),  # 1 … I will never have the things I want
    "fwb_getting_by": (DESCRIBES, False),  # 2 I am just getting by financially
    "fwb_wont_last": (DESCRIBES, False),   # 3 … the money I have or will save won't last
    "fwb_left_over": (FREQUENCY, True),    # 4 I have money left over at the end…
    "fwb_control": (FREQUENCY, False),     # 5 My finances control my life
}
"""Saved field -> (answer values in column order, positively worded?), in item order."""

SELF_ADMINISTERED: dict[AgeGroup, tuple[int, ...]] = {
    "18-61": (19, 25, 29, 32, 36, 38, 41, 43, 46, 48, 50, 53, 55, 57, 60, 63, 65, 68, 72,
              76, 82),
    "62+": (20, 26, 31, 34, 37, 40, 43, 46, 48, 51, 53, 55, 58, 61, 63, 66, 69, 73, 76,
            81, 90),
}
"""Abbreviated worksheet, "Questionnaire self-administered": index = total response
value 0-20, value = financial well-being score."""


def item_value(field: str, answer: object) -> int | None:
    """The response value (0-4) of one of the five answers, or None if not answered."""
    return response_value(ITEMS, field, answer)


def total_response_value(answers: Mapping[str, object]) -> int | None:
    """Step 1: the sum of the five response values (0-20), or None if any is missing."""
    return total_of(ITEMS, answers)


def convert(total: int, age_group: AgeGroup) -> int:
    """Step 2: the financial well-being score for a total response value
    (self-administered)."""
    table = SELF_ADMINISTERED[age_group]
    if not 0 <= total < len(table):
        raise ScoreTableError(f"total response value {total} is outside 0-20")
    return table[total]


def score(answers: Mapping[str, object]) -> MeasureScore:
    """The CFPB financial well-being score (higher = better financial well-being).

    ``category`` names the worksheet column used, e.g. ``"self-administered, 18-61"``,
    or ``"self-administered, 18-61 (age not given)"`` when the 18-61 table was assumed.
    """
    return self_administered("cfpb_fwb5", total_response_value(answers),
                             age_group_of(answers), convert)
