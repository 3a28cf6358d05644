"""Chat-side coordinator commands: Telegram /rounds, /round_status, /send_round with a
confirmation button, SMS STATUS; everyone else gets the participant experience."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from bot.conversations import Inbound
from bot.simulator import SimulatedPhone
from tests.rounds_support import Project, close_projects, open_project  # noqa: F401  (autouse)

UTC = dt.UTC
T0 = dt.datetime(2026, 3, 2, 10, tzinfo=UTC)
COORD_TG, COORD_SMS = "telegram:9001", "tel:+447700900999"


async def project(tmp_path: Path) -> Project:
    p = await open_project(tmp_path, T0, coordinators={"telegram_ids": [9001],
                                                       "phones": ["07700 900999"]})
    await p.person("Ann", "tel:+447700900001")
    await p.person("Bob", "telegram:2002")
    return p


async def test_telegram_coordinator_sends_a_round_after_confirming(tmp_path: Path) -> None:
    p = await project(tmp_path)
    item = await p.rounds.build(flow="checkin", audience="all", label="checkin")
    await p.rounds.create(item, "sam")
    coord = SimulatedPhone(p.runtime, COORD_TG)

    [listing] = await coord.say("/rounds")
    assert "r1 · checkin · checkin · draft" in listing.text
    [ask] = await coord.say(f"/send_round {item.id}")
    assert ask.text.startswith("Send round r1 (checkin) to 2 people (1 Telegram, 1 SMS")
    assert [c["label"] for c in ask.choices] == ["Send now", "Cancel"]
    assert (await p.store.round_get(item.id)).status == "draft"  # type: ignore[union-attr]

    [done] = await coord.press("Send now")
    assert done.text == "Round r1 started: 2 people planned. Use /round_status r1 to follow it."
    assert (await p.store.round_get(item.id)).status == "running"  # type: ignore[union-attr]
    [again] = await coord.press("Send now")  # a second press of the same button
    assert "already been used" in again.text
    await p.work.due(p.clock.now())
    [status] = await coord.say("/round_status r1")
    assert status.text.startswith("r1 checkin (checkin): 2 targeted")
    audit = [(e.actor, e.action) for e in await p.store.audit_log()]
    assert (COORD_TG, "round.start") in audit and (COORD_TG, "round.status") in audit
    assert await p.store.participant_for_address(COORD_TG) is None  # not enrolled


async def test_cancel_button_and_unknown_round(tmp_path: Path) -> None:
    p = await project(tmp_path)
    item = await p.rounds.build(flow="checkin", audience="all")
    await p.rounds.create(item, "sam")
    coord = SimulatedPhone(p.runtime, COORD_TG)
    await coord.say(f"/send_round {item.id}")
    [no] = await coord.press("Cancel")
    assert no.text == "OK, round r1 was not sent."
    assert (await p.store.round_get(item.id)).status == "draft"  # type: ignore[union-attr]
    [unknown] = await coord.say("/round_status r42")
    assert unknown.text.startswith("no round 'r42'")


async def test_sms_coordinator_status_and_participants_are_unaffected(tmp_path: Path) -> None:
    p = await project(tmp_path)
    item = await p.rounds.build(flow="checkin", audience="all")
    await p.rounds.create(item, "sam")
    await p.rounds.start(item.id, "sam")
    await p.work.due(p.clock.now())
    await p.deliver()
    coord = SimulatedPhone(p.runtime, COORD_SMS)
    [line] = await coord.say("status")
    assert line.text.startswith("r1 checkin: 2 targeted, 2 sent, 0 completed")
    assert len(line.text) <= 160
    # a participant texting STATUS or /rounds is just a participant
    got = await p.say("Ann", "/rounds")
    assert "Sorry" in got[0].text or "0 to 10" in got[0].text
    # a Telegram command from the SMS coordinator's phone is not a command
    assert not await p.runtime.conversations.hooks.intercept(  # type: ignore[union-attr]
        Inbound(channel="sms", address=COORD_SMS, text="/rounds", received_at=T0))
