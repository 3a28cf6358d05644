"""Several-option answers (multi, ranking, allocate): what people type on a basic phone,
what the flow file may say, and what the saved value lets a flow do next."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import AsyncIterator

import httpx
import pytest

from bot.clock import ManualClock
from bot.engine import StepContext, begin, step
from bot.engine.answers import Invalid, Valid
from bot.engine.answers_many import parse_allocate, parse_multi, parse_ranking
from bot.engine.io import Press, Reply
from bot.engine.tally import tally
from bot.flows import expressions
from bot.flows.loader import FlowLibrary, validate_source
from bot.flows.models_many import AllocateAnswer, MultiAnswer, RankingAnswer
from bot.flows.option import Option
from bot.i18n.renderer import Renderer
from bot.runtime import Runtime
from bot.simulator import enrolled_phone
from bot.store.records import AnswerRow, Changes
from tests.cli_inprocess import run_cli
from tests.conftest import ROOT, T0
from tests.test_dashboard import build, enrol, login
from tests.test_flow_validation import END, HEAD, only, problems
from tests.test_telegram_channel import press

OPTIONS = tuple(Option(value=v, label=label, synonyms=s) for v, label, s in [
    ("housing", "Housing", ("rent",)), ("health", "Mental health", ()),
    ("parks", "Parks", ()), ("jobs", "Jobs", ("work",))])
LABELS = [o.label for o in OPTIONS]


@pytest.mark.parametrize(("text", "expected"), [
    ("1 3 4", ["housing", "parks", "jobs"]),
    ("1,3", ["housing", "parks"]),
    ("1 and 3", ["housing", "parks"]),
    ("1, 3 and 4", ["housing", "parks", "jobs"]),
    ("3 1", ["housing", "parks"]),  # saved in the flow's order, whatever the typing order
    ("134", ["housing", "parks", "jobs"]),  # no space key found
    ("one and three", ["housing", "parks"]),
    ("mental health, rent", ["housing", "health"]),  # "health" alone is not matched twice
    ("1 ac 3", ["housing", "parks"]),  # Welsh "and"
    ("1 1 3", ["housing", "parks"]),
])
def test_multi_reads_messy_replies(text: str, expected: list[str]) -> None:
    answer = MultiAnswer(kind="multi", options=OPTIONS, max=3)
    assert parse_multi(answer, text, LABELS) == Valid(expected)


def test_multi_rejects_and_says_why() -> None:
    answer = MultiAnswer(kind="multi", options=OPTIONS, min=2, max=3)
    over = parse_multi(answer, "1 2 3 4", LABELS)
    assert isinstance(over, Invalid) and over.reprompt == "answers.reprompt_multi_count"
    assert over.args["picked"] == 4 and over.args["max"] == 3
    under = parse_multi(answer, "2", LABELS)
    assert isinstance(under, Invalid) and under.args["picked"] == 1 and under.args["min"] == 2
    for text in ("5", "banana", "0"):
        wrong = parse_multi(answer, text, LABELS)
        assert isinstance(wrong, Invalid) and wrong.reprompt == "answers.reprompt_multi"


@pytest.mark.parametrize(("text", "expected"), [
    ("3 1 2.", ["parks", "housing", "health"]),
    ("3, 1, 2", ["parks", "housing", "health"]),
    ("parks then rent", ["parks", "housing", "health"]),  # the last one is implied
    ("three one", ["parks", "housing", "health"]),
])
def test_ranking_keeps_the_order_written(text: str, expected: list[str]) -> None:
    answer = RankingAnswer(kind="ranking", options=OPTIONS[:3])
    assert parse_ranking(answer, text, LABELS[:3]) == Valid(expected)


def test_ranking_top_k_needs_exactly_k_distinct() -> None:
    answer = RankingAnswer(kind="ranking", options=OPTIONS, top=2)
    assert parse_ranking(answer, "4 2", LABELS) == Valid(["jobs", "health"])
    for text in ("4", "4 2 1", "4 4", "9 1"):
        got = parse_ranking(answer, text, LABELS)
        assert isinstance(got, Invalid) and got.reprompt == "answers.reprompt_ranking", text


@pytest.mark.parametrize(("text", "expected"), [
    ("1:50 3:30 2:20", {"housing": 50, "health": 20, "parks": 30}),
    ("one:50 three:30 two:20", {"housing": 50, "health": 20, "parks": 30}),
    ("parks 50, housing 30 mental health 20", {"housing": 30, "health": 20, "parks": 50}),
    ("1=100", {"housing": 100}),
    ("1 - 60, 3 - 40 points", {"housing": 60, "parks": 40}),
])
def test_allocate_reads_pairs(text: str, expected: dict[str, int]) -> None:
    answer = AllocateAnswer(kind="allocate", options=OPTIONS[:3], total=100)
    assert parse_allocate(answer, text, LABELS[:3]) == Valid(expected)


def test_allocate_totals_are_checked_and_the_remainder_shown() -> None:
    answer = AllocateAnswer(kind="allocate", options=OPTIONS[:3], total=100)
    under = parse_allocate(answer, "one:50 three:30", LABELS[:3])
    assert isinstance(under, Invalid) and under.reprompt == "answers.reprompt_allocate_under"
    assert (under.args["given"], under.args["left"]) == (80, 20)
    over = parse_allocate(answer, "1:50 2:60", LABELS[:3])
    assert isinstance(over, Invalid) and over.reprompt == "answers.reprompt_allocate_over"
    assert over.args["given"] == 110
    for text in ("lots to parks", "1:50 1:50", "4:100", "50"):
        bad = parse_allocate(answer, text, LABELS[:3])
        assert isinstance(bad, Invalid) and bad.reprompt == "answers.reprompt_allocate", text
    loose = AllocateAnswer(kind="allocate", options=OPTIONS[:3], total=10_000, exact=False,
                           unit="GBP")
    assert parse_allocate(loose, "1:2,500 2:1000", LABELS[:3]) == Valid(
        {"housing": 2500, "health": 1000})


def test_saved_values_work_in_expressions() -> None:
    env: dict[str, expressions.Value] = {"priorities": ["housing", "jobs"],
                                         "budget": {"parks": 40, "housing": 60}}

    def run(source: str) -> expressions.Value:
        return expressions.evaluate(expressions.parse(source), env)

    assert run('"housing" in priorities') is True
    assert run('"parks" not in priorities') is True
    assert run("len(priorities) == 2") is True
    assert run('"parks" in budget and budget.parks > 30') is True
    assert run("budget.housing - budget.parks") == 20
    assert run("len(skipped_question) == 0") is True  # never answered: nothing picked
    assert run('"x" in skipped_question') is False
    with pytest.raises(expressions.ExpressionError, match="'len' needs"):
        run("len(3)")


@pytest.mark.parametrize(("answer", "message"), [
    ('{ kind = "multi", min = 4, max = 2, options = [{ value = "a", label = "A" }, '
     '{ value = "b", label = "B" }] }', "max (2) is less than min (4)"),
    ('{ kind = "ranking", top = 3, options = [{ value = "a", label = "A" }, '
     '{ value = "b", label = "B" }] }', "top (3) is more than the 2 options"),
    ('{ kind = "allocate", total = 0, options = [{ value = "a", label = "A" }, '
     '{ value = "b", label = "B" }] }', "greater than or equal to 1"),
])
def test_flow_file_mistakes_point_at_the_answer_line(answer: str, message: str) -> None:
    ask = f'[nodes.a]\ntype = "ask"\ntext = "t.a"\nanswer = {answer}\nnext = "done"\n'
    p = only(HEAD + ask + END)
    assert p.line == 8 and message in p.message


def test_several_option_fields_are_typed_in_the_session(library: FlowLibrary,
                                                        ctx: StepContext) -> None:
    flow = library.get("priorities")
    result = begin(flow, session_id="s_many0001", participant_id="p1", locale="en",
                   now=T0, ctx=ctx)
    result = step(flow, result.session, Reply("2 5"), T0, ctx)
    result = step(flow, result.session, Reply("transport money health"), T0, ctx)
    session = result.session
    session.validate(flow)
    assert session.fields == {"priorities": ["money", "transport"],
                              "ranking": ["transport", "money", "health"]}
    assert result.outputs[-1].plain == "Thank you. We'll share what everyone chose."
    broken = session.evolve(fields={**session.fields, "ranking": "transport"})
    with pytest.raises(ValueError, match="not a ranking answer"):
        broken.validate(flow)


def test_button_data_fits_telegram_and_stale_taps_are_refused(library: FlowLibrary,
                                                              ctx: StepContext) -> None:
    flow = library.get("priorities")
    first = begin(flow, session_id="s_" + "x" * 40, participant_id="p1", locale="en",
                  now=T0, ctx=ctx)
    choices = first.outputs[-1].choices
    assert all(len(c.token.encode()) <= 64 for c in choices)
    tapped = step(flow, first.session, Press(choices[0].token), T0, ctx)
    done = next(c for c in tapped.outputs[-1].choices if c.key == "done")
    finished = step(flow, tapped.session, Press(done.token), T0, ctx)
    assert finished.session.fields["priorities"] == ["housing"]
    assert "_picks" not in finished.session.fields
    # a tap on the first question's buttons after it was answered changes nothing
    stale = step(flow, finished.session, Press(choices[1].token), T0, ctx)
    assert stale.session.fields == finished.session.fields
    assert [e.name for e in stale.events] == ["StaleInputIgnored"]


def test_validate_accepts_the_new_kinds_from_a_string() -> None:
    flow, found = validate_source(HEAD + '[nodes.a]\ntype = "ask"\ntext = "t.a"\n'
                                  'answer = { kind = "allocate", total = 10, unit = "£", '
                                  'options = [{ value = "a", label = "A" }, '
                                  '{ value = "b", label = "B" }] }\nsave_as = "spend"\n'
                                  'next = "done"\n' + END, "t.toml")
    assert found == [] and flow is not None and flow.fields() == {"spend": "allocate"}


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("flow", "replies", "last"), [
    ("priorities", ["1, 3 and 4", "3 1 2."], "Thank you. Housing comes up a lot"),
    ("points", ["one:50 three:30", "one:50 three:30 two:20"], "Thank you. We'll tell you"),
])
def test_simulate_json_for_each_kind(flow: str, replies: list[str], last: str) -> None:
    args = [a for r in replies for a in ("--reply", r)]
    done = run_cli("simulate", flow, "--channel", "sms", "--json", *args, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert all(m["segments"] == 1 and m["encoding"] == "GSM-7" for m in lines)
    assert lines[-1]["text"].startswith(last)


async def test_telegram_taps_through_conversations_edit_the_question_in_place(
        runtime: Runtime) -> None:
    """Each tap answers the press by editing the pressed question (ticks, the count on
    Done) instead of sending it again; going over the limit is said on the button; Done
    stores one answer holding the list and the flow goes on in new messages."""
    phone, pid = await enrolled_phone(runtime, "telegram:66")
    await runtime.conversations.start_flow(pid, "priorities")
    question = (await phone.collect())[-1]
    tokens = [c["token"] for c in question.choices]
    rows = await press(runtime, "telegram:66", tokens[0], "cb1")
    assert [r.payload["kind"] for r in rows] == ["press_ack"]
    ack = rows[0].payload
    assert ack["edit_text"] == question.payload["text"] and ack["notice"] is None
    assert [c["label"] for c in ack["edit_choices"]] == [
        "✅ Housing", "Money and bills", "Health", "Jobs", "Transport", "Done (1 chosen)"]
    assert [c["token"] for c in ack["edit_choices"]] == tokens  # the same buttons
    for n, token in enumerate(tokens[1:3], start=2):
        await press(runtime, "telegram:66", token, f"cb{n}")
    over = (await press(runtime, "telegram:66", tokens[3], "cb4"))[0].payload
    assert over["notice"] == "Please choose up to 3 options. You chose 4."
    assert over["edit_choices"][3]["label"] == "Jobs"  # not ticked
    await press(runtime, "telegram:66", tokens[1], "cb5")  # untick Money and bills
    rows = await press(runtime, "telegram:66", tokens[-1], "cb6")  # Done (2 chosen)
    assert [r.payload["kind"] for r in rows] == ["press_ack", "question"]
    assert rows[0].payload["drop_buttons"] is True
    assert rows[1].payload["text"].startswith("✓ Housing, Health\n\nNow put your top 3")
    answers = await runtime.store.answers(participant_id=pid)
    assert [(a.field, a.value, a.raw) for a in answers] == [
        ("priorities", ["housing", "health"], "Housing, Health")]


def test_tally_counts_picks_borda_points_and_amounts() -> None:
    multi = MultiAnswer(kind="multi", options=OPTIONS)
    ranking = RankingAnswer(kind="ranking", options=OPTIONS, top=2)
    spread = AllocateAnswer(kind="allocate", options=OPTIONS[:2], total=10)
    picks = tally(multi, [["housing", "jobs"], ["jobs"], None, "old text answer"])
    assert [(t.value, t.score) for t in picks] == [("housing", 1), ("health", 0),
                                                   ("parks", 0), ("jobs", 2)]
    borda = tally(ranking, [["jobs", "housing"], ["housing", "parks"], ["housing", "jobs"]])
    assert [(t.value, t.score, t.first) for t in borda] == [
        ("housing", 5, 2), ("health", 0, 0), ("parks", 1, 0), ("jobs", 3, 1)]
    amounts = tally(spread, [{"housing": 7, "health": 3}, {"health": 10}])
    assert [(t.value, t.score) for t in amounts] == [("housing", 7), ("health", 13)]


@pytest.fixture
async def site(clock: ManualClock) -> AsyncIterator[tuple[Runtime, httpx.AsyncClient]]:
    runtime, app = await build(clock)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app),
                                 base_url="http://parley.test") as client:
        yield runtime, client
    await runtime.close()


async def test_results_page_and_csv_show_several_option_answers(
        site: tuple[Runtime, httpx.AsyncClient]) -> None:
    runtime, client = site
    rows = []
    for i, (picked, ranked) in enumerate([(["housing", "jobs"], ["jobs", "housing", "money"]),
                                          (["jobs", "money"], ["jobs", "money", "health"])]):
        await enrol(runtime, f"p{i}", f"+44770090001{i}")
        rows += [AnswerRow(f"p{i}", f"s{i}", "priorities", "v", "priorities", "priorities", picked,
                           " ".join(picked), T0),
                 AnswerRow(f"p{i}", f"s{i}", "priorities", "v", "order", "ranking", ranked,
                           " ".join(ranked), T0)]
    await runtime.store.apply(Changes(answers=rows))
    await login(client)
    page = await client.get("/admin/results/priorities")
    assert page.status_code == 200
    charts = dict(re.findall(r'aria-label="(\w+) ([^"]+)"', page.text))
    assert "Jobs: 2" in charts["priorities"]  # both people picked Jobs
    assert "Jobs: 6; Housing: 2" not in charts["order"]  # flow order, not by score
    assert charts["order"].startswith("Housing: 2; Money and bills: 3; Health: 1; Jobs: 6")
    export = await client.get("/admin/results/priorities/export.csv")
    data = list(csv.DictReader(io.StringIO(export.text)))
    assert {d["value"] for d in data} >= {"housing;jobs", "jobs;money;health"}


def test_option_labels_that_are_template_keys_are_checked(renderer: Renderer) -> None:
    ask = ('[nodes.a]\ntype = "ask"\ntext = "priorities.order"\n'
           'answer = { kind = "ranking", options = [{ value = "a", label = "priorities.housing" },'
           ' { value = "b", label = "priorities.nowhere" }] }\nnext = "done"\n')
    found = problems(HEAD + ask + END, renderer=renderer, locales=("en", "cy"))
    assert [(p.line, p.message) for p in found] == [
        (8, "template 'priorities.nowhere' is missing for locale 'en'"),
        (8, "template 'priorities.nowhere' is missing for locale 'cy'")]
