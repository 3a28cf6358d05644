"""Contract: ``burden_usage`` (bot/store/burden.py) agrees on every store."""

from __future__ import annotations

from datetime import timedelta

from bot.store.base import Store
from bot.store.records import Changes
from tests.test_store_contract import T0, a_round, a_target, enrol, outbox
from tests.test_store_contract import store as store  # the parametrised fixture

DAY = timedelta(days=1)


async def test_burden_usage_counts_messages_and_rounds_in_their_windows(store: Store) -> None:
    await enrol(store, "p1")
    await enrol(store, "p2", "tel:+447700900002")
    rows = [outbox("p1", created=T0 - 8 * DAY),            # too old
            outbox("p1", created=T0 - 2 * DAY),
            outbox("p1", created=T0 - DAY),
            outbox("p2", created=T0 - DAY),
            outbox("", created=T0 - DAY)]                   # not a person's message
    rows.append(outbox("p1", created=T0 - DAY))
    rows[-1].payload = {"kind": "press_ack"}                # a button's spinner
    await store.apply(Changes(outbox=rows))
    for rid, start in [("r1", T0 - 40 * DAY), ("r2", T0 - 10 * DAY), ("r3", T0 + 5 * DAY)]:
        await store.round_add(a_round(rid, start_at=start))
    await store.round_plan(a_round("r1"), [a_target("p1", "r1", send_at=T0 - 40 * DAY)])
    await store.round_plan(a_round("r2"), [
        a_target("p1", "r2", send_at=T0 - 10 * DAY, status="completed",
                 sent_at=T0 - 9 * DAY),
        a_target("p2", "r2", send_at=T0 - 10 * DAY, status="opted_out")])  # never reached
    await store.round_plan(a_round("r3"), [a_target("p2", "r3", send_at=T0 + 5 * DAY)])

    usage = await store.burden_usage(T0 - 7 * DAY, T0 - 30 * DAY, T0 + 30 * DAY)
    assert sorted(usage) == ["p1", "p2"]
    assert usage["p1"].messages == [T0 - 2 * DAY, T0 - DAY]
    assert usage["p1"].rounds == [("r2", T0 - 9 * DAY)]  # sent time, not planned time
    assert usage["p2"].messages == [T0 - DAY]
    assert usage["p2"].rounds == [("r3", T0 + 5 * DAY)]
    assert await store.burden_usage(T0 + DAY, T0 + 10 * DAY, T0 + 11 * DAY) == {}
    # one person's messages, as the scheduler asks before a round reminder
    assert await store.burden_messages_of("p1", T0 - 7 * DAY) == [T0 - 2 * DAY, T0 - DAY]
    assert await store.burden_messages_of("p2", T0) == []


async def test_an_event_edit_commits_only_against_the_version_read(store: Store) -> None:
    import dataclasses

    import pytest

    from bot.store.events import Event
    from bot.store.rounds_base import StaleWrite

    await store.event_add(Event("e1", "Walk", T0, T0 + DAY, "Gate", 4, "KITE", T0))
    read = await store.event_get("e1")
    assert read is not None
    moved = dataclasses.replace(read, place="Park", capacity=6, status="cancelled")
    await store.apply(Changes(event_versions=[("e1", read.version)], event_edits=[moved]))
    kept = await store.event_get("e1")
    assert kept is not None and (kept.place, kept.capacity, kept.status, kept.version) == (
        "Park", 6, "cancelled", read.version + 1)
    with pytest.raises(StaleWrite):  # a second edit from the same old read
        await store.apply(Changes(event_versions=[("e1", read.version)],
                                  event_edits=[dataclasses.replace(read, place="Hall")]))
    again = await store.event_get("e1")
    assert again is not None and again.place == "Park"


async def test_only_events_on_around_now_are_read_for_code_words(store: Store) -> None:
    import dataclasses

    from bot.store.events import Event

    hour = timedelta(hours=1)
    base = Event("e1", "Workshop", T0, T0 + 2 * hour, "Hall", 10, "KITE", T0)
    await store.event_add(base)
    await store.event_add(dataclasses.replace(base, id="e2", at=T0 + 48 * hour,
                                              ends_at=T0 + 50 * hour))
    await store.event_add(dataclasses.replace(base, id="e3", status="cancelled"))
    around = store.events_open_around
    assert [e.id for e in await around(T0 - hour, hour)] == ["e1"]  # an hour early
    assert [e.id for e in await around(T0 + 3 * hour, hour)] == ["e1"]  # an hour late
    assert await around(T0 + 3 * hour + timedelta(minutes=1), hour) == []
    assert [e.id for e in await around(T0 + 47 * hour, hour)] == ["e2"]
