"""The pure engine: answers, re-prompts, branching, buttons, timers, keywords, validity."""

from __future__ import annotations

import dataclasses
import datetime as dt
import textwrap

import pytest

from bot.engine import StepContext, begin, step
from bot.engine import events as ev
from bot.engine.io import Expire, Press, Reply, TimerFired
from bot.engine.keywords import classify
from bot.engine.session import InvalidSession
from bot.flows.loader import FlowLibrary, validate_source
from bot.flows.models import Flow
from bot.i18n.renderer import Renderer
from tests.conftest import T0


def start(flow: Flow, ctx: StepContext, **kw: object):  # type: ignore[no-untyped-def]
    return begin(flow, session_id="s_test0001", participant_id="p1", locale="en", now=T0,
                 ctx=ctx, **kw)  # type: ignore[arg-type]


def names(result) -> list[str]:  # type: ignore[no-untyped-def]
    return [e.name for e in result.events]


def test_ons4_asks_the_exact_ons_questions(library: FlowLibrary, ctx: StepContext) -> None:
    flow = library.get("ons4")
    result = start(flow, ctx)
    asked = [result.outputs[-1].text]
    session = result.session
    for answer in ["7", "7", "7"]:
        result = step(flow, session, Reply(answer), T0, ctx)
        session = result.session
        asked.append(result.outputs[-1].text.split("\n")[0])
    assert asked[0].startswith("Overall, how satisfied are you with your life nowadays?")
    assert asked[1:] == [
        "Overall, to what extent do you feel that the things you do in your life are worthwhile?",
        "Overall, how happy did you feel yesterday?",
        "On a scale where 0 is 'not at all anxious' and 10 is 'completely anxious', overall, "
        "how anxious did you feel yesterday?",
    ]


@pytest.mark.parametrize("reply,value", [
    ("7", 7), (" 7 ", 7), ("7/10", 7), ("seven", 7), ("Seven!", 7), ("7 out of 10", 7),
    ("0", 0), ("10", 10), ("completely", 10), ("Not at all", 0), ("saith", 7),
])
def test_scale_accepts_what_people_write(library: FlowLibrary, ctx: StepContext,
                                         reply: str, value: int) -> None:
    flow = library.get("ons4")
    result = step(flow, start(flow, ctx).session, Reply(reply), T0, ctx)
    assert result.session.fields["life_satisfaction"] == value
    recorded = [e for e in result.events if isinstance(e, ev.AnswerRecorded)]
    assert recorded[0].raw == reply  # the person's own words, byte for byte


@pytest.mark.parametrize("reply", ["eleven", "-1", "11", "😀", "x" * 2000, "", "7.5",
                                   "5 or 6", "{{ 7*7 }}"])
def test_scale_reprompts_kindly_on_invalid(library: FlowLibrary, ctx: StepContext,
                                           reply: str) -> None:
    flow = library.get("ons4")
    first = start(flow, ctx).session
    result = step(flow, first, Reply(reply), T0, ctx)
    assert result.session.node == "satisfaction" and result.session.status == "waiting"
    assert [o.plain for o in result.outputs] == [
        "Sorry, I need a number from 0 to 10. Or reply SKIP."]
    assert names(result) == ["AnswerRejected"]
    assert "life_satisfaction" not in result.session.fields


@pytest.mark.parametrize("reply,value", [("y", True), ("Yes!", True), ("nope", False),
                                         ("1", True), ("2", False), ("No thanks", False)])
def test_yes_no(library: FlowLibrary, ctx: StepContext, reply: str, value: bool) -> None:
    flow = library.get("feedback")
    session = start(flow, ctx).session
    session = step(flow, session, Reply("1"), T0, ctx).session
    session = step(flow, session, Reply("SKIP"), T0, ctx).session
    result = step(flow, session, Reply(reply), T0, ctx)
    assert result.session.fields["again"] is value


@pytest.mark.parametrize("reply,value", [("2", "partly"), ("partly agree", "partly"),
                                         ("Disagree", "disagree"), ("disagre", "disagree"),
                                         ("AGREE.", "agree")])
def test_choice_by_number_label_or_typo(library: FlowLibrary, ctx: StepContext, reply: str,
                                        value: str) -> None:
    flow = library.get("endorsement")
    session = start(flow, ctx, vars={"finding_id": "F", "finding_title": "T",
                                     "finding_text": "X"}).session
    assert step(flow, session, Reply(reply), T0, ctx).session.fields["endorse"] == value


