"""The abbreviated 5-item CFPB Financial Well-Being Scale: the worksheet's total response
value (0-20) converted to the financial well-being score by age group, self-administered,
through the real engine.

The 5-item table comes from one public transcription of the CFPB user guide's p. 28 (see
bot/measures/cfpb_fwb5.py); the cross-check below shows that the same transcription's
10-item rows are exactly the 10-item table Parley ships (verified against the CFPB's own
scoring code), so the copy is faithful where it can be checked."""

from __future__ import annotations

import itertools

import pytest

from bot.engine import StepContext
from bot.flows.loader import FlowLibrary
from bot.measures import cfpb_fwb10 as fwb10
from bot.measures import score
from bot.measures.cfpb_fwb5 import (
    SELF_ADMINISTERED,
    AgeGroup,
    ScoreTableError,
    convert,
    total_response_value,
)
from tests.test_measures import run

# The public JavaScript transcription (scoring.js, "CFPB10_SELF"), copied as printed.
TRANSCRIBED_10_ITEM_SELF = {
    "younger": "14, 19, 22, 25, 27, 29, 31, 32, 34, 35, 37, 38, 40, 41, 42, 44, 45, 46, 47, "
               "49, 50, 51, 52, 54, 55, 56, 58, 59, 60, 62, 63, 65, 66, 68, 69, 71, 73, 75, "
               "78, 81, 86",
    "older": "14, 20, 24, 26, 29, 31, 33, 35, 36, 38, 39, 41, 42, 44, 45, 46, 48, 49, 50, "
             "52, 53, 54, 56, 57, 58, 60, 61, 63, 64, 66, 67, 69, 71, 73, 75, 77, 79, 82, "
             "84, 88, 95",
}
# The same file's "CFPB5_SELF", copied as printed.
TRANSCRIBED_5_ITEM_SELF = {
    "younger": "19, 25, 29, 32, 36, 38, 41, 43, 46, 48, 50, 53, 55, 57, 60, 63, 65, 68, 72, "
               "76, 82",
    "older": "20, 26, 31, 34, 37, 40, 43, 46, 48, 51, 53, 55, 58, 61, 63, 66, 69, 73, 76, "
             "81, 90",
}
BANDS: dict[str, AgeGroup] = {"younger": "18-61", "older": "62+"}

BEST = ["not at all", "not at all", "not at all", "always", "never"]      # total 20
MIDDLE = ["somewhat", "somewhat", "somewhat", "sometimes", "sometimes"]   # total 10
WORST = ["completely", "completely", "completely", "never", "always"]     # total 0


def numbers(row: str) -> tuple[int, ...]:
    return tuple(int(n) for n in row.split(","))


def test_the_sources_10_item_rows_are_parleys_verified_10_item_table() -> None:
    for band, age in BANDS.items():
        assert numbers(TRANSCRIBED_10_ITEM_SELF[band]) == fwb10.SELF_ADMINISTERED[age]
        assert numbers(TRANSCRIBED_5_ITEM_SELF[band]) == SELF_ADMINISTERED[age]


def test_table_has_21_rising_rows_from_19_20_to_82_90() -> None:
    for column in SELF_ADMINISTERED.values():
        assert len(column) == 21
        assert all(a < b for a, b in itertools.pairwise(column))
    assert (convert(0, "18-61"), convert(0, "62+")) == (19, 20)
    assert (convert(20, "18-61"), convert(20, "62+")) == (82, 90)
    with pytest.raises(ScoreTableError, match="21 is outside 0-20"):
        convert(21, "18-61")


def test_asks_the_age_group_last(library: FlowLibrary, ctx: StepContext) -> None:
    asked, _ = run(library, ctx, "cfpb_fwb5", ["1"] * 6)
    assert "how old are you?" in asked[6] and "1 18-61\n2 62 or older" in asked[6]
    assert asked[0].startswith("Next, 6 questions about money.")


@pytest.mark.parametrize("replies,raw,expected,column", [
    ([*BEST, "18-61"], 20, 82, "self-administered, 18-61"),
    ([*BEST, "62 or older"], 20, 90, "self-administered, 62+"),
    ([*MIDDLE, "18-61"], 10, 50, "self-administered, 18-61"),
    ([*MIDDLE, "2"], 10, 53, "self-administered, 62+"),
    ([*WORST, "1"], 0, 19, "self-administered, 18-61"),
    ([*WORST, "62 or older"], 0, 20, "self-administered, 62+"),
    # By number, as an SMS participant would send them: 2 + 1 + 3 + 3 + 2 = 11.
    (["3", "2", "4", "2", "3", "1"], 11, 53, "self-administered, 18-61"),
])
def test_a_run_through_the_engine_gives_the_worksheet_score(
        library: FlowLibrary, ctx: StepContext, replies: list[str], raw: int,
        expected: int, column: str) -> None:
    _, fields = run(library, ctx, "cfpb_fwb5", replies)
    result = score("cfpb_fwb5", fields)
    assert result is not None
    assert (result.total, result.low, result.high, result.category) == (
        expected, 0, 100, column)
    assert total_response_value(fields) == raw


def test_a_skipped_item_gives_no_score_and_a_skipped_age_is_said(
        library: FlowLibrary, ctx: StepContext) -> None:
    _, fields = run(library, ctx, "cfpb_fwb5", ["1", "SKIP", "1", "1", "1", "2"])
    result = score("cfpb_fwb5", fields)
    assert result is not None and result.total is None
    assert total_response_value(fields) is None
    _, fields = run(library, ctx, "cfpb_fwb5", [*MIDDLE, "SKIP"])
    result = score("cfpb_fwb5", fields)
    assert result is not None and result.total == 50
    assert result.category == "self-administered, 18-61 (age not given)"
