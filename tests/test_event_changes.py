"""A coordinator changes or cancels an event: who is told (yes, maybe, waiting; not
those who said no), in their language, after their quiet hours; a bigger room books the
waiting list in order; a smaller one than the people booked is refused; the audit log
and the dashboard show it. SMS and Telegram people over the simulated phones."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from bot.errors import ParleyError
from bot.events.changes import EventChanges
from bot.events.service import EventService
from bot.store.records import Changes
from tests.rounds_support import Project, close_projects, open_project  # noqa: F401
from tests.test_burden import dashboard

UTC = dt.UTC
START = dt.datetime(2026, 3, 2, 10, tzinfo=UTC)
PEOPLE = {"Ann": "tel:+447700900001", "Bob": "telegram:2002", "Cai": "tel:+447700900003",
          "Dee": "telegram:2004", "Eve": "tel:+447700900005", "Fay": "tel:+447700900006"}
ANSWERS = {"Ann": "yes", "Bob": "yes", "Cai": "yes", "Dee": "yes", "Eve": "maybe",
           "Fay": "no"}


async def workshop(p: Project) -> tuple[EventService, EventChanges]:
    for name, address in PEOPLE.items():
        await p.person(name, address)
    dee = await p.store.get_participant("p_dee")
    assert dee is not None
    dee.locale = "cy"  # reads Welsh
    await p.store.apply(Changes(participant=dee))
    events = EventService(p.runtime.conversations, p.rounds)
    await events.create(title="Housing workshop", at="2026-03-10T18:00", place="Town hall",
                        capacity=3, code_word="robin", actor="coord", now=START)
    item = await events.invite("e1", "all", None, "coord")
    await p.rounds.start(item.id, "coord")
    await p.run_until(START + dt.timedelta(minutes=5))
    for name, answer in ANSWERS.items():
        await p.say(name, answer)
    changes = EventChanges(p.store, p.runtime.renderer, p.runtime.config, p.rounds)
    return events, changes


def told_since(p: Project, mark: int) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for d in p.log[mark:]:
        out.setdefault(d.who, []).append(d.text)
    return out


async def test_bigger_room_books_the_waiting_list_and_a_move_is_told_after_quiet_hours(
        tmp_path: Path) -> None:
    p = await open_project(tmp_path, START, project={"locales": ["en", "cy"]})
    events, changes = await workshop(p)
    n = (await events.table())[0]
    assert (n.booked, n.waiting, n.maybe, n.declined) == (3, 1, 1, 1)

    with pytest.raises(ParleyError, match="--capacity 2 is less than the 3 people already"):
        await changes.edit("e1", "coord", p.clock.now(), capacity=2)
    mark = len(p.log)
    done = await changes.edit("e1", "coord", p.clock.now(), capacity=4)
    await p.run_until(p.clock.now() + dt.timedelta(minutes=5))
    assert done.promoted == ["p_dee"] and done.told == 0
    assert told_since(p, mark) == {"Dee": [
        "Newyddion da: mae lle wedi dod yn Housing workshop, Tue 10 Mar, 18:00, Town hall. "
        "Mae lle i chi."]}

    p.clock.set(dt.datetime(2026, 3, 3, 22, 0, tzinfo=UTC))  # quiet hours 21:00-09:00
    mark = len(p.log)
    done = await changes.edit("e1", "coord", p.clock.now(), at="2026-03-11T17:30",
                              place="Library, Hill St")
    assert done.told == 5  # Ann, Bob, Cai, Dee (yes) and Eve (maybe); not Fay (no)
    await p.run_until(dt.datetime(2026, 3, 4, 10, tzinfo=UTC),
                      max_step=dt.timedelta(hours=1))
    told = told_since(p, mark)
    assert sorted(told) == ["Ann", "Bob", "Cai", "Dee", "Eve"]
    assert told["Ann"] == ["Housing workshop has changed: it's now Wed 11 Mar, 17:30, "
                           "Library, Hill St."]
    assert told["Dee"][0].startswith("Mae Housing workshop wedi newid: mae nawr ar Wed 11")
    assert {f"{d.at:%d %H:%M}" for d in p.log[mark:]} == {"04 09:00"}  # after quiet hours
    event = await p.store.event_get("e1")
    assert event is not None and (event.place, event.capacity) == ("Library, Hill St", 4)
    assert event.ends_at - event.at == dt.timedelta(hours=2)

    # the day-before reminder follows the new date (not 9 Mar 18:00 any more)
    await p.run_until(dt.datetime(2026, 3, 10, 17, tzinfo=UTC))
    assert not [d for d in p.log if d.text.startswith("Reminder: Housing")]
    await p.run_until(dt.datetime(2026, 3, 10, 19, tzinfo=UTC))
    reminded = {d.who: d.text for d in p.log if d.text.startswith("Reminder: Housing")}
    assert sorted(reminded) == ["Ann", "Bob", "Cai", "Eve"]  # Dee reads it in Welsh
    assert "Wed 11 Mar, 17:30, Library, Hill St" in reminded["Ann"]
    actions = [(e.action, e.detail) for e in await p.store.audit_log()
               if e.action.startswith("event.")]
    assert ("event.edit", {"capacity": 4, "told": 0, "promoted": 1}) in actions


async def test_cancel_tells_everyone_still_coming_and_the_dashboard_shows_it(
        tmp_path: Path) -> None:
    p = await open_project(tmp_path, START, project={"locales": ["en", "cy"]})
    _, changes = await workshop(p)
    mark = len(p.log)
    done = await changes.cancel("e1", "the hall is flooded", "coord", p.clock.now())
    assert done.told == 5 and done.rounds_cancelled == ["r1"]  # no more invitation reminders
    await p.run_until(p.clock.now() + dt.timedelta(minutes=5))
    told = told_since(p, mark)
    assert sorted(told) == ["Ann", "Bob", "Cai", "Dee", "Eve"]
    assert told["Bob"] == ["Sorry: Housing workshop, Tue 10 Mar, 18:00, is cancelled (the "
                           "hall is flooded). We'll let you know about the next one."]
    with pytest.raises(ParleyError, match="already cancelled"):
        await changes.edit("e1", "coord", p.clock.now(), place="Elsewhere")
    # no reminder and no attendance for a cancelled event
    await p.run_until(dt.datetime(2026, 3, 10, 18, 30, tzinfo=UTC))
    assert not [d for d in p.log if d.text.startswith("Reminder: Housing")]
    got = await p.say("Ann", "robin")
    assert "attendance" not in got[-1].text
    async with dashboard(p) as client:
        page = (await client.get("/admin/events")).text
    assert 'data-status="cancelled">Cancelled<' in page
    audit = [e for e in await p.store.audit_log() if e.action == "event.cancel"]
    assert [(e.subject, e.detail["reason"], e.detail["told"]) for e in audit] == [
        ("e1", "the hall is flooded", 5)]


async def test_the_command_line_edits_and_cancels(tmp_path: Path) -> None:
    from bot.simulator import enrolled_phone
    from bot.store.events import Rsvp
    from tests.cli_inprocess import run_cli
    from tests.sms_harness import db_runtime, write_config

    config = write_config(tmp_path, "http://127.0.0.1:9")

    def parley(*args: str) -> tuple[int, str]:
        done = run_cli(*args, "--config", str(config), env={"PARLEY_ACTOR": "sam@example.org"})
        return done.returncode, done.stdout + done.stderr

    code, out = parley("events", "create", "--title", "Walk", "--at", "2030-05-01T10:00",
                       "--place", "Park gate", "--capacity", "1")
    assert code == 0, out
    db = await db_runtime(config)
    try:
        ann = (await enrolled_phone(db, "tel:+447700900001"))[1]
        bob = (await enrolled_phone(db, "tel:+447700900002"))[1]
        now = dt.datetime.now(UTC)
        await db.store.apply(Changes(event_versions=[("e1", 0)], rsvps=[
            Rsvp("e1", ann, "yes", "booked", now),
            Rsvp("e1", bob, "yes", "waiting", now, waiting_since=now)]))
        code, out = parley("events", "edit", "e1", "--capacity", "0")
        assert code != 0 and "--capacity 0 is less than the 1 people already booked" in out
        code, out = parley("events", "edit", "e1", "--capacity", "2")
        assert code == 0 and "0 told of the change, 1 booked from the waiting list" in out
        code, out = parley("events", "cancel", "e1", "--reason", "storm warning")
        assert code == 0 and "Event e1 cancelled; 2 people will be told." in out
        texts = {pid: [str(o.payload["plain"]) for o in await db.store.outbox_of(pid)
                       if o.payload.get("kind") == "notice"] for pid in (ann, bob)}
        assert texts[bob][0].startswith("Good news: a place has come up at Walk")
        assert all("is cancelled (storm warning)" in t[-1] for t in texts.values())
        code, out = parley("events", "list")
        assert code == 0 and "e1" in out
    finally:
        await db.close()
