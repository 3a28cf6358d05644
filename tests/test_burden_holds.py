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


async def test_a_round_reminder_waits_for_the_weekly_budget_but_a_reply_does_not(
        tmp_path: Path) -> None:
    """max 4 messages a week. Ann asked for HELP twice last Tuesday (two replies); round
    1 asks its question on Monday (planned within budget: question and thanks make 4);
    on Tuesday 09:30 she asks for HELP again and is answered at once, over budget or
    not. Her reminder, due Tuesday 10:00, would be a 5th message within 7 days, so it
    waits until last Tuesday's first reply is a week old."""
    start = dt.datetime(2026, 2, 24, 12, 0, tzinfo=UTC)
    p = await open_project(tmp_path, start, burden={"max_messages_per_week": 4})
    await p.person("Ann", "tel:+447700900001")
    await p.say("Ann", "HELP")
    p.clock.set(start + dt.timedelta(minutes=30))
    await p.say("Ann", "HELP")
    p.clock.set(dt.datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    item = await p.rounds.build(flow="checkin", audience="all", start="2026-03-02T10:00",
                                remind_after="1d", close_after="7d")
    await p.rounds.create(item, "test")
    await p.rounds.start(item.id, "test")
    p.reply_at(dt.datetime(2026, 3, 3, 9, 30, tzinfo=UTC), "Ann", "HELP")
    await p.run_until(dt.datetime(2026, 3, 4, 12, tzinfo=UTC))
    lines = [d.line() for d in p.log if d.kind in ("question", "reminder", "notice")]
    assert lines == [
        "2026-02-24 12:00Z Ann notice", "2026-02-24 12:30Z Ann notice",  # HELP replies
        "2026-03-02 10:00Z Ann question",
        "2026-03-03 09:30Z Ann notice",    # her own request: answered at once
        "2026-03-03 12:00Z Ann reminder",  # due 10:00; waited for room in her week
        "2026-03-03 12:00Z Ann question",  # (the reminder repeats the question)
    ]
    sent = sorted({d.at for d in p.log})
    for at in sent:  # never more than 4 in any 7 days, but for the reply she asked for
        window = {e.at for e in p.log if at - dt.timedelta(days=7) < e.at <= at}
        assert len(window) <= 4 or at == dt.datetime(2026, 3, 3, 9, 30, tzinfo=UTC), at
