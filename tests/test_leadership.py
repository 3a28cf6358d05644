"""One scheduler among several processes (issue 16): the process holding the
``scheduler`` lease runs ``due(now)``; the others wait; when the leader dies its lease
runs out and another takes over. Two runtimes on one SQLite file stand in for two
processes here (each with its own connection); the same store methods run on PostgreSQL
in the store contract suite."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from types import SimpleNamespace

import pytest

from bot.clock import ManualClock
from bot.errors import ConfigError
from bot.scheduler.job import SchedulerJob
from bot.scheduler.leadership import Leadership
from bot.store.sqlite import SqliteStore
from tests.rounds_support import close_projects, open_project  # noqa: F401  (autouse)

START = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)
LEASE = dt.timedelta(seconds=30)


def _two_stores(backend: str, tmp_path: Path,
                request: pytest.FixtureRequest) -> tuple[SqliteStore, SqliteStore]:
    """Two connections to one database, as two processes would have."""
    if backend == "postgres":
        from bot.store.postgres import PostgresStore

        url = request.getfixturevalue("pg_url")
        return PostgresStore(url), PostgresStore(url)
    return SqliteStore(tmp_path / "p.db"), SqliteStore(tmp_path / "p.db")


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_one_holder_at_a_time_renewed_and_taken_over(
        backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    clock = ManualClock(START)
    a_store, b_store = _two_stores(backend, tmp_path, request)
    await a_store.open()
    await b_store.open()
    try:
        a = Leadership(a_store, clock, ttl=LEASE, holder="a")
        b = Leadership(b_store, clock, ttl=LEASE, holder="b")
        assert await a.check() and not await b.check()
        clock.advance(dt.timedelta(seconds=20))
        assert await a.check()  # renewed: runs to 20 s + 30 s
        clock.advance(dt.timedelta(seconds=29))
        assert not await b.check()  # 49 s: a's renewed lease still runs
        lease = await b_store.lease_get("scheduler")
        assert lease is not None and lease.holder == "a" and lease.acquired_at == START
        clock.advance(dt.timedelta(seconds=2))  # a stopped renewing (died) at 20 s
        assert await b.check() and b.leading
        assert not await a.check() and not a.leading  # the old leader stands down
        await b.release()  # a clean shutdown hands over at once
        assert await a.check()
    finally:
        await a_store.close()
        await b_store.close()


async def test_only_the_leader_sends_and_the_survivor_takes_over(tmp_path: Path) -> None:
    clock = ManualClock(START)  # one wall clock for both "processes"
    first, second = [
        await open_project(tmp_path / name, START, store=SqliteStore(tmp_path / "shared.db"),
                           clock=clock, schedule={"quiet_hours": ""})
        for name in ("one", "two")]
    await first.person("Ann", "tel:+447700900001")
    item = await first.rounds.build(flow="checkin", audience="all", remind_after="1h",
                                    close_after="1d")
    await first.rounds.create(item, "test")
    await first.rounds.start(item.id, "test")

    jobs = [SchedulerJob(p.work, clock, leadership=Leadership(p.store, clock, ttl=LEASE,
                                                              holder=name))
            for p, name in ((first, "first"), (second, "second"))]
    leader, follower = jobs
    assert await leader.tick() is not None
    assert await follower.tick() is None  # not its turn: nothing planned twice
    assert [t.status for t in await first.store.targets_of(item.id)] == ["sent"]
    sent = [m for m in await first.store.outbox_of("p_ann")]
    assert len(sent) == 1

    clock.advance(dt.timedelta(hours=1, minutes=1))  # the leader died before the reminder
    report = await follower.tick()
    assert report is not None and report.reminded == 1
    assert await leader.leads() is False
    kinds = [m.payload.get("kind") for m in await first.store.outbox_of("p_ann")]
    assert kinds.count("reminder") == 1


def test_leader_lease_is_a_duration(tmp_path: Path) -> None:
    from tests.rounds_support import project_config, project_dir

    with pytest.raises((ConfigError, ValueError), match=r"leader_lease|duration"):
        project_config(project_dir(tmp_path), schedule={"leader_lease": "soon"})


def test_a_window_shared_by_processes_keeps_to_its_part_of_the_rate() -> None:
    from bot.delivery.pacing import SlidingWindow

    now = [0.0]
    window = SlidingWindow(30, clock=lambda: now[0])
    window.share(2)
    slots = [window.take() for _ in range(15)]
    assert window.delay() > 0  # the 16th send in this second waits: 15 + 15 = 30/s in all
    for slot in slots:
        window.close(slot)
    window.share(1)  # the other process died: the whole rate again
    assert window.delay() == 0.0
    slow = SlidingWindow(1, clock=lambda: now[0])
    slow.share(2)
    slow.close(slow.take())
    now[0] = 1.5
    assert slow.delay() > 0  # 1/s shared by two: one send every 2 s here
    now[0] = 2.1
    assert slow.delay() == 0.0


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_members_counted_and_a_dead_process_drops_out(
        backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    from bot.delivery.membership import Membership
    from bot.delivery.pacing import SlidingWindow

    clock = ManualClock(START)
    stores = list(_two_stores(backend, tmp_path, request))
    for store in stores:
        await store.open()
    try:
        windows = [SlidingWindow(30), SlidingWindow(30)]
        # what membership sets on each outbox sender: its rate window and its part
        senders = [SimpleNamespace(window=w, partition=(0, 1)) for w in windows]
        one, two = (Membership(store, clock, name, every=2.0, senders=lambda s=s: [s])
                    for store, name, s in zip(stores, ("one", "two"), senders, strict=True))
        assert await one.beat() == 1 and windows[0].count == 30
        assert await two.beat() == 2 and windows[1].count == 15
        assert await one.beat() == 2 and windows[0].count == 15
        assert {senders[0].partition, senders[1].partition} == {(0, 2), (1, 2)}
        clock.advance(dt.timedelta(seconds=7))  # "two" stopped renewing 7 s ago (lease 6 s)
        assert await one.beat() == 1 and windows[0].count == 30
        assert await two.beat() == 2  # back (a restart): counted again at once
        await two.stop()  # a clean stop leaves at once
        assert await one.beat() == 1
    finally:
        for store in stores:
            await store.close()


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_sends_in_flight_of_a_live_process_are_not_called_ambiguous(
        backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    from bot.store.leases import MEMBER
    from bot.store.records import Changes
    from tests.test_store_contract import outbox

    clock = ManualClock(START)
    alive, starting = _two_stores(backend, tmp_path, request)
    await alive.open()
    await starting.open()
    try:
        ttl = dt.timedelta(seconds=6)
        await alive.lease_hold(MEMBER + alive.holder, alive.holder, clock.now(), ttl)
        rows = [outbox(), outbox()]
        await alive.apply(Changes(outbox=rows))
        assert len(await alive.outbox_mark_sending(rows)) == 2  # in flight in "alive"
        assert await starting.outbox_recover(clock.now()) == 0  # a second process starts
        assert [o.status for o in await starting.outbox_of("p1")] == ["sending", "sending"]
        clock.advance(dt.timedelta(seconds=7))  # "alive" died: its lease ran out
        assert await starting.outbox_recover(clock.now()) == 2
        assert [o.status for o in await starting.outbox_of("p1")] == [
            "ambiguous", "ambiguous"]
    finally:
        await alive.close()
        await starting.close()


async def test_a_sender_starting_leaves_this_process_s_other_sends_alone(
        tmp_path: Path) -> None:
    """Each channel's sender recovers interrupted sends when it starts: a sender starting
    after another channel's is already sending must not call those sends ambiguous."""
    from bot.store.records import Changes
    from tests.test_store_contract import outbox

    clock = ManualClock(START)
    store = SqliteStore(tmp_path / "p.db")
    await store.open()
    try:
        rows = [outbox(), outbox()]
        await store.apply(Changes(outbox=rows))
        await store.outbox_mark_sending(rows)
        assert await store.outbox_recover(clock.now()) == 0
        restarted = SqliteStore(tmp_path / "p.db")  # the same file after a crash
        await restarted.open()
        try:
            assert await restarted.outbox_recover(clock.now()) == 2
        finally:
            await restarted.close()
    finally:
        await store.close()
