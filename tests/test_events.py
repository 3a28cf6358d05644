"""Events in-process: invitations by round, RSVP by button or reply, the waiting list and
its promotion, the day-before reminder, attendance by code word with credits and hours,
and the dashboard's numbers. The same over real SMS and Telegram is in
tests/test_care_serve.py."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from bot.errors import ParleyError
from bot.events.service import EventService
from bot.privacy import export_participant
from bot.timebank.hours import hour_balance
from tests.rounds_support import (  # noqa: F401  (close_projects: autouse)
    Delivery,
    Project,
    close_projects,
    open_project,
)
from tests.test_burden import dashboard

UTC = dt.UTC
START = dt.datetime(2026, 3, 2, 10, tzinfo=UTC)
BANK = {"time_bank": True}


async def events_of(p: Project) -> EventService:
    return EventService(p.runtime.conversations, p.rounds)


async def press(p: Project, who: str, label: str) -> None:
    """Press a Telegram button; what comes back goes in the project's log."""
    for msg in await p.phones[who].press(label):
        p.log.append(Delivery(p.clock.now(), who, str(msg.payload.get("kind")), msg.text))
    await p.deliver()


def last(p: Project, who: str) -> str:
    return [d.text for d in p.log if d.who == who][-1]


async def test_capacity_waiting_list_promotion_reminder_and_attendance(
        tmp_path: Path) -> None:
    p = await open_project(tmp_path, START, credits=BANK)
    people = {"Ann": "tel:+447700900001", "Bob": "telegram:2002",
              "Cai": "tel:+447700900003", "Dee": "telegram:2004", "Eve": "tel:+447700900005"}
    for name, address in people.items():
        await p.person(name, address)
    events = await events_of(p)
    event = await events.create(title="Housing workshop", at="2026-03-10T18:00",
                                place="Town hall", capacity=3, credits="5", hours="2",
                                code_word="bluebell", actor="coord", now=START)
    assert (event.id, event.code_word) == ("e1", "BLUEBELL")
    item = await events.invite(event.id, "all", None, "coord")
    await p.rounds.start(item.id, "coord")
    await p.run_until(START + dt.timedelta(minutes=5))
    invite = last(p, "Ann")
    assert invite == ("(About 1 minute.) You're invited: Housing workshop, Tue 10 Mar, "
                      "18:00, Town hall. Can you come?\n1 Yes\n2 No\n3 Maybe")

    await p.say("Ann", "yes")
    await press(p, "Bob", "Yes")  # a Telegram button
    await p.say("Cai", "1")
    await press(p, "Dee", "Yes")
    await p.say("Eve", "Yes please")
    assert last(p, "Ann") == ("You're booked for Housing workshop, Tue 10 Mar, 18:00. "
                              "We'll remind you the day before.")
    assert last(p, "Dee") == ("Housing workshop is full, so you're number 1 on the waiting "
                              "list. We'll tell you if a place comes up.")
    assert "number 2 on the waiting list" in last(p, "Eve")
    table = {n.event.id: n for n in await events.table()}
    assert (table["e1"].booked, table["e1"].waiting) == (3, 2)

    # the day before: booked people are asked if they are still coming; Bob is not
    await p.run_until(dt.datetime(2026, 3, 9, 19, tzinfo=UTC))
    reminded = sorted(d.who for d in p.log if d.text.startswith("Reminder: Housing"))
    assert reminded == ["Ann", "Bob", "Cai"]
    await press(p, "Bob", "No")
    assert last(p, "Bob") == "Thanks for letting us know. Maybe next time!"
    assert last(p, "Dee") == ("Good news: a place has come up at Housing workshop, Tue 10 Mar, "
                              "18:00, Town hall. You're booked.")
    assert "waiting list" in last(p, "Eve")  # still waiting, not told anything new
    n = (await events.table())[0]
    assert (n.booked, n.waiting, n.declined) == (3, 1, 1)

    # during the event: the code word records attendance, credits and hours, once
    p.clock.set(dt.datetime(2026, 3, 10, 18, 30, tzinfo=UTC))
    got = await p.say("Ann", "Bluebell!")
    assert got[-1].text == ("Thanks for coming to Housing workshop! Your attendance is "
                            "recorded: 5 credits and 2 hours.")
    got = await p.say("Ann", "bluebell")
    assert got[-1].text.startswith("You're already marked as attending")
    await p.say("Dee", "BLUEBELL")
    assert (await hour_balance(p.store, "p_ann")).available == 120
    earned = [e for e in await p.store.ledger(participant_id="p_ann") if e.key == "event:e1:p_ann"]
    assert [e.amount for e in earned] == [500]
    async with dashboard(p) as client:
        page = (await client.get("/admin/events")).text
    assert 'data-count="booked">3 / 3<' in page and 'data-count="attended">2<' in page
    data = await export_participant(p.store, "p_ann")
    assert data["events"][0]["attended_at"] is not None
    # outside the event the word is just an answer again
    p.clock.set(dt.datetime(2026, 3, 12, 12, tzinfo=UTC))
    got = await p.say("Cai", "bluebell")
    assert "attendance" not in got[-1].text


