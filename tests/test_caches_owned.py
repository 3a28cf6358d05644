"""The engine's caches belong to their owner (issue 18): two runtimes in one process keep
their own, and a question is never served from before its template changed."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import pytest

from bot.clock import ManualClock
from bot.engine import StepContext, begin
from bot.engine.caches import StepCaches
from bot.flows.loader import FlowLibrary
from bot.i18n.renderer import Renderer
from bot.ids import SequentialIds
from bot.runtime import Runtime, open_runtime
from bot.simulator import enrolled_phone
from bot.store.scratch import ScratchStore
from tests.conftest import T0, make_config

ROOT = Path(__file__).resolve().parent.parent
OLD = "Overall, how satisfied are you with your life nowadays?"
NEW = "All in all, how satisfied are you with your life these days?"


def templates_copy(tmp_path: Path, name: str, changed: bool) -> Path:
    folder = tmp_path / name
    shutil.copytree(ROOT / "templates", folder)
    if changed:
        ons4 = folder / "en" / "ons4.toml"
        ons4.write_text(ons4.read_text(encoding="utf-8").replace(OLD, NEW), encoding="utf-8")
    return folder


def first_question(renderer: Renderer, caches: StepCaches) -> str:
    flow = FlowLibrary.from_dir(ROOT / "flows", renderer, ["en"]).get("ons4")
    ctx = StepContext(renderer=renderer, project={"name": "P", "contact": "x"}, caches=caches)
    result = begin(flow, session_id="s_1", participant_id="p_1", locale="en",
                   now=T0, ctx=ctx)
    return next(o.text for o in result.outputs if o.kind == "question").split("\n")[0]


def test_a_changed_template_is_not_served_from_the_cache(tmp_path: Path) -> None:
    caches = StepCaches()  # one owner's tables, kept across the change
    before = Renderer.from_dir(templates_copy(tmp_path, "before", changed=False))
    assert first_question(before, caches) == OLD
    assert caches.skeletons  # the question was kept
    after = Renderer.from_dir(templates_copy(tmp_path, "after", changed=True))
    assert after.digest != before.digest
    assert first_question(after, caches) == NEW
    # and the unchanged templates are still served as they were
    assert first_question(before, caches) == OLD


RuntimeFactory = Callable[[Path], AbstractAsyncContextManager[Runtime]]


@pytest.fixture
def runtime_on() -> RuntimeFactory:
    @asynccontextmanager
    async def opened(templates: Path) -> AsyncIterator[Runtime]:
        config = make_config(project={"name": "Money Voices", "contact": "call 0800",
                                      "locales": ["en", "cy"],
                                      "templates_dir": str(templates)})
        rt = await open_runtime(config, store=ScratchStore(), clock=ManualClock(T0),
                                ids=SequentialIds())
        try:
            yield rt
        finally:
            await rt.close()
    return opened


async def test_two_runtimes_keep_their_own_caches(tmp_path: Path,
                                                  runtime_on: RuntimeFactory) -> None:
    old_dir = templates_copy(tmp_path, "old", changed=False)
    new_dir = templates_copy(tmp_path, "new", changed=True)
    async with runtime_on(old_dir) as first, runtime_on(new_dir) as second:
        assert first.conversations.step_caches is not second.conversations.step_caches
        texts = []
        for rt in (first, second, first):
            phone, pid = await enrolled_phone(rt, "tel:+447700900777")
            await rt.conversations.start_flow(pid, "ons4")
            texts.append(" ".join(r.text for r in await phone.collect()))
        assert OLD in texts[0] and NEW not in texts[0]
        assert NEW in texts[1] and OLD not in texts[1]  # not the first runtime's question
        assert OLD in texts[2]
        assert first.conversations.step_caches.skeletons
        assert second.conversations.step_caches.skeletons

