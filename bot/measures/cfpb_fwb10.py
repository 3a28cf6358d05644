"""CFPB Financial Well-Being Scale, standard 10-item version (``flows/cfpb_fwb10.toml``).

Scoring follows the CFPB's two-step worksheet. Step 1, the *total response value*
(0-40): statements 1-6 ("How well does this statement describe you…") are answered
Completely … Not at all, statements 7-10 ("How often does this statement apply to
you?") Always … Never, each worth 0-4. Statements 1, 2, 4 and 8 are positively worded
(Completely / Always = 4); the other six are negatively worded (Completely / Always = 0).
A person who skips any statement gets no score (the CFPB: "the respondent must answer
every question"). Step 2, the *financial well-being score*: the total is looked up in
the worksheet's table by age group (18-61 or 62+) and mode of administration.

The table below is the worksheet's part two, all four columns. It was copied from two
independent public copies that agree on all 41 rows of all four columns:
  (a) the CFPB's own code for its online questionnaire on consumerfinance.gov (a Django
      ``ResultsForm`` with a ``SCORING`` dict keyed ``read-self`` / ``read-to-me`` and
      ``18-61`` / ``62-plus``), and
  (b) an unrelated public Python implementation of the worksheet (a
      ``CFPB_SCORE_TABLE`` dict keyed by total, age group and "self" / "assisted");
two further, partial copies agree too: a transcript of the worksheet on
mcdanielinsurance.lifelandingpage.com/financial-well-being (rows 0-13, all four
columns) and a JavaScript implementation citing the user guide's pp. 28 and 31 (the two
self-administered columns, all rows). The CFPB's own acceptance tests for its online
questionnaire ("financial-well-being-survey.feature") give worked scores; the tests
here reproduce every one of them that agrees with the table (two "read to me", age 62+
scenarios there expect 3 points more than all four copies of the table give).

Parley's SMS, Telegram and WhatsApp questionnaires are always self-administered, so
:func:`score` uses the self-administered columns. The person's age group is asked as the
flow's last question (field ``fwb_age_group``), as the CFPB's own questionnaire asks it;
if it is missing, the 18-61 column is used and the score says so in its ``category``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Literal

from bot.measures import MeasureScore

DESCRIBES = ("completely", "very_well", "somewhat", "very_little", "not_at_all")
"""Answer values of statements 1-6, in the worksheet's column order."""
FREQUENCY = ("always", "often", "sometimes", "rarely", "never")
"""Answer values of statements 7-10, in the worksheet's column order."""

ITEMS: dict[str, tuple[tuple[str, ...], bool]] = {
    "fwb_unexpected": (DESCRIBES, True),     # 1 I could handle a major unexpected expense
    "fwb_securing": (DESCRIBES, True),       # 2 I am securing my financial future
    "fwb_never_have": (DESCRIBES, False),    # 3 … I will never have the things I want
    "fwb_enjoy": (DESCRIBES, True),          # 4 I can enjoy life because of the way…
    "fwb_getting_by": (DESCRIBES, False),    # 5 I am just getting by financially
    "fwb_wont_last": (DESCRIBES, False),     # 6 … the money I have or will save won't last
    "fwb_gift_strain": (FREQUENCY, False),   # 7 Giving a gift … would put a strain…
    "fwb_left_over": (FREQUENCY, True),      # 8 I have money left over at the end…
    "fwb_behind": (FREQUENCY, False),        # 9 I am behind with my finances
    "fwb_control": (FREQUENCY, False),       # 10 My finances control my life
}
"""Saved field -> (answer values in column order, positively worded?), in item order."""

AGE_FIELD = "fwb_age_group"
AgeGroup = Literal["18-61", "62+"]
AGE_VALUES: dict[str, AgeGroup] = {"18_61": "18-61", "62_plus": "62+"}
"""Saved answer of the age question -> the worksheet's age group."""

Mode = Literal["self", "other"]
"""How the questionnaire was administered: read and answered by the person themselves,
or read to them by someone else who recorded their answers."""