async def test_event_input_is_checked(tmp_path: Path) -> None:
    p = await open_project(tmp_path, START)
    events = await events_of(p)
    for kwargs, message in [({"title": " "}, "--title"), ({"at": "tomorrow"}, "--at"),
                            ({"capacity": 0}, "--capacity"),
                            ({"hours": "2"}, "--hours needs the time bank"),
                            # a number would swallow a 0-10 answer during the event
                            ({"code_word": "4 2"}, "'4 2' needs at least one letter")]:
        values = {"title": "T", "at": "2026-03-10T18:00", "place": "P", "capacity": 3,
                  "now": START, **kwargs}
        with pytest.raises(ParleyError, match=message):
            await events.create(**values)  # type: ignore[arg-type]
    with pytest.raises(ParleyError, match="no event 'e9'"):
        await events.invite("e9", "all", None, "coord")


async def test_two_yeses_at_once_cannot_both_take_the_last_place(tmp_path: Path) -> None:
    """Both replies read the event before either is written (as two participants' turns
    can interleave): the second write is refused whole, and on its retry (the inbox
    processes a refused message again) that person joins the waiting list."""
    from bot.events.rsvp import EventRsvps
    from bot.store.records import Changes
    from bot.store.rounds_base import StaleWrite
    from bot.store.sqlite import SqliteStore

    p = await open_project(tmp_path, START, store=SqliteStore(tmp_path / "parley.db"))
    ann = await p.store.get_participant(await p.person("Ann", "tel:+447700900001"))
    bob = await p.store.get_participant(await p.person("Bob", "tel:+447700900002"))
    assert ann is not None and bob is not None
    events = await events_of(p)
    event = await events.create(title="Walk", at="2026-03-10T18:00", place="Park",
                                capacity=1, now=START)
    rt = p.runtime
    rsvps = EventRsvps(rt.store, rt.renderer, rt.config)
    first, second = Changes(), Changes()
    await rsvps.record(first, ann, event, "yes", START)
    await rsvps.record(second, bob, event, "yes", START)  # read the same free place
    await p.store.apply(first)
    with pytest.raises(StaleWrite):
        await p.store.apply(second)
    assert [r.participant_id for r in await p.store.rsvps_of(event.id)] == ["p_ann"]
    retry = Changes()
    fresh = await p.store.event_get(event.id)
    assert fresh is not None
    await rsvps.record(retry, bob, fresh, "yes", START)
    await p.store.apply(retry)
    n = (await events.table())[0]
    assert (n.booked, n.waiting) == (1, 1)
    assert "number 1 on the waiting list" in retry.outbox[-1].payload["text"]
