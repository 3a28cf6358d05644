"""The real APScheduler (3.x AsyncIOScheduler) waking ``due(now)``: one short test.

Everything else about scheduling is tested on an injected clock (``time-machine`` does
not move asyncio's loop clock, so APScheduler cannot be driven that way)."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pytest

from bot.clock import SystemClock
from bot.ids import SequentialIds
from bot.runtime import open_runtime
from bot.simulator import SimulatedPhone
from bot.store.scratch import ScratchStore
from bot.wiring import round_service, scheduler_job
from tests.rounds_support import project_config, project_dir


@pytest.mark.timeout(30)
async def test_apscheduler_wakes_due_and_sends_a_round_and_its_reminder(tmp_path: Path) -> None:
    config = project_config(project_dir(tmp_path), schedule={"quiet_hours": ""})
    clock = SystemClock()
    runtime = await open_runtime(config, store=ScratchStore(), clock=clock, ids=SequentialIds())
    from tests.rounds_support import Project

    p = Project(runtime, clock, None, round_service(runtime.conversations))  # type: ignore[arg-type]
    await p.person("Ann", "tel:+447700900001")
    phone = SimulatedPhone(runtime, "tel:+447700900001")
    rounds = round_service(runtime.conversations)
    item = await rounds.build(flow="checkin", audience="all", remind_after="2s",
                              close_after="30s")
    await rounds.create(item, "test")
    await rounds.start(item.id, "test")

    job = scheduler_job(runtime, interval=5.0)  # the wake-up at the due moment comes first
    await job.start(None)
    try:
        got: list[str] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 15
        while loop.time() < deadline and "reminder" not in got:
            got += [str(m.payload.get("kind")) for m in await phone.collect()]
            await asyncio.sleep(0.05)
        assert got == ["question", "reminder", "question"]
        assert job.scheduler is not None and len(job.scheduler.get_jobs()) >= 1
        assert job.passes >= 2
        target = await runtime.store.target_get(item.id, "p_ann")
        assert target is not None and target.step == 2
        assert target.sent_at is not None and target.sent_at <= dt.datetime.now(dt.UTC)
    finally:
        await job.stop()
        await runtime.close()
    assert job.scheduler is None
