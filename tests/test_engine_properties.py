"""Property tests: no input, however odd, crashes the engine or leaves an invalid session.

There is no catch-all ``except`` in the engine, so a crash here is a real bug.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.engine import StepContext, begin, step
from bot.engine.io import Expire, Input, Press, Reply, TimerFired
from bot.flows.loader import FlowLibrary
from tests.conftest import T0

FLOWS = ["language", "consent", "onboarding", "ons4", "endorsement", "feedback"]
texts = st.one_of(
    st.text(max_size=300),
    st.sampled_from(["7", "11", "-1", "seven", "yes", "no", "SKIP", "STOP", "help", "1", "2",
                     "3", "4", "3 March", "31/02/2026", "x" * 2000, "😀", "\u202e7",
                     "7\u200b", "e\u0301", "'; DROP TABLE answers;--", "{{ 7*7 }}",
                     "{% for x in range(9999999) %}", "\ud800", "\x00", "  ", "1e309"]),
)
inputs = st.one_of(
    texts.map(Reply),
    st.text(max_size=40).map(Press),
    st.builds(TimerFired, st.sampled_from(["satisfaction", "agree", "x"]),
              st.integers(0, 5)),
    st.just(Expire()),
)
SETTINGS = settings(deadline=None, max_examples=150,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


@SETTINGS
@given(flow_id=st.sampled_from(FLOWS), script=st.lists(inputs, max_size=12),
       locale=st.sampled_from(["en", "cy"]))
def test_no_input_crashes_or_invalidates(library: FlowLibrary, ctx: StepContext,
                                         flow_id: str, script: list[Input],
                                         locale: str) -> None:
    flow = library.get(flow_id)
    result = begin(flow, session_id="s_prop0001", participant_id="p", locale=locale, now=T0,
                   ctx=ctx, vars={"finding_id": "F", "finding_title": "T", "finding_text": "X"})
    result.session.validate(flow)
    for item in script:
        before = result.session
        result = step(flow, before, item, T0, ctx)
        result.session.validate(flow)
        for output in result.outputs:
            assert isinstance(output.text, str)
        if before.finished:
            assert result.session.status == before.status  # nothing revives a finished one


@SETTINGS
@given(text=st.text(min_size=1, max_size=500))
def test_text_answers_are_kept_exactly(library: FlowLibrary, ctx: StepContext,
                                       text: str) -> None:
    """What a person writes is stored as written (only surrounding blanks trimmed)."""
    from bot.engine.keywords import classify

    flow = library.get("feedback")
    session = begin(flow, session_id="s_prop0002", participant_id="p", locale="en", now=T0,
                    ctx=ctx).session
    session = step(flow, session, Reply("1"), T0, ctx).session
    result = step(flow, session, Reply(text), T0, ctx)
    if classify(text) == "skip" or not text.strip():
        assert "change" not in result.session.fields
    else:
        assert result.session.fields["change"] == text.strip()
