"""Rounds on an injected clock: ``due(now)`` driven through a whole project.

The clock only moves when the test says so; ``Project.run_until`` wakes ``due`` at each
next due moment exactly as the APScheduler job does in ``parley serve``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pytest

from bot.conversations.bundle import kinds
from bot.store.sqlite import SqliteStore
from bot.timing import is_quiet
from tests.rounds_support import Project, close_projects, open_project  # noqa: F401  (autouse)

UTC = dt.UTC
LONDON_QUIET = "21:00-09:00"


async def checkin_series(p: Project, **kw: str) -> str:
    item = await p.rounds.build(flow="checkin", audience="all", start="2026-03-02T10:00",
                                every="14d", until="2026-05-24", remind_after="2d,5d",
                                close_after="7d", label="checkin", **kw)
    await p.rounds.create(item, "test")
    await p.rounds.start(item.id, "test")
    return item.id


async def test_twelve_weeks_of_fortnightly_checkins_across_time_zones_and_dst(
        tmp_path: Path) -> None:
    """Six fortnightly check-ins from Mon 2 March 2026, 10:00 London time. Clocks change
    in New York on 8 March and in London on 29 March.

    - Ann (London, SMS) answers within half an hour: no reminders. 10:00 London is
      10:00Z in GMT, then 09:00Z in BST: the series keeps the wall-clock time.
    - Bob (New York, Telegram, his own quiet hours 21:00-10:00) never answers until
      the last round, after its close: the first send waits for 10:00 his time (15:00Z
      in EST, 14:00Z in EDT); reminders 2 and 5 days after *his* send; his late answer
      is kept and marked late.
    - Cerys (London, Telegram) said evenings suit her: 17:00 her time; she answers an
      hour after the first reminder, so gets no second one.
    """
    clock_start = dt.datetime(2026, 3, 1, 12, tzinfo=UTC)
    p = await open_project(tmp_path, clock_start, store=SqliteStore(tmp_path / "parley.db"))
    await p.person("Ann", "tel:+447700900001")
    await p.person("Bob", "telegram:2002", timezone="America/New_York",
                   quiet_hours="21:00-10:00")
    await p.person("Cerys", "telegram:2003", contact_time="evening")
    series = await checkin_series(p)

    async def script(proj: Project, who: str, got: list) -> None:  # type: ignore[type-arg]
        for msg in got:
            parts = kinds(msg.payload)  # a reminder and its question: one message
            if who == "Ann" and "question" in parts:
                proj.reply_at(proj.clock.now() + dt.timedelta(minutes=30), "Ann", "7")
            if who == "Cerys" and "reminder" in parts:
                proj.reply_at(proj.clock.now() + dt.timedelta(hours=1), "Cerys", "6")

    p.reply_at(dt.datetime(2026, 5, 19, 15, tzinfo=UTC), "Bob", "4")  # after his close
    await p.run_until(dt.datetime(2026, 5, 26, tzinfo=UTC), script)

    assert [d.line() for d in p.log] == [
        "2026-03-02 10:00Z Ann question",
        "2026-03-02 10:30Z Ann end",
        "2026-03-02 15:00Z Bob question",
        "2026-03-02 17:00Z Cerys question",
        "2026-03-04 15:00Z Bob reminder",
        "2026-03-04 15:00Z Bob question",
        "2026-03-04 17:00Z Cerys reminder",
        "2026-03-04 17:00Z Cerys question",
        "2026-03-04 18:00Z Cerys end",
        "2026-03-07 15:00Z Bob reminder",
        "2026-03-07 15:00Z Bob question",
        "2026-03-16 10:00Z Ann question",
        "2026-03-16 10:30Z Ann end",
        "2026-03-16 14:00Z Bob question",
        "2026-03-16 17:00Z Cerys question",
        "2026-03-18 14:00Z Bob reminder",
        "2026-03-18 14:00Z Bob question",
        "2026-03-18 17:00Z Cerys reminder",
        "2026-03-18 17:00Z Cerys question",
        "2026-03-18 18:00Z Cerys end",
        "2026-03-21 14:00Z Bob reminder",
        "2026-03-21 14:00Z Bob question",
        "2026-03-30 09:00Z Ann question",
        "2026-03-30 09:30Z Ann end",
        "2026-03-30 14:00Z Bob question",
        "2026-03-30 16:00Z Cerys question",
        "2026-04-01 14:00Z Bob reminder",
        "2026-04-01 14:00Z Bob question",
        "2026-04-01 16:00Z Cerys reminder",
        "2026-04-01 16:00Z Cerys question",
        "2026-04-01 17:00Z Cerys end",
        "2026-04-04 14:00Z Bob reminder",
        "2026-04-04 14:00Z Bob question",
        "2026-04-13 09:00Z Ann question",
        "2026-04-13 09:30Z Ann end",
        "2026-04-13 14:00Z Bob question",
        "2026-04-13 16:00Z Cerys question",
        "2026-04-15 14:00Z Bob reminder",
        "2026-04-15 14:00Z Bob question",
        "2026-04-15 16:00Z Cerys reminder",
        "2026-04-15 16:00Z Cerys question",
        "2026-04-15 17:00Z Cerys end",
        "2026-04-18 14:00Z Bob reminder",
        "2026-04-18 14:00Z Bob question",
        "2026-04-27 09:00Z Ann question",
        "2026-04-27 09:30Z Ann end",
        "2026-04-27 14:00Z Bob question",
        "2026-04-27 16:00Z Cerys question",
        "2026-04-29 14:00Z Bob reminder",
        "2026-04-29 14:00Z Bob question",
        "2026-04-29 16:00Z Cerys reminder",
        "2026-04-29 16:00Z Cerys question",
        "2026-04-29 17:00Z Cerys end",
        "2026-05-02 14:00Z Bob reminder",
        "2026-05-02 14:00Z Bob question",
        "2026-05-11 09:00Z Ann question",
        "2026-05-11 09:30Z Ann end",
        "2026-05-11 14:00Z Bob question",
        "2026-05-11 16:00Z Cerys question",
        "2026-05-13 14:00Z Bob reminder",
        "2026-05-13 14:00Z Bob question",
        "2026-05-13 16:00Z Cerys reminder",
        "2026-05-13 16:00Z Cerys question",
        "2026-05-13 17:00Z Cerys end",
        "2026-05-16 14:00Z Bob reminder",
        "2026-05-16 14:00Z Bob question",
        "2026-05-19 15:00Z Bob end",
    ]
    # nobody was messaged in their quiet hours, in their own time zone
    zones = {"Ann": ("Europe/London", LONDON_QUIET), "Cerys": ("Europe/London", LONDON_QUIET),
             "Bob": ("America/New_York", "21:00-10:00")}
    for d in p.log:
        if d.kind != "end":  # an answer's own acknowledgement is not a round message
            assert not is_quiet(d.at, *zones[d.who]), d.line()

    rounds = await p.store.rounds_all()
    assert [(r.id, r.status, f"{r.start_at:%d %b %H:%M}") for r in rounds] == [
        (series, "closed", "02 Mar 10:00"), (f"{series}-2", "closed", "16 Mar 10:00"),
        (f"{series}-3", "closed", "30 Mar 09:00"), (f"{series}-4", "closed", "13 Apr 09:00"),
        (f"{series}-5", "closed", "27 Apr 09:00"), (f"{series}-6", "closed", "11 May 09:00")]
    bob = [(a.round_id, a.value, a.late) for a in await p.store.answers()
           if a.participant_id == "p_bob"]
    assert bob == [(f"{series}-6", 4, True)]
    status = await p.rounds.status(f"{series}-6")
    assert (status["targeted"], status["sent"], status["completed"]) == (3, 3, 3)
    first = await p.rounds.status(series)
    assert (first["targeted"], first["sent"], first["started"], first["completed"]) == \
        (3, 3, 2, 2)
    assert first["by_channel"]["sms"]["segments_estimated"] == 2
    targets = {t.participant_id: t for t in await p.store.targets_of(series)}
    assert targets["p_bob"].status == "closed" and targets["p_ann"].status == "completed"
    # every answer earned its credit once: 6 for Ann, 6 for Cerys, 1 for Bob
    ledger = await p.store.ledger()
    assert sorted((e.participant_id, e.amount) for e in ledger).count(("p_ann", 500)) == 6
    assert len(ledger) == 13
    await p.runtime.close()


async def one_round(p: Project, flow: str = "checkin", **kw: str) -> str:
    item = await p.rounds.build(flow=flow, audience=kw.pop("audience", "all"), **kw)
    await p.rounds.create(item, "test")
    await p.rounds.start(item.id, "test")
    return item.id


async def test_after_downtime_at_most_one_reminder_and_never_at_night(tmp_path: Path) -> None:
    """The server is off from just after the first send until 02:00 on day 3: three
    reminders were due by then. Nothing goes out at night; at 09:00 exactly one (the
    latest) is sent, and the person is not messaged again before the close."""
    p = await open_project(tmp_path, dt.datetime(2026, 3, 2, 10, tzinfo=UTC))
    await p.person("Ann", "tel:+447700900001")
    rid = await one_round(p, remind_after="1d,2d,2d12h", close_after="6d")
    await p.work.due(p.clock.now())
    await p.deliver()
    assert [d.line() for d in p.log] == ["2026-03-02 10:00Z Ann question"]

    p.clock.set(dt.datetime(2026, 3, 5, 2, tzinfo=UTC))  # back on, in the night
    report = await p.work.due(p.clock.now())
    await p.deliver()
    assert report.deferred == 1 and len(p.log) == 1
    await p.run_until(dt.datetime(2026, 3, 9, tzinfo=UTC))
    assert [d.line() for d in p.log] == [
        "2026-03-02 10:00Z Ann question",
        "2026-03-05 09:00Z Ann reminder", "2026-03-05 09:00Z Ann question"]
    target = await p.store.target_get(rid, "p_ann")
    assert target is not None and target.status == "closed"


async def test_reminders_long_past_are_skipped_not_sent(tmp_path: Path) -> None:
    p = await open_project(tmp_path, dt.datetime(2026, 3, 2, 10, tzinfo=UTC))
    await p.person("Ann", "tel:+447700900001")
    rid = await one_round(p, remind_after="1d", close_after="10d")
    await p.work.due(p.clock.now())
    await p.deliver()
    p.clock.set(dt.datetime(2026, 3, 6, 12, tzinfo=UTC))  # reminder was due 3 days ago
    report = await p.work.due(p.clock.now())
    await p.deliver()
    assert report.skipped_reminders == 1 and report.reminded == 0
    assert [d.kind for d in p.log] == ["question"]
    target = await p.store.target_get(rid, "p_ann")
    assert target is not None and target.status == "sent" and target.step == 2


async def test_two_schedulers_never_send_the_same_step_twice(tmp_path: Path) -> None:
    """Two passes at once (say a second process by mistake) over one SQLite file: each
    person gets the round's message once; the loser's step is rolled back whole."""
    from bot.wiring import due_work

    p = await open_project(tmp_path, dt.datetime(2026, 3, 2, 10, tzinfo=UTC),
                           store=SqliteStore(tmp_path / "parley.db"))
    for n in range(12):
        await p.person(f"P{n}", f"tel:+4477009{n:05d}")
    rid = await one_round(p, remind_after="1d")
    other = due_work(p.runtime)
    reports = await asyncio.gather(p.work.due(p.clock.now()), other.due(p.clock.now()))
    assert sum(r.sent for r in reports) == 12
    rows = await p.store.outbox_all(round_id=rid)
    assert sorted(r.participant_id for r in rows) == sorted(p.pids.values())
    p.clock.set(dt.datetime(2026, 3, 3, 10, tzinfo=UTC))
    reports = await asyncio.gather(p.work.due(p.clock.now()), other.due(p.clock.now()))
    assert sum(r.reminded for r in reports) == 12
    assert len(await p.store.outbox_all(round_id=rid)) == 12 * 3


async def test_a_stale_copy_of_a_target_changes_nothing(tmp_path: Path) -> None:
    from bot.store.records import Changes
    from bot.store.rounds_base import StaleWrite

    p = await open_project(tmp_path, dt.datetime(2026, 3, 2, 10, tzinfo=UTC))
    await p.person("Ann", "tel:+447700900001")
    rid = await one_round(p, remind_after="1d")
    stale = await p.store.target_get(rid, "p_ann")
    await p.work.due(p.clock.now())  # the first send moves the target on
    assert stale is not None
    stale.status = "closed"
    with pytest.raises(StaleWrite):
        await p.store.apply(Changes(targets=[stale]))
    target = await p.store.target_get(rid, "p_ann")
    assert target is not None and target.status == "sent"


async def test_imported_person_gets_an_introduction_then_consent_then_the_round(
        tmp_path: Path) -> None:
    p = await open_project(tmp_path, dt.datetime(2026, 3, 2, 10, tzinfo=UTC))
    await p.person("Dai", "tel:+447700900009", status="new")
    rid = await one_round(p, remind_after="2d")
    await p.work.due(p.clock.now())
    await p.deliver()
    texts = [d.text for d in p.log]
    assert texts[0].startswith("Hello, this is Money Voices. We'd like to invite you")
    assert "STOP" in texts[0]
    assert any("Do you agree to take part" in t for t in texts)
    assert not any("last two weeks" in t for t in texts)  # not before they agree
    target = await p.store.target_get(rid, "p_dai")
    assert target is not None and target.status == "consenting"
    await p.say("Dai", "yes")
    for answer in ["Dai", "1", "2", "1"]:  # onboarding, then the round's flow
        await p.say("Dai", answer)
    assert p.log[-1].text.startswith("(About 1 minute.) How have the last two weeks been")
    target = await p.store.target_get(rid, "p_dai")
    assert target is not None and target.status == "sent"
    assert target.sent_at == p.clock.now()  # reminders count from their own send
    await p.say("Dai", "8")
    answers = [(a.flow_id, a.value, a.round_id) for a in await p.store.answers()
               if a.flow_id == "checkin"]
    assert answers == [("checkin", 8, rid)]


async def test_declining_consent_keeps_the_round_from_them(tmp_path: Path) -> None:
    p = await open_project(tmp_path, dt.datetime(2026, 3, 2, 10, tzinfo=UTC))
    await p.person("Dai", "tel:+447700900009", status="new")
    rid = await one_round(p, close_after="3d")
    await p.work.due(p.clock.now())
    await p.deliver()
    await p.say("Dai", "no")
    await p.run_until(dt.datetime(2026, 3, 6, tzinfo=UTC))
    assert not any("last two weeks" in d.text for d in p.log)
    target = await p.store.target_get(rid, "p_dai")
    assert target is not None and target.status == "closed"
    assert await p.store.queued_flows("p_dai") == []


async def test_someone_mid_flow_gets_the_round_when_they_finish(tmp_path: Path) -> None:
    p = await open_project(tmp_path, dt.datetime(2026, 3, 2, 10, tzinfo=UTC))
    pid = await p.person("Ann", "tel:+447700900001")
    await p.runtime.conversations.start_flow(pid, "feedback")
    await p.deliver()
    rid = await one_round(p, remind_after="1d")
    await p.work.due(p.clock.now())
    target = await p.store.target_get(rid, pid)
    assert target is not None and target.status == "queued"
    p.clock.advance(dt.timedelta(hours=3))
    for answer in ["1", "More evenings", "yes"]:
        await p.say("Ann", answer)
    assert p.log[-1].text.startswith("(About 1 minute.) How have the last two weeks been")
    target = await p.store.target_get(rid, pid)
    assert target is not None and target.status == "sent" and target.sent_at == p.clock.now()
    assert target.next_at == p.clock.now() + dt.timedelta(days=1)


async def test_opted_out_and_unreachable_people_are_counted_not_messaged(
        tmp_path: Path) -> None:
    p = await open_project(tmp_path, dt.datetime(2026, 3, 2, 10, tzinfo=UTC))
    await p.person("Ann", "tel:+447700900001")
    await p.person("Bob", "tel:+447700900002")
    await p.person("Cy", "telegram:3003")
    await p.say("Bob", "STOP")
    address = await p.store.get_address("telegram:3003")
    assert address is not None
    address.unreachable, address.unreachable_reason = True, "blocked the bot"
    from bot.store.records import Changes

    await p.store.apply(Changes(addresses=[address]))
    rid = await one_round(p)
    await p.work.due(p.clock.now())
    status = await p.rounds.status(rid)
    assert (status["targeted"], status["sent"], status["opted_out"],
            status["unreachable"]) == (3, 0, 1, 1)
    await p.deliver()
    assert [d.who for d in p.log if d.kind == "question"] == ["Ann"]
    status = await p.rounds.status(rid)
    assert status["sent"] == 1 and status["by_channel"]["sms"]["sent"] == 1
    assert status["by_channel"]["telegram"]["unreachable"] == 1


async def test_pause_resume_and_cancel(tmp_path: Path) -> None:
    p = await open_project(tmp_path, dt.datetime(2026, 3, 2, 8, tzinfo=UTC))
    await p.person("Ann", "tel:+447700900001")
    await p.person("Bob", "tel:+447700900002", timezone="America/New_York")
    rid = await one_round(p, start="2026-03-02T10:00", every="7d")
    await p.rounds.pause(rid, "test")
    p.clock.set(dt.datetime(2026, 3, 2, 11, tzinfo=UTC))
    assert (await p.work.due(p.clock.now())).sent == 0
    await p.rounds.resume(rid, "test")
    assert (await p.work.due(p.clock.now())).sent == 1  # Ann; Bob is still asleep
    assert await p.rounds.cancel(rid, "test") == 2  # Bob unsent, Ann not yet closed
    p.clock.set(dt.datetime(2026, 3, 20, 11, tzinfo=UTC))
    report = await p.work.due(p.clock.now())
    assert report.sent == 0 and report.spawned == []
    assert [r.status for r in await p.store.rounds_all()] == ["cancelled"]
    actions = [e.action for e in await p.store.audit_log()]
    assert actions[:3] == ["round.cancel", "round.resume", "round.pause"]


async def test_flow_timeouts_wait_for_the_morning(tmp_path: Path) -> None:
    """ONS4 nudges after 2 days without a reply; if that falls at night it waits."""
    p = await open_project(tmp_path, dt.datetime(2026, 3, 2, 20, 30, tzinfo=UTC))
    pid = await p.person("Ann", "tel:+447700900001")
    await p.runtime.conversations.start_flow(pid, "ons4")
    await p.deliver()
    p.clock.set(dt.datetime(2026, 3, 4, 21, 0, tzinfo=UTC))
    await p.run_until(dt.datetime(2026, 3, 5, 12, tzinfo=UTC))
    nudges = [d for d in p.log if "gentle reminder" in d.text]
    assert [d.line() for d in nudges] == ["2026-03-05 09:00Z Ann info"]


async def test_until_stops_the_series_and_downtime_skips_missed_occurrences(
        tmp_path: Path) -> None:
    p = await open_project(tmp_path, dt.datetime(2026, 3, 2, 10, tzinfo=UTC))
    await p.person("Ann", "tel:+447700900001")
    rid = await one_round(p, every="7d", until="2026-04-30")
    await p.work.due(p.clock.now())
    p.clock.set(dt.datetime(2026, 3, 24, 12, tzinfo=UTC))  # off for three weeks
    report = await p.work.due(p.clock.now())
    assert report.spawned == [f"{rid}-4"]  # 23 March; 9 and 16 March are not sent late
    p.clock.set(dt.datetime(2026, 4, 28, 12, tzinfo=UTC))
    assert (await p.work.due(p.clock.now())).spawned == [f"{rid}-9"]  # 27 April, the last
    p.clock.set(dt.datetime(2026, 6, 1, 12, tzinfo=UTC))
    assert (await p.work.due(p.clock.now())).spawned == []  # past --until: the series ended
    assert len(await p.store.rounds_all()) == 3