SELF_ADMINISTERED: dict[AgeGroup, tuple[int, ...]] = {
    "18-61": (14, 19, 22, 25, 27, 29, 31, 32, 34, 35, 37, 38, 40, 41, 42, 44, 45, 46, 47,
              49, 50, 51, 52, 54, 55, 56, 58, 59, 60, 62, 63, 65, 66, 68, 69, 71, 73, 75,
              78, 81, 86),
    "62+": (14, 20, 24, 26, 29, 31, 33, 35, 36, 38, 39, 41, 42, 44, 45, 46, 48, 49, 50,
            52, 53, 54, 56, 57, 58, 60, 61, 63, 64, 66, 67, 69, 71, 73, 75, 77, 79, 82,
            84, 88, 95),
}
"""Worksheet part two, "Questionnaire self-administered": index = total response value
0-40, value = financial well-being score."""

ADMINISTERED_BY_SOMEONE_ELSE: dict[AgeGroup, tuple[int, ...]] = {
    "18-61": (16, 21, 24, 27, 29, 31, 33, 34, 36, 38, 39, 40, 42, 43, 44, 45, 47, 48, 49,
              50, 52, 53, 54, 55, 57, 58, 59, 60, 62, 63, 65, 66, 68, 70, 71, 73, 76, 78,
              81, 85, 91),
    "62+": (18, 23, 26, 28, 30, 32, 33, 35, 36, 38, 39, 40, 41, 43, 44, 45, 46, 47, 48,
            49, 50, 52, 53, 54, 55, 56, 57, 58, 60, 61, 62, 64, 65, 67, 68, 70, 72, 75,
            77, 81, 87),
}
"""Worksheet part two, "Administered by someone else"."""

TABLES: dict[Mode, dict[AgeGroup, tuple[int, ...]]] = {
    "self": SELF_ADMINISTERED, "other": ADMINISTERED_BY_SOMEONE_ELSE}


class ScoreTableError(ValueError):
    """A total response value outside a worksheet's rows (0-40 here, 0-20 abbreviated)."""


Items = Mapping[str, tuple[tuple[str, ...], bool]]
"""Saved field -> (answer values in the worksheet's column order, positively worded?)."""


def response_value(items: Items, field: str, answer: object) -> int | None:
    """The worksheet's response value (0-4) of one answer, or None if not answered: the
    first column (Completely / Always) is worth 0, unless the item is positively worded."""
    columns, positive = items[field]
    if not isinstance(answer, str) or answer not in columns:
        return None
    position = columns.index(answer)
    return len(columns) - 1 - position if positive else position


def total_of(items: Items, answers: Mapping[str, object]) -> int | None:
    """The worksheet's total response value, or None if any item is missing."""
    values = [response_value(items, field, answers.get(field)) for field in items]
    return None if None in values else sum(v for v in values if v is not None)


def item_value(field: str, answer: object) -> int | None:
    """The response value (0-4) of one of the ten answers, or None if not answered."""
    return response_value(ITEMS, field, answer)


def total_response_value(answers: Mapping[str, object]) -> int | None:
    """Step 1: the sum of the ten response values (0-40), or None if any is missing."""
    return total_of(ITEMS, answers)


def convert(total: int, age_group: AgeGroup, mode: Mode = "self") -> int:
    """Step 2: the financial well-being score for a total response value."""
    table = TABLES[mode][age_group]
    if not 0 <= total < len(table):
        raise ScoreTableError(f"total response value {total} is outside 0-40")
    return table[total]


def age_group_of(answers: Mapping[str, object]) -> AgeGroup | None:
    """The age group the person gave, or None if they did not answer."""
    return AGE_VALUES.get(str(answers.get(AGE_FIELD)))


def score(answers: Mapping[str, object]) -> MeasureScore:
    """The CFPB financial well-being score (higher = better financial well-being).

    ``category`` names the worksheet column used, e.g. ``"self-administered, 18-61"``,
    or ``"self-administered, 18-61 (age not given)"`` when the 18-61 table was assumed.
    """
    return self_administered("cfpb_fwb10", total_response_value(answers),
                             age_group_of(answers), convert)


def self_administered(measure: str, total: int | None, given: AgeGroup | None,
                      convert: Callable[[int, AgeGroup], int]) -> MeasureScore:
    """A CFPB score from the self-administered column of the person's age group (18-61
    when they did not say, and the category says so); no score when an item is
    missing. Shared by the standard and the abbreviated scale."""
    age: AgeGroup = given or "18-61"
    column = f"self-administered, {age}" + ("" if given else " (age not given)")
    value = None if total is None else convert(total, age)
    return MeasureScore(measure, value, 0, 100, "better financial well-being", column)
