"""Shared fixtures: the shipped templates and flows, a fixed clock, seeded ids."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.clock import ManualClock
from bot.config import Config
from bot.engine.step import StepContext
from bot.flows.loader import FlowLibrary
from bot.i18n.renderer import Renderer
from bot.ids import SequentialIds
from bot.runtime import Runtime, open_runtime
from bot.store.memory import MemoryStore

ROOT = Path(__file__).resolve().parent.parent
T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
PROJECT = {"name": "Money Voices", "contact": "call 0800 123 456", "privacy_url": "",
           "retention_days": "365"}


@pytest.fixture(scope="session")
def renderer() -> Renderer:
    return Renderer.from_dir(ROOT / "templates")


@pytest.fixture(scope="session")
def library(renderer: Renderer) -> FlowLibrary:
    return FlowLibrary.from_dir(ROOT / "flows", renderer, ["en", "cy"])


@pytest.fixture
def ctx(renderer: Renderer) -> StepContext:
    return StepContext(renderer=renderer, project=PROJECT,
                       safeguarding_phrases=("kill myself", "no way out"),
                       signpost_key="system.signpost")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


def make_config(**sections: dict[str, object]) -> Config:
    data: dict[str, object] = {"project": {"name": "Money Voices", "contact": "call 0800 123 456",
                                           "locales": ["en", "cy"]}}
    data.update(sections)
    return Config.model_validate(data)


@pytest.fixture
async def runtime(clock: ManualClock) -> AsyncIterator[Runtime]:
    rt = await open_runtime(make_config(), store=MemoryStore(), clock=clock, ids=SequentialIds())
    yield rt
    await rt.close()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true", default=False,
                     help="rewrite tests/golden/*.json from the current engine output")
