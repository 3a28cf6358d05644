"""Shared fixtures: the shipped templates and flows, a fixed clock, seeded ids."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.clock import ManualClock
from bot.config import Config
from bot.engine.context import StepContext
from bot.flows.loader import FlowLibrary
from bot.i18n.renderer import Renderer
from bot.ids import SequentialIds
from bot.runtime import Runtime, open_runtime
from bot.store.sqlite import SqliteStore
from tests.pg_cluster import PgCluster, start_cluster

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
async def runtime(clock: ManualClock, tmp_path: Path) -> AsyncIterator[Runtime]:
    store = SqliteStore(tmp_path / "parley.db", fsync=False)  # a test: no waits for the disk
    rt = await open_runtime(make_config(), store=store, clock=clock, ids=SequentialIds())
    yield rt
    await rt.close()


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    """One throwaway PostgreSQL cluster for the session (tests/pg_cluster.py); skipped
    without Debian's binaries unless PARLEY_REQUIRE_POSTGRES=1."""
    cluster = start_cluster()
    yield cluster
    cluster.stop()


@pytest.fixture
def pg_url(pg_cluster: PgCluster) -> str:
    """A migrated PostgreSQL database with nothing in it, for this test alone."""
    return pg_cluster.clean_url()


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's database, kept (``parley demo --keep-db``): a real project to copy."""
    from tests.cli_inprocess import run_cli

    path = tmp_path_factory.mktemp("demo") / "demo.db"
    ran = run_cli("demo", "--keep-db", path)
    assert ran.returncode == 0, ran.stderr
    return path


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true", default=False,
                     help="rewrite tests/golden/*.json from the current engine output")
    parser.addoption("--update-screenshots", action="store_true", default=False,
                     help="browser tests rewrite docs/screenshots/*.png (else a temp folder)")


# -- safety net: a test that forgets to close a store must not hang the whole run -------
# aiosqlite's worker threads are not daemons, so one unclosed connection keeps pytest
# from exiting after every test has passed. Track connections and stop the stragglers at
# the end, naming how many there were so the leak is still visible.
import weakref  # noqa: E402

import aiosqlite.core  # noqa: E402

_CONNECTIONS: weakref.WeakSet[aiosqlite.core.Connection] = weakref.WeakSet()
_original_init = aiosqlite.core.Connection.__init__


def _tracking_init(self: aiosqlite.core.Connection, *args: object, **kwargs: object) -> None:
    _original_init(self, *args, **kwargs)  # type: ignore[arg-type]
    _CONNECTIONS.add(self)


aiosqlite.core.Connection.__init__ = _tracking_init  # type: ignore[method-assign]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    leaked = [c for c in list(_CONNECTIONS) if c._running and c._thread.is_alive()]
    for connection in leaked:
        connection._running = False
        connection._tx.put_nowait((None, lambda: aiosqlite.core._STOP_RUNNING_SENTINEL))
    if leaked:
        session.config.pluginmanager.get_plugin("terminalreporter").write_line(
            f"warning: {len(leaked)} SQLite connection(s) were left open by tests; "
            "stopped them so the run can end")
