"""The time bank in-process: hours earned by completing a flow, OFFERS, SPEND (held,
confirmed, declined), BALANCE in both currencies, and the store contract. The same over
real SMS and Telegram is in tests/test_care_serve.py."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from bot.errors import ParleyError
from bot.privacy import export_participant
from bot.store.base import Store
from bot.store.records import Changes
from bot.store.rounds_base import StaleWrite
from bot.store.timebank import HourEntry, Offer, SpendDecision, SpendRequest
from bot.timebank.hours import hour_balance, hours_text, to_minutes
from bot.timebank.service import TimeBank
from tests.rounds_support import Project, close_projects, open_project  # noqa: F401
from tests.test_store_contract import T0, enrol
from tests.test_store_contract import store as store  # the parametrised fixture

UTC = dt.UTC
START = dt.datetime(2026, 3, 2, 10, tzinfo=UTC)
BANK = {"time_bank": True, "hour_rules": [{"flow": "checkin", "hours": 1.5}]}


async def project(tmp_path: Path) -> tuple[Project, TimeBank]:
    p = await open_project(tmp_path, START, credits=BANK)
    rt = p.runtime
    return p, TimeBank(rt.store, rt.renderer, rt.config)


async def earn_by_checkin(p: Project, who: str) -> None:
    await p.runtime.conversations.start_flow(p.pids[who], "checkin")
    await p.deliver()
    await p.say(who, "7")


def test_hours_are_whole_minutes() -> None:
    assert [to_minutes(h) for h in ("1.5", 2, "0.25", "1/3".replace("1/3", "0.333"))] == [
        90, 120, 15, 20]
    assert [hours_text(m) for m in (90, 120, 20, 0, -30)] == ["1.5", "2", "0.33", "0", "-0.5"]
    with pytest.raises(ParleyError, match="not a number of hours"):
        to_minutes("two")


async def test_offers_spend_confirm_and_balance(tmp_path: Path) -> None:
    p, bank = await project(tmp_path)
    await p.person("Ann", "tel:+447700900001")
    for _ in range(2):
        await earn_by_checkin(p, "Ann")  # 1.5 hours each
    assert (await hour_balance(p.store, "p_ann")).available == 180
    await bank.add_offer("swim", "Swimming session", "1", "Leisure centre", "coord", START)
    await bank.add_offer("BUS", "Bus pass day", "2", "", "coord", START)
    got = await p.say("Ann", "OFFERS")
    assert got[-1].text == ("Time bank offers (you have 3h):\n1 SWIM: Swimming session, 1h\n"
                            "2 BUS: Bus pass day, 2h\n"
                            "To ask, reply SPEND then hours and code, e.g. SPEND 1 SWIM")
    assert (await p.say("Ann", "SPEND 2 swim"))[-1].text == (
        "Thanks: you asked to spend 2 hours on Swimming session. A coordinator will "
        "confirm it soon.")
    assert (await p.say("Ann", "spend 2 bus"))[-1].text == (
        "You have 1 hours to spend, not 2. Reply OFFERS to see what is on offer.")
    assert (await p.say("Ann", "spend 1 bus"))[-1].text.startswith(
        "Bus pass day costs 2 hours each.")
    assert (await p.say("Ann", "spend 1 gym"))[-1].text.startswith(
        "We couldn't find an offer called gym.")
    assert (await p.say("Ann", "BALANCE"))[-1].text == (
        "Credits: 10 (£). Time bank: 1 hours, plus 2 waiting for a coordinator.")

    [request] = await p.store.spend_requests(status="pending")
    assert (request.offer_code, request.minutes, request.uses) == ("SWIM", 120, 2)
    assert request.id is not None
    await bank.decide(request.id, True, "coord", p.clock.now())
    await p.deliver()
    assert p.log[-1].text == ("Confirmed: 2 hours spent on Swimming session. You have 1 "
                              "hours left.")
    with pytest.raises(ParleyError, match="already confirmed"):
        await bank.decide(request.id, False, "coord", START, "changed my mind")
    kinds = [(e.kind, e.minutes) for e in await p.store.hour_entries("p_ann")]
    assert kinds == [("earned", 90), ("earned", 90), ("spent", -120)]  # append-only

    await p.say("Ann", "SPEND 1 1")  # by its number in the list
    [second] = await p.store.spend_requests(status="pending")
    assert second.id is not None
    with pytest.raises(ParleyError, match="--reason is required"):
        await bank.decide(second.id, False, "coord", START)
    await bank.decide(second.id, False, "coord", START, "the pool is closed this month")
    await p.deliver()
    assert p.log[-1].text == ("Sorry, your request for Swimming session was not confirmed "
                              "(the pool is closed this month). Your 1 hours are still yours.")
    assert (await hour_balance(p.store, "p_ann")).available == 60
    data = await export_participant(p.store, "p_ann")
    assert [r["status"] for r in data["time_bank_requests"]] == ["confirmed", "declined"]
    assert sum(e["minutes"] for e in data["time_bank_hours"]) == 60


async def test_words_are_ordinary_replies_when_the_time_bank_is_off(tmp_path: Path) -> None:
    p = await open_project(tmp_path, START)
    await p.person("Ann", "tel:+447700900001")
    got = await p.say("Ann", "OFFERS")
    assert "Time bank" not in got[-1].text
    got = await p.say("Ann", "BALANCE")
    assert got[-1].text == "You have not earned any credits yet."


async def test_offer_codes_and_hours_are_checked(tmp_path: Path) -> None:
    _, bank = await project(tmp_path)
    for code, hours, message in [("has space", "1", "--code 'has space'"),
                                 ("OK", "0", "--hours must be more than 0"),
                                 ("OK", "lots", "not a number of hours")]:
        with pytest.raises(ParleyError, match=message):
            await bank.add_offer(code, "Title", hours, "", "coord", START)
    await bank.add_offer("ok", "Title", "1", "", "coord", START)
    with pytest.raises(ParleyError, match="already exists"):
        await bank.add_offer("OK", "Again", "1", "", "coord", START)
    await bank.retire("ok", "coord", START)
    with pytest.raises(ParleyError, match="no active offer"):
        await bank.retire("ok", "coord", START)


async def test_timebank_store_contract(store: Store) -> None:
    await enrol(store, "p1")
    entry = HourEntry("p1", T0, 90, "earned", key="completion:s1", source="flow:checkin")
    await store.apply(Changes(hours=[entry], spend_requests=[
        SpendRequest("p1", "SWIM", 60, 1, T0, key="inbox:7")]))
    await store.apply(Changes(hours=[HourEntry("p1", T0, 90, "earned", key="completion:s1")],
                              spend_requests=[SpendRequest("p1", "SWIM", 60, 1, T0,
                                                           key="inbox:7")]))
    assert [e.minutes for e in await store.hour_entries("p1")] == [90]  # keys: once
    [request] = await store.spend_requests()
    assert request.id is not None and request.status == "pending"
    decided = SpendDecision(request.id, "confirmed", T0, "coord")
    await store.apply(Changes(spend_decisions=[decided],
                              hours=[HourEntry("p1", T0, -60, "spent", key="spend:1")]))
    with pytest.raises(StaleWrite):  # and nothing else in that unit is kept
        await store.apply(Changes(spend_decisions=[decided],
                                  hours=[HourEntry("p1", T0, -60, "spent", key="spend:2")]))
    assert [e.minutes for e in await store.hour_entries()] == [90, -60]
    got = await store.spend_request(request.id)
    assert got is not None and (got.status, got.decided_by) == ("confirmed", "coord")
    assert await store.spend_requests(status="pending") == []
    await store.offer_add(Offer("SWIM", "Swim", 60, T0))
    assert await store.offer_retire("SWIM", T0) is True
    assert await store.offers() == []
    assert [o.code for o in await store.offers(include_retired=True)] == ["SWIM"]
    await store.erase_participant("p1", T0)
    assert [e.minutes for e in await store.hour_entries("p1")] == [90, -60]  # totals kept


async def test_coordinator_decides_on_the_dashboard(tmp_path: Path) -> None:
    from tests.test_burden import dashboard
    from tests.test_dashboard import csrf_of

    p, bank = await project(tmp_path)
    await p.person("Ann", "telegram:2001")
    await earn_by_checkin(p, "Ann")
    await bank.add_offer("SWIM", "Swimming session", "0.5", "", "coord", START)
    await p.say("Ann", "SPEND 1 SWIM")
    await p.say("Ann", "SPEND 0.5 SWIM")
    first, second = await p.store.spend_requests(status="pending")
    async with dashboard(p) as client:
        page = await client.get("/admin/events")
        assert f'action="/admin/timebank/{first.id}/confirm"' in page.text
        token = csrf_of(page.text)
        ok = await client.post(f"/admin/timebank/{first.id}/confirm", data={"csrf": token})
        assert ok.status_code == 303
        again = await client.post(f"/admin/timebank/{first.id}/confirm", data={"csrf": token})
        assert again.status_code == 400 and "already confirmed" in again.text
        no_reason = await client.post(f"/admin/timebank/{second.id}/decline",
                                      data={"csrf": token, "reason": " "})
        assert no_reason.status_code == 400
    await p.deliver()
    assert p.log[-1].text == ("Confirmed: 1 hours spent on Swimming session. You have 0 "
                              "hours left.")
    assert [q.status for q in await p.store.spend_requests()] == ["confirmed", "pending"]


async def test_coordinator_adjusts_hours_with_a_note(tmp_path: Path) -> None:
    from bot.timebank.service import adjust_hours

    p, _ = await project(tmp_path)
    await p.person("Ann", "tel:+447700900001")
    await adjust_hours(p.store, "p_ann", "2.5", "ran the stall at the fair", "coord", START)
    await adjust_hours(p.store, "p_ann", "-0.5", "double counted", "coord", START)
    assert [(e.kind, e.minutes, e.note) for e in await p.store.hour_entries("p_ann")] == [
        ("adjustment", 150, "ran the stall at the fair"),
        ("adjustment", -30, "double counted")]
    assert (await hour_balance(p.store, "p_ann")).available == 120
    for args, message in [(("p_nobody", "1", "x"), "no participant"),
                          (("p_ann", "1", " "), "--note is required"),
                          (("p_ann", "0", "x"), "must not be zero")]:
        with pytest.raises(ParleyError, match=message):
            await adjust_hours(p.store, *args, "coord", START)
