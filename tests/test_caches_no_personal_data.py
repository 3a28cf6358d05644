"""No process-wide cache is keyed by, or holds, a person's data (issue 12, finding 4;
STYLE 17): after a conversation that renders someone's name and echoes their answers,
and their erasure, the engine's and the renderer's caches hold no trace of them."""

from __future__ import annotations

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
    caches = repr(runtime.renderer._memo) + repr(runtime.conversations.step_caches)
    assert runtime.conversations.step_caches.skeletons  # the shared questions were kept
    assert NAME not in caches and ANSWER not in caches


async def test_cache_keys_are_names_and_versions_not_object_ids(runtime: Runtime) -> None:
    """Keys hold the renderer, flow ids and versions, node ids, locales and a digest of
    the project's settings: no ``id()`` (reused after garbage collection) and no data
    of the person the question was rendered for."""
    phone, pid = await enrolled_phone(runtime, "tel:+447700900556", name="Ysolde")
    await runtime.conversations.start_flow(pid, "feedback")
    await phone.collect()
    caches = runtime.conversations.step_caches
    keys = [*caches.skeletons, *caches.reads_data, *caches.label_keys, *caches.dynamic,
            *caches.resolved, *caches.plans]
    assert keys
    for key in keys:
        for part in key:
            assert part is runtime.renderer or isinstance(part, str), key
            assert "Ysolde" not in str(part) and pid not in str(part)
