"""No process-wide cache is keyed by, or holds, a person's data (issue 12, finding 4;
STYLE 17): after a conversation that renders someone's name and echoes their answers,
and their erasure, the engine's and the renderer's caches hold no trace of them."""

from __future__ import annotations

from bot.engine.step import _SKELETONS
from bot.runtime import Runtime
from bot.simulator import enrolled_phone

NAME = "Quillonia"
ANSWER = "grapefruit"


async def test_caches_hold_no_name_or_answer(runtime: Runtime) -> None:
    phone, pid = await enrolled_phone(runtime, "tel:+447700900555", name="x")
    await runtime.conversations.start_flow(pid, "onboarding")
    await phone.collect()
    replies = [r.text for r in await phone.say(NAME)]
    for choice in ("1", "1", "1"):  # contact time, channel, payment
        replies += [r.text for r in await phone.say(choice)]
    assert any(f"Thanks {NAME}!" in r for r in replies)  # the name was rendered
    await runtime.conversations.start_flow(pid, "feedback")
    await phone.collect()
    await phone.say("1")
    await phone.say(ANSWER)
    seen = " ".join(replies + [r.text for r in await phone.say("DELETE")]
                    + [r.text for r in await phone.say("DELETE")])
    assert "erased" in seen
    caches = repr(runtime.renderer._memo) + repr(_SKELETONS)
    assert NAME not in caches and ANSWER not in caches
