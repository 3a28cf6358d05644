"""The measures library: the CFPB Financial Well-Being Scale (5 items) and the ONS
loneliness measures ask the published wording, through the real engine, and score as
their publishers do (checked against hand-worked cases from the published tables)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.engine import StepContext, begin, step
from bot.engine.io import Reply
from bot.flows.loader import FlowLibrary
from bot.measures import score, scored_flows
from bot.measures.cfpb_fwb5 import item_value
from tests.conftest import ROOT, T0


def run(library: FlowLibrary, ctx: StepContext, flow_id: str,
        replies: list[str]) -> tuple[list[str], dict[str, object]]:
    """Answer a flow through the engine; the questions asked and the saved fields."""
    flow = library.get(flow_id)
    result = begin(flow, session_id="s_measure1", participant_id="p1", locale="en",
                   now=T0, ctx=ctx)
    asked = [o.plain for o in result.outputs]
    for reply in replies:
        result = step(flow, result.session, Reply(reply), T0, ctx)
        asked += [o.plain for o in result.outputs]
    assert result.session.status == "completed"
    return asked, dict(result.session.fields)


def test_cfpb_asks_the_published_statements_and_answers(
        library: FlowLibrary, ctx: StepContext) -> None:
    asked, _ = run(library, ctx, "cfpb_fwb5", ["1", "1", "1", "1", "1"])
    text = "\n".join(asked)
    describe = "How well does this statement describe you or your situation?"
    often = "How often does this statement apply to you?"
    for stem, statement in [
        (describe, "Because of my money situation, I feel like I will never have the "
                   "things I want in life."),
        (describe, "I am just getting by financially."),
        (describe, "I am concerned that the money I have or will save won't last."),
        (often, "I have money left over at the end of the month."),
        (often, "My finances control my life."),
    ]:
        assert f"{stem} {statement}" in text
    assert "1 Completely\n2 Very well\n3 Somewhat\n4 Very little\n5 Not at all" in text
    assert "1 Always\n2 Often\n3 Sometimes\n4 Rarely\n5 Never" in text


@pytest.mark.parametrize("replies,total", [
    # Worst answer to every item: Completely x3, Never (money left over), Always.
    (["completely", "completely", "completely", "never", "always"], 0),
    # Best answer to every item: Not at all x3, Always (money left over), Never.
    (["not at all", "not at all", "not at all", "always", "never"], 20),
    # Worksheet values 2 + 1 + 3 + 3 + 2: Somewhat, Very well, Very little, Often, Sometimes.
    (["somewhat", "very well", "very little", "often", "sometimes"], 11),
    # The same answers by number, as an SMS participant would send them.
    (["3", "2", "4", "2", "3"], 11),
])
def test_cfpb_total_response_value_follows_the_worksheet(
        library: FlowLibrary, ctx: StepContext, replies: list[str], total: int) -> None:
    _, fields = run(library, ctx, "cfpb_fwb5", replies)
    result = score("cfpb_fwb5", fields)
    assert result is not None and (result.total, result.low, result.high) == (total, 0, 20)


def test_cfpb_reverse_codes_only_the_positive_statement() -> None:
    assert [item_value("fwb_left_over", a) for a in
            ("always", "often", "sometimes", "rarely", "never")] == [4, 3, 2, 1, 0]
    assert [item_value("fwb_control", a) for a in
            ("always", "often", "sometimes", "rarely", "never")] == [0, 1, 2, 3, 4]
    assert item_value("fwb_never_have", "not_at_all") == 4


def test_a_skipped_item_gives_no_score_rather_than_a_lower_one(
        library: FlowLibrary, ctx: StepContext) -> None:
    _, fields = run(library, ctx, "cfpb_fwb5", ["1", "SKIP", "1", "1", "1"])
    cfpb = score("cfpb_fwb5", fields)
    assert cfpb is not None and cfpb.total is None
    _, fields = run(library, ctx, "ons_loneliness", ["3", "skip", "3", "1"])
    ons = score("ons_loneliness", fields)
    assert ons is not None and ons.total is None and ons.category == "often_always"


def test_ons_loneliness_asks_ucla_then_the_direct_question(
        library: FlowLibrary, ctx: StepContext) -> None:
    asked, _ = run(library, ctx, "ons_loneliness", ["1", "1", "1", "5"])
    firsts = [a.split("\n")[0] for a in asked]
    assert firsts[1:5] == ["How often do you feel that you lack companionship?",
                           "How often do you feel left out?",
                           "How often do you feel isolated from others?",
                           "How often do you feel lonely?"]
    assert "1 Hardly ever or never\n2 Some of the time\n3 Often" in asked[1]
    assert ("1 Often/always\n2 Some of the time\n3 Occasionally\n4 Hardly ever\n5 Never"
            in asked[4])


@pytest.mark.parametrize("replies,total,category", [
    (["hardly ever or never", "hardly ever or never", "hardly ever or never", "never"],
     3, "never"),
    (["often", "often", "often", "often/always"], 9, "often_always"),
    (["some of the time", "often", "hardly ever or never", "occasionally"], 6,
     "occasionally"),
])
def test_ucla_scores_one_to_three_per_item(library: FlowLibrary, ctx: StepContext,
                                           replies: list[str], total: int,
                                           category: str) -> None:
    _, fields = run(library, ctx, "ons_loneliness", replies)
    result = score("ons_loneliness", fields)
    assert result is not None
    assert (result.total, result.low, result.high, result.category) == (
        total, 3, 9, category)


def test_every_measure_names_its_source_and_licence() -> None:
    assert scored_flows() == {"cfpb_fwb5", "cfpb_fwb10", "ons_loneliness"}
    for flow_id in scored_flows():
        head = (ROOT / "flows" / f"{flow_id}.toml").read_text(encoding="utf-8")
        assert "# Source:" in head and "# Licence:" in head
        welsh = (ROOT / "templates" / "cy" / f"{flow_id}.toml").read_text(encoding="utf-8")
        assert "DRAFT" in welsh
    assert score("feedback", {}) is None


async def test_results_page_and_report_show_the_published_total(tmp_path: Path) -> None:
    """Three people, UCLA before and after: totals 9→6, 7→6, 5→5: mean change -1.33."""
    import datetime as dt

    from bot.report.data import collect
    from bot.store.records import AnswerRow, Changes
    from bot.store.round_records import Round
    from tests.rounds_support import OPENED, open_project
    from tests.test_burden import dashboard

    start = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
    p = await open_project(tmp_path, start)
    try:
        rows = []
        for label, day, people in (("baseline", 0, {"a": (3, 3, 3), "b": (3, 2, 2),
                                                     "c": (2, 2, 1)}),
                                   ("end", 30, {"a": (2, 2, 2), "b": (2, 2, 2),
                                                "c": (2, 2, 1)})):
            rid = f"r-{label}"
            await p.store.round_add(Round(id=rid, flow_id="ons_loneliness", audience="all",
                                          created_at=start, label=label, status="closed",
                                          start_at=start + dt.timedelta(days=day)))
            values = {1: "hardly_ever", 2: "some", 3: "often"}
            for pid, items in people.items():
                if await p.store.get_participant(pid) is None:
                    await p.person(pid.upper(), f"tel:+44770090090{ord(pid) - 96}")
                for field, v in zip(("ucla_companionship", "ucla_left_out",
                                     "ucla_isolated"), items, strict=True):
                    rows.append(AnswerRow(f"p_{pid}", f"s-{label}-{pid}", "ons_loneliness",
                                          "v", field, field, values[v], values[v],
                                          start + dt.timedelta(days=day), round_id=rid))
        await p.store.apply(Changes(answers=rows))
        async with dashboard(p) as client:
            page = (await client.get("/admin/results/ons_loneliness")).text
        total = page[page.index(">total<"):]
        assert total.index("-1.33") < total.index("</tr>")
        data = await collect(p.store, p.runtime.config, p.runtime.library, start)
        [change] = [c for c in data.changes if c.field == "total (published scoring)"]
        assert (change.change.n, round(change.change.mean_change or 0, 2)) == (3, -1.33)
    finally:
        while OPENED:
            await OPENED.pop().close()
