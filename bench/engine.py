"""Engine steps per second on the ONS4 flow, on one core.

Seconds are this thread's own CPU time (``time.thread_time``), not wall time: "per
second on one core" is then what it says even when other work shares the machine's
cores (wall-clock figures on the shared 2-core machine swung 2x between runs).

The baseline, run in the same process, is the "toy version" many projects start with: a
hand-written if/else survey over a dict, parsing ``int()`` and formatting f-strings, with
no validation, templates, tolerant parsing or events. The ratio shows what the real
engine costs on top of that.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.common import figure
from bot.engine import StepContext, begin, step
from bot.engine.io import Reply
from bot.flows.loader import FlowLibrary
from bot.i18n.renderer import Renderer

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 3, 2, 10, tzinfo=UTC)
REPLIES = ["7", " 6 ", "seven", "8/10"]


def engine_steps(seconds: float) -> float:
    renderer = Renderer.from_dir(ROOT / "templates")
    flow = FlowLibrary.from_dir(ROOT / "flows", renderer, ["en"]).get("ons4")
    ctx = StepContext(renderer=renderer, project={"name": "Bench", "contact": "x"})
    steps = 0
    start = time.thread_time()
    deadline = start + seconds
    while time.thread_time() < deadline:
        for _ in range(50):
            result = begin(flow, session_id="s_bench", participant_id="p", locale="en",
                           now=NOW, ctx=ctx)
            session = result.session
            for reply in REPLIES:
                session = step(flow, session, Reply(reply), NOW, ctx).session
            steps += 1 + len(REPLIES)
    return steps / (time.thread_time() - start)


QUESTIONS = [
    ("life_satisfaction", "Overall, how satisfied are you with your life nowadays?"),
    ("worthwhile", "Overall, to what extent do you feel that the things you do in your life "
                   "are worthwhile?"),
    ("happy_yesterday", "Overall, how happy did you feel yesterday?"),
    ("anxious_yesterday", "On a scale where 0 is 'not at all anxious' and 10 is 'completely "
                          "anxious', overall, how anxious did you feel yesterday?"),
]


def toy_step(state: dict[str, object], text: str | None) -> str:
    index = int(state.get("i", 0))  # type: ignore[call-overload]
    if text is not None:
        try:
            value = int(text.strip().split("/")[0])
        except ValueError:
            return "Please reply 0-10"
        if not 0 <= value <= 10:
            return "Please reply 0-10"
        state[QUESTIONS[index][0]] = value
        index += 1
        state["i"] = index
    if index >= len(QUESTIONS):
        return "Thank you."
    return f"{QUESTIONS[index][1]}\nReply 0-10"


def toy_steps(seconds: float) -> float:
    steps = 0
    start = time.thread_time()
    deadline = start + seconds
    while time.thread_time() < deadline:
        for _ in range(50):
            state: dict[str, object] = {}
            toy_step(state, None)
            for reply in ["7", " 6 ", "5", "8/10"]:
                toy_step(state, reply)
            steps += 5
    return steps / (time.thread_time() - start)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--quick", action="store_true", help="1 second per measurement")
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds = 1.0
    baseline = toy_steps(args.seconds)
    ours = engine_steps(args.seconds)
    figure("engine_steps_per_second_ons4", ours, "steps/s", baseline)


if __name__ == "__main__":
    main()
