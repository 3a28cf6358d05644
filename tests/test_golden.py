"""Golden conversations: replies in, messages and events out, as data files.

Each ``tests/golden/*.json`` names a flow, a locale and the replies; the expected
transcript is stored beside them. Run ``pytest tests/test_golden.py --update-golden`` to
regenerate on purpose after a deliberate wording change, then review the diff.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bot.engine import StepContext, begin, step
from bot.engine.io import Press, Reply, TimerFired
from bot.flows.loader import FlowLibrary
from tests.conftest import T0

GOLDEN = Path(__file__).parent / "golden"
CASES = sorted(GOLDEN.glob("*.json"))


def run_case(case: dict[str, Any], library: FlowLibrary, ctx: StepContext) -> list[Any]:
    flow = library.get(case["flow"])
    result = begin(flow, session_id="s_golden01", participant_id="p_golden",
                   locale=case.get("locale", "en"), now=T0, ctx=ctx, vars=case.get("vars", {}))
    session = result.session
    transcript: list[dict[str, Any]] = []
    telegram = case.get("channel") == "telegram"

    def shown(output: Any) -> Any:
        """SMS: the full plain body; Telegram: the text and its buttons."""
        if not telegram:
            return output.plain
        return {"text": output.text, "buttons": [c.label for c in output.choices]}

    def record(sent: str | None, res: Any) -> None:
        session.validate(flow)
        transcript.append({
            "send": sent,
            "messages": [shown(o) for o in res.outputs],
            "events": [e.name for e in res.events],
            "status": res.session.status,
        })

    record(None, result)
    for sent in case["replies"]:
        if sent.startswith("@press:"):
            label = sent.removeprefix("@press:")
            choices = [o for o in result.outputs if o.choices][-1].choices
            token = next(c.token for c in choices if c.label == label)
            result = step(flow, session, Press(token), T0, ctx)
        elif sent == "@timeout":
            result = step(flow, session, TimerFired(session.node, session.asked), T0, ctx)
        else:
            result = step(flow, session, Reply(sent), T0, ctx)
        session = result.session
        record(sent, result)
    transcript.append({"fields": session.fields})
    return transcript


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_golden(path: Path, library: FlowLibrary, ctx: StepContext,
                request: pytest.FixtureRequest) -> None:
    case = json.loads(path.read_text(encoding="utf-8"))
    got = run_case(case, library, ctx)
    if request.config.getoption("--update-golden"):
        case["expect"] = got
        path.write_text(json.dumps(case, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        return
    assert "expect" in case, f"{path.name} has no expected transcript: run --update-golden"
    assert got == case["expect"]


def test_there_are_golden_cases() -> None:
    assert len(CASES) >= 5
