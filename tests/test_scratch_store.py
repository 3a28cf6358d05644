"""``memory://`` and the phone simulator: a real SQLite store on a private temporary file
that is gone once the store is closed, so nothing of a trial is kept."""

from __future__ import annotations

import stat
import tempfile
from pathlib import Path

import httpx
import pytest

from bot.clock import ManualClock
from bot.store import open_store
from bot.store.records import Address, Changes, Participant
from tests.conftest import T0
from tests.test_dashboard import build, csrf_of, login

PHONE = "tel:+447700900001"


@pytest.fixture
def temp_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where temporary folders go during the test (tempfile's documented ``tempdir``)."""
    root = tmp_path / "tmp"
    root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    return root


async def test_memory_url_is_private_while_open_and_gone_after_close(temp_root: Path) -> None:
    store = open_store("memory://")
    await store.open()
    await store.apply(Changes(participant=Participant("p1", T0),
                              addresses=[Address(PHONE, "p1", "sms", T0)]))
    other = open_store("memory://")  # a second trial sees nothing of the first
    await other.open()
    assert await other.participant_for_address(PHONE) is None
    assert (await store.participant_for_address(PHONE)) is not None
    folders = sorted(temp_root.iterdir())
    assert len(folders) == 2
    for folder in folders:
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        assert stat.S_IMODE((folder / "parley.db").stat().st_mode) == 0o600
    await store.close()
    await other.close()
    assert list(temp_root.iterdir()) == []


async def test_simulator_phones_leave_nothing_once_the_service_stops(temp_root: Path) -> None:
    runtime, app = await build(ManualClock(T0))  # itself on a scratch store
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app),
                                     base_url="http://parley.test") as client:
            await login(client)
            token = csrf_of((await client.get("/admin/simulator")).text)
            await client.post("/admin/simulator/start", data={
                "csrf": token, "flow": "ons4", "locale": "en", "channel": "sms"})
            assert len(list(temp_root.iterdir())) == 2  # the project's and the phone's
        for job in app.app.state.service.jobs:
            await job.stop()
        assert len(list(temp_root.iterdir())) == 1  # the phone's store closed and removed
    finally:
        await runtime.close()
    assert list(temp_root.iterdir()) == []
