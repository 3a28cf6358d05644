"""A question's buttons as one ``Choices`` object: they read, compare and reach the
outbox exactly as the tuple of ``Choice`` they stand for (issue 18)."""

from __future__ import annotations

from bot.conversations.unit import payload_of
from bot.engine import StepContext, begin, step
from bot.engine.io import Choice, Reply
from bot.flows.loader import FlowLibrary
from tests.conftest import T0


def test_scale_buttons_read_and_reach_the_outbox_as_before(library: FlowLibrary,
                                                            ctx: StepContext) -> None:
    flow = library.get("ons4")
    first = begin(flow, session_id="s_test0001", participant_id="p1", locale="en", now=T0,
                  ctx=ctx)
    question = first.outputs[-1]
    expected = tuple(Choice(str(v), str(v), v, f"test0001.1.{v}") for v in range(11))
    assert question.choices == expected and expected == question.choices
    assert tuple(question.choices) == expected and list(question.choices) == list(expected)
    assert len(question.choices) == 11 and question.choices[7] == expected[7]
    assert question.choices[-2:] == expected[-2:]
    assert hash(question.choices) == hash(expected) and repr(question.choices) == repr(expected)
    payload = payload_of(question, first.session)
    assert payload["choices"] == [c._asdict() for c in expected]
    assert payload["choices"][7] == {"key": "7", "label": "7", "value": 7,
                                     "token": "test0001.1.7"}

    second = step(flow, first.session, Reply("7"), T0, ctx).outputs[-1]
    assert [c.token for c in second.choices][:2] == ["test0001.2.0", "test0001.2.1"]
    assert second.choices != question.choices  # the next asking: new tokens