def test_skip_where_allowed_and_not_where_forbidden(library: FlowLibrary,
                                                    ctx: StepContext) -> None:
    ons4 = library.get("ons4")
    result = step(ons4, start(ons4, ctx).session, Reply("skip"), T0, ctx)
    assert names(result)[0] == "AnswerSkipped" and result.session.node == "worthwhile"
    consent = library.get("consent")
    result = step(consent, start(consent, ctx).session, Reply("Skip"), T0, ctx)
    assert result.session.node == "agree" and result.outputs[0].kind == "reprompt"
    assert "can't be skipped" in result.outputs[0].text


def test_button_press_and_stale_button(library: FlowLibrary, ctx: StepContext) -> None:
    flow = library.get("ons4")
    first = start(flow, ctx)
    question = first.outputs[-1]
    seven = next(c for c in question.choices if c.label == "7")
    assert len(seven.token.encode()) <= 60  # room for a prefix within Telegram's 64 bytes
    result = step(flow, first.session, Press(seven.token), T0, ctx)
    assert result.session.fields["life_satisfaction"] == 7
    stale = step(flow, result.session, Press(seven.token), T0, ctx)
    assert stale.session.fields == result.session.fields
    assert names(stale) == ["StaleInputIgnored"]
    assert "That question has closed" in stale.outputs[0].text


def test_timeout_branch_and_stale_timer(library: FlowLibrary, ctx: StepContext) -> None:
    flow = library.get("ons4")
    first = start(flow, ctx)
    timer = next(e for e in first.events if isinstance(e, ev.TimerScheduled))
    assert timer.due == T0 + dt.timedelta(days=2)
    answered = step(flow, first.session, Reply("5"), T0, ctx)
    late = step(flow, answered.session, TimerFired(timer.node, timer.asked), T0, ctx)
    assert names(late) == ["StaleInputIgnored"] and late.outputs == ()
    nudged = step(flow, first.session, TimerFired(timer.node, timer.asked), T0, ctx)
    assert "gentle reminder" in nudged.outputs[0].text
    assert nudged.session.node == "satisfaction" and nudged.session.asked == 2


def test_expire(library: FlowLibrary, ctx: StepContext) -> None:
    flow = library.get("ons4")
    result = step(flow, start(flow, ctx).session, Expire(), T0, ctx)
    assert result.session.status == "expired" and names(result) == ["FlowExpired"]


def test_language_choice_switches_rendering(library: FlowLibrary, ctx: StepContext) -> None:
    flow = library.get("language")
    result = step(flow, start(flow, ctx).session, Reply("2"), T0, ctx)
    assert result.session.locale == "cy"
    assert ev.ParticipantUpdated("locale", "cy") in result.events


def test_consent_events(library: FlowLibrary, ctx: StepContext) -> None:
    flow = library.get("consent")
    yes = step(flow, start(flow, ctx).session, Reply("yes"), T0, ctx)
    assert ev.ConsentGiven("2026-11-v1") in yes.events
    no = step(flow, start(flow, ctx).session, Reply("no"), T0, ctx)
    assert ev.ConsentDeclined("2026-11-v1") in no.events
    assert no.session.node == "declined" and no.session.status == "completed"


def test_participant_text_is_never_rendered_as_a_template(library: FlowLibrary,
                                                          ctx: StepContext) -> None:
    flow = library.get("onboarding")
    result = step(flow, start(flow, ctx).session, Reply("{{ 7*7 }}"), T0, ctx)
    result = step(flow, result.session, Reply("skip"), T0, ctx)
    result = step(flow, result.session, Reply("skip"), T0, ctx)
    result = step(flow, result.session, Reply("skip"), T0, ctx)
    assert result.outputs[-1].text.startswith("Thanks {{ 7*7 }}!")


def _tiny(source: str) -> Flow:
    flow, problems = validate_source(textwrap.dedent(source), "tiny.toml")
    assert flow is not None, problems
    return flow


