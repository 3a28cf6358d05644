"""What a pause and the weekly message budget hold back beyond round planning: a flow's
own no-reply nudges wait while someone has PAUSEd (across a restart) and come back after
RESUME; round reminders wait while someone is over ``max_messages_per_week``, but
replies to their own messages are never held."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from bot.simulator import SimulatedPhone
from bot.store.sqlite import SqliteStore
from tests.rounds_support import OPENED, Project, close_projects, open_project  # noqa: F401

UTC = dt.UTC
MON = dt.datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
NUDGE = "Just a gentle reminder"


def nudges(p: Project) -> list[str]:
    return [d.line() for d in p.log if d.text.startswith(NUDGE)]


async def test_pause_holds_a_flows_nudge_across_a_restart_and_resume_brings_it_back(
        tmp_path: Path) -> None:
    db = tmp_path / "parley.db"
    (tmp_path / "before").mkdir()
    (tmp_path / "after").mkdir()
    p = await open_project(tmp_path / "before", MON, store=SqliteStore(db))
    pid = await p.person("Ann", "tel:+447700900001")
    await p.runtime.conversations.start_flow(pid, "ons4")  # nudges after 2 days' silence
    await p.deliver()
    p.clock.set(MON + dt.timedelta(hours=1))
    got = await p.say("Ann", "PAUSE 1")
    assert got[0].text.startswith("Paused for 1 week")
    await OPENED.pop().close()  # the process stops; only the SQLite file remains

    p = await open_project(tmp_path / "after", MON + dt.timedelta(hours=2),
                           store=SqliteStore(db))
    p.pids["Ann"] = pid
    p.phones["Ann"] = SimulatedPhone(p.runtime, "tel:+447700900001")
    await p.run_until(MON + dt.timedelta(days=5))
    assert nudges(p) == []  # due Wednesday 09:30, held: Ann asked for a break
    now = p.clock.now()
    held = await p.work.due(now)
    assert held.timers == 0 and held.next_due is not None and held.next_due > now  # no spin
    p.clock.set(dt.datetime(2026, 3, 7, 11, 0, tzinfo=UTC))  # Saturday
    got = await p.say("Ann", "RESUME")
    assert got[0].text == "Welcome back. You'll get our next questions as usual."
    await p.run_until(dt.datetime(2026, 3, 7, 12, 0, tzinfo=UTC))
    assert nudges(p) == ["2026-03-07 11:00Z Ann info"]  # the next pass after RESUME
    got = await p.say("Ann", "7")  # the flow carries on where it was
    assert "worthwhile" in got[-1].text
