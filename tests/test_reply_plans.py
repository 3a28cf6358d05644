"""Planned steps (``bot/engine/reply_plans.py``) give exactly what the general walk gives.

``step`` takes a plan for the usual steps (a valid answer leading on to the next
question or the end, a flow's start) and the general walk for everything else. These
tests check both halves: every step of every shipped flow, whatever the input, equals
``step_general``'s (session, outputs and events, field for field); and the plans really
are taken for the usual steps and refused for the rest, so the comparison is not between
the general walk and itself.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.engine import StepContext, begin, reply_plans, step
from bot.engine.context import StepResult
from bot.engine.io import Begin, Input, Press, Reply, TimerFired
from bot.engine.session import Session
from bot.engine.step import step_general
from bot.flows.loader import FlowLibrary, parse_flow_source
from bot.i18n.renderer import Renderer
from tests.conftest import ROOT, T0

FLOWS = sorted(p.stem for p in (ROOT / "flows").glob("*.toml"))
VARS = {"finding_id": "F1", "finding_title": "Bus fares", "finding_text": "Fares went up.",
        "you_said": "Buses", "we_did": "Asked", "title": "Meeting", "event_id": "E1",
        "event_place": "Hall", "event_when": "Friday", "event_title": "Meet"}
WORDS = ["7", " 6 ", "seven", "8/10", "11", "-1", "0", "10", "1", "2", "3", "4", "5", "yes",
         "no", "Y", "nope", "SKIP", "skip", "3 March", "31/02/2026", "12", "", "  ", "😀",
         "x" * 2000, "completely", "Not at all", "agree", "12.5", "1,000", "STOP"]


def _inputs(draw: st.DrawFn, last: tuple[Press, ...]) -> Input:
    """A reply, one of the last question's buttons, a button from elsewhere or a timer."""
    choice = draw(st.integers(0, 9))
    if choice < 5:
        return Reply(draw(st.sampled_from(WORDS)))
    if choice < 8 and last:
        return draw(st.sampled_from(last))
    if choice == 8:
        return Press(draw(st.sampled_from(["s_prop0001.1.0", "nope", "s_prop0001.9.1"])))
    return TimerFired(draw(st.sampled_from(["satisfaction", "agree", "x"])),
                      draw(st.integers(0, 3)))


def _presses(outputs: tuple[object, ...]) -> tuple[Press, ...]:
    return tuple(Press(c.token) for o in outputs for c in getattr(o, "choices", ()))


@settings(deadline=None, max_examples=200,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), flow_id=st.sampled_from(FLOWS), locale=st.sampled_from(["en", "cy"]))
def test_every_step_equals_the_general_walk(library: FlowLibrary, ctx: StepContext,
                                            data: st.DataObject, flow_id: str,
                                            locale: str) -> None:
    flow = library.get(flow_id)
    fresh = Session(id="s_prop0001", participant_id="p", flow_id=flow.id,
                    flow_version=flow.version, node=flow.start, status="active",
                    locale=locale, started_at=T0, updated_at=T0)
    started = step_general(flow, fresh, Begin(dict(VARS)), T0, ctx)
    assert step(flow, fresh, Begin(dict(VARS)), T0, ctx) == started
    session, last = started.session, _presses(started.outputs)
    for _ in range(data.draw(st.integers(1, 12))):
        item = data.draw(st.composite(_inputs)(last))
        after = step_general(flow, session, item, T0, ctx)
        assert step(flow, session, item, T0, ctx) == after, (flow_id, session.node, item)
        session, last = after.session, _presses(after.outputs) or last


def _survey(library: FlowLibrary, ctx: StepContext) -> tuple[Session, StepResult]:
    """An ONS4 session at its first question, after another person went through the
    survey (so every question's skeleton is shared)."""
    flow = library.get("ons4")
    other = begin(flow, session_id="s_other001", participant_id="p0", locale="en", now=T0,
                  ctx=ctx).session
    for text in ["7", "6", "5", "4"]:
        other = step(flow, other, Reply(text), T0, ctx).session
    mine = begin(flow, session_id="s_mine0001", participant_id="p1", locale="en", now=T0,
                 ctx=ctx)
    return other, mine