def test_runtime_expression_error_becomes_an_event_not_a_crash(renderer: Renderer) -> None:
    flow = _tiny("""\
        schema_version = 1
        id = "tiny"
        title = "T"
        start = "n"
        [nodes.n]
        type = "ask"
        text = "x.q"
        answer = { kind = "text" }
        save_as = "word"
        next = { when = [ { if = "word > 3", go = "done" } ], else = "done" }
        [nodes.done]
        type = "end"
        """)
    ctx = StepContext(renderer=Renderer({"en": {"x.q": "Say a word", "system.skip_hint": "",
                                                "system.moving_on": ""}}))
    result = step(flow, start(flow, ctx).session, Reply("hello"), T0, ctx)
    assert result.session.status == "completed"
    errors = [e for e in result.events if isinstance(e, ev.FlowErrored)]
    assert errors and "needs numbers" in errors[0].message


def test_memoised_questions_follow_the_flow_and_its_version() -> None:
    """Questions are worked out once and reused; a new version of a flow with the same
    ids, or another flow, under the same context must still ask its own words."""
    source = """\
        schema_version = 1
        id = "{id}"
        version = "{version}"
        title = "T"
        start = "q"
        [nodes.q]
        type = "ask"
        text = "{key}"
        answer = {{ kind = "choice", options = [ {{ value = "a", label = "{label}" }},
                                                 {{ value = "b", label = "No" }} ] }}
        next = "done"
        [nodes.done]
        type = "end"
        """
    ctx = StepContext(renderer=Renderer({"en": {
        "x.one": "Old words?", "x.two": "New words?", "system.skip_hint": "",
        "system.reprompt_choice": "Pick one", "system.moving_on": ""}}))
    old = _tiny(source.format(id="f", version="1", key="x.one", label="Yes"))
    new = _tiny(source.format(id="f", version="2", key="x.two", label="Sure"))
    other = _tiny(source.format(id="g", version="1", key="x.two", label="Fine"))
    for _ in range(2):  # the second time from the memo
        asked = [start(flow, ctx).outputs[-1] for flow in (old, new, other)]
        assert [q.text for q in asked] == ["Old words?", "New words?", "New words?"]
        assert [[c.label for c in q.choices] for q in asked] == [
            ["Yes", "No"], ["Sure", "No"], ["Fine", "No"]]


def test_set_node_loop_is_stopped(renderer: Renderer) -> None:
    flow = _tiny("""\
        schema_version = 1
        id = "loop"
        title = "T"
        start = "a"
        [nodes.a]
        type = "set"
        field = "n"
        value = "n + 1"
        next = { when = [ { if = "n > 100000", go = "done" } ], else = "a" }
        [nodes.done]
        type = "end"
        """)
    ctx = StepContext(renderer=renderer)
    result = start(flow, ctx)
    assert result.session.status == "stopped"
    assert any(isinstance(e, ev.FlowErrored) and "loop" in e.message for e in result.events)


def test_session_validate_catches_broken_sessions(library: FlowLibrary,
                                                  ctx: StepContext) -> None:
    flow = library.get("ons4")
    good = start(flow, ctx).session
    good.validate(flow)
    with pytest.raises(InvalidSession):
        dataclasses.replace(good, node="nowhere").validate(flow)
    with pytest.raises(InvalidSession):
        dataclasses.replace(good, fields={"life_satisfaction": "high"}).validate(flow)
    with pytest.raises(InvalidSession):
        dataclasses.replace(good, status="dancing").validate(flow)  # type: ignore[arg-type]
    with pytest.raises(InvalidSession):
        dataclasses.replace(good, node="intro").validate(flow)  # waiting on a say node
    with pytest.raises(InvalidSession):
        good.validate(library.get("feedback"))


@pytest.mark.parametrize("text,word", [
    ("STOP", "stop"), ("stop", "stop"), (" Stop. ", "stop"), ("S T O P", "stop"),
    ("unsubscribe", "stop"), ("Cancel", "stop"), ("end", "stop"), ("quit!", "stop"),
    ("stopall", "stop"), ("start", "start"), ("UNSTOP", "start"), ("help", "help"),
    ("info", "help"), ("/help", "help"), ("/stop@parley_bot", "stop"), ("skip", "skip"),
    ("DELETE", "delete"), ("balance", "balance"), ("yes", "yes"), ("menu", "menu"),
    ("stop it now please", None), ("7", None), ("helpful", None), ("", None),
])
def test_global_words(text: str, word: str | None) -> None:
    assert classify(text) == word


def test_engine_is_deterministic(library: FlowLibrary, ctx: StepContext) -> None:
    flow = library.get("ons4")
    a = start(flow, ctx)
    b = start(flow, ctx)
    assert a == b