def test_a_survey_is_answered_by_plans(library: FlowLibrary, ctx: StepContext) -> None:
    flow = library.get("ons4")
    session = _survey(library, ctx)[1].session
    fresh = Session(id="s_mine0002", participant_id="p1", flow_id=flow.id,
                    flow_version=flow.version, node=flow.start, status="active",
                    locale="en", started_at=T0, updated_at=T0)
    started = reply_plans.started(flow, fresh, {}, T0, ctx)
    assert started is not None and started == step_general(flow, fresh, Begin({}), T0, ctx)
    assert [o.kind for o in started.outputs] == ["info", "question"]
    for text in ["7", " 6 ", "seven", "8/10"]:  # the last one ends the survey
        planned = reply_plans.reply(flow, session, text, T0, ctx)
        assert planned is not None, (session.node, text)
        assert planned == step_general(flow, session, Reply(text), T0, ctx)
        session = planned.session
    assert session.status == "completed"
    assert session.fields == {"life_satisfaction": 7, "worthwhile": 6, "happy_yesterday": 7,
                              "anxious_yesterday": 8}
    assert [e.name for e in planned.events] == ["AnswerRecorded", "FlowCompleted"]


def test_a_button_is_answered_by_its_plan(library: FlowLibrary, ctx: StepContext) -> None:
    flow = library.get("ons4")
    _, started = _survey(library, ctx)
    session = started.session
    seven = next(c for c in started.outputs[-1].choices if c.key == "7")
    planned = reply_plans.press(flow, session, seven.token, T0, ctx)
    assert planned is not None
    assert planned == step_general(flow, session, Press(seven.token), T0, ctx)
    assert planned.session.fields["life_satisfaction"] == 7
    assert planned.outputs[0].node == "worthwhile"
    # a button of an earlier asking, or made up, is left to the general step's refusal
    assert reply_plans.press(flow, session, "s_mine0001.9.7", T0, ctx) is None
    assert reply_plans.press(flow, session, seven.token + "0", T0, ctx) is None


def test_what_plans_leave_to_the_general_walk(library: FlowLibrary, ctx: StepContext) -> None:
    flow = library.get("ons4")
    session = _survey(library, ctx)[1].session
    for text in ["SKIP", "11", "banana", "", "😀"]:  # skipped, or re-prompted
        assert reply_plans.reply(flow, session, text, T0, ctx) is None, text
    # a question not yet worked out for this locale: the general step works it out
    welsh = begin(flow, session_id="s_cy000001", participant_id="p2", locale="cy", now=T0,
                  ctx=StepContext(renderer=ctx.renderer, project=ctx.project)).session
    assert reply_plans.reply(flow, welsh, "7", T0, ctx) is None
    # an answer that updates the person (their language) is never planned
    language = library.get("language")
    assert reply_plans.plan_for(language, language.start, ctx.caches) is None


PERSONAL = """\
schema_version = 1
id = "personal"
title = "Personal"
start = "first"

[nodes.first]
type = "ask"
text = "p.first"
answer = { kind = "scale", min = 0, max = 10 }
save_as = "first"
next = "greet"

[nodes.greet]
type = "say"
text = "p.greet"
next = "second"

[nodes.second]
type = "ask"
text = "p.second"
answer = { kind = "yes_no" }
save_as = "second"
next = "third"

[nodes.third]
type = "ask"
text = "p.third"
answer = { kind = "number" }
save_as = "third"
next = "done"

[nodes.done]
type = "end"
text = "p.done"
"""


def test_text_that_reads_someones_data_is_never_planned() -> None:
    renderer = Renderer({"en": {
        "p.first": "How are you?", "p.greet": "Thanks {{ participant.name }}.",
        "p.second": "Is that right, {{ participant.name }}?", "p.third": "How many?",
        "p.done": "Done, {{ fields.third }}."}})
    flow = parse_flow_source(PERSONAL, "personal.toml")
    for name in ["Ann", "Bea"]:  # the second person finds the first's steps worked out
        ctx = StepContext(renderer=renderer, participant={"name": name})
        session = begin(flow, session_id=f"s_{name}00001", participant_id=name, locale="en",
                        now=T0, ctx=ctx).session
        # the message after "first" greets the person by name: the general walk
        assert reply_plans.reply(flow, session, "7", T0, ctx) is None
        session = step(flow, session, Reply("7"), T0, ctx).session
        assert reply_plans.reply(flow, session, "yes", T0, ctx) is None  # its text reads a name
        session = step(flow, session, Reply("yes"), T0, ctx).session
        assert reply_plans.reply(flow, session, "3", T0, ctx) is None  # the end reads answers
        done = step(flow, session, Reply("3"), T0, ctx)
        assert [o.text for o in done.outputs] == ["Done, 3."]
    assert all(key[:2] == (flow.id, flow.version) and "Ann" not in key and "Bea" not in key
               for key in ctx.caches.plans)


def test_plans_are_kept_by_flow_version_and_node_only(library: FlowLibrary,
                                                      ctx: StepContext) -> None:
    _survey(library, ctx)
    flow = library.get("ons4")
    assert set(ctx.caches.plans) == {(flow.id, flow.version, node) for node in
                                     [reply_plans.START, "satisfaction", "worthwhile",
                                      "happy", "anxious"]}
    ctx.caches.clear()
    assert ctx.caches.plans == {}
