"""Agenda-setting in-process: SUGGEST at any time, the suggest node, moderation, the
suggesters told in their language, a vote built from accepted suggestions, erasure and
export. (The same through `parley serve` and the fakes: tests/test_agenda_serve.py.)"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest

from bot.agenda.round_vars import round_vars
from bot.agenda.suggestions import SuggestionError, Suggestions
from bot.clock import ManualClock
from bot.deliberation.statements import Statements
from bot.engine.keywords import prefixed
from bot.privacy import export_participant
from bot.runtime import Runtime
from bot.simulator import SimulatedPhone, enrolled_phone
from bot.store.participation import Budget, BudgetProject
from bot.store.records import AnswerRow, Changes, EventRow
from bot.store.round_records import Round
from tests.conftest import T0
from tests.test_dashboard import build, csrf_of, enrol, login


def book(runtime: Runtime) -> Suggestions:
    return Suggestions(runtime.store, runtime.renderer, runtime.config)


@pytest.mark.parametrize(("text", "expected"), [
    ("SUGGEST more night buses", ("suggest", "more night buses")),
    ("suggest: cheaper childcare", ("suggest", "cheaper childcare")),
    ("Suggestion - a food bank nearer", ("suggest", "a food bank nearer")),
    ("/suggest@ParleyBot bins", ("suggest", "bins")),
    ("Awgrym: bysiau nos", ("suggest", "bysiau nos")),
    ("SUGGEST", ("suggest", "")),
    ("suggested that already", None),
    ("I suggest buses", None),
])
def test_the_suggest_word_and_its_text(text: str, expected: tuple[str, str] | None) -> None:
    assert prefixed(text) == expected


async def test_suggest_any_time_moderate_and_tell_each_suggester(runtime: Runtime) -> None:
    ana, ana_id = await enrolled_phone(runtime, "tel:+447700900201")
    bryn, bryn_id = await enrolled_phone(runtime, "tel:+447700900202", locale="cy")
    cai, _ = await enrolled_phone(runtime, "telegram:203")
    # mid-question: the idea is kept and the open question still takes its answer
    await runtime.conversations.start_flow(ana_id, "feedback")
    await ana.collect()
    got = await ana.say("SUGGEST more night buses")
    assert [m.text for m in got] == ["Thank you for your idea. The team will read it and "
                                     "tell you what happens to it."]
    got = await ana.say("1")
    assert got[0].text.startswith("What should we change")
    assert next(m.text for m in await bryn.say("AWGRYM bysiau nos")).startswith("Diolch")
    assert [m.text for m in await cai.say("suggest")] == [
        "To suggest a topic, send SUGGEST and your idea, for example: SUGGEST cheaper bus fares"]
    await runtime.conversations.start_flow(
        (await runtime.store.participant_for_address("telegram:203")).id,  # type: ignore[union-attr]
        "agenda")
    await cai.collect()
    await cai.say("Cost of school uniforms")
    stranger = SimulatedPhone(runtime, "tel:+447700900299")
    await stranger.say("Hi")
    await stranger.say("SUGGEST something")  # before consent: nothing is kept

    found = await book(runtime).all()
    assert [(s.text, s.locale, s.status) for s in found] == [
        ("more night buses", "en", "pending"), ("bysiau nos", "cy", "pending"),
        ("Cost of school uniforms", "en", "pending")]
    buses, bysiau, uniforms = found
    now = runtime.clock.now()
    await book(runtime).accept(buses.code, now, label="Night buses")
    await book(runtime).merge(bysiau.code, into=buses.code, now=now)
    await book(runtime).reject(uniforms.code, "the school sets those, not the council.", now)
    assert [m.text for m in await ana.collect()] == [
        "Your idea \"more night buses\" has been taken up: it will be in our next vote."]
    assert [m.text for m in await bryn.collect()] == [
        "Mae eich syniad \"bysiau nos\" wedi'i gyfuno ag un tebyg: \"Night buses\". Bydd yn "
        "ein pleidlais nesaf."]
    assert [m.text for m in await cai.collect()] == [
        "Thank you for your idea \"Cost of school uniforms\". Not this time, because the "
        "school sets those, not the council."]
    with pytest.raises(SuggestionError, match="at least 2 accepted"):
        await round_vars(runtime, "vote", from_suggestions="all")
    with pytest.raises(SuggestionError, match="merge into an accepted or pending"):
        await book(runtime).merge(buses.code, into=uniforms.code, now=now)
    with pytest.raises(SuggestionError, match="say why"):
        await book(runtime).reject(buses.code, " ", now)

    await book(runtime).accept(uniforms.code, now, label="School uniforms")  # changed mind
    extra, used = await round_vars(runtime, "vote", from_suggestions="all")
    assert json.loads(extra["options"]) == [
        {"value": buses.code.lower(), "label": "Night buses"},
        {"value": uniforms.code.lower(), "label": "School uniforms"}]
    assert used == [buses.id, uniforms.id]
    with pytest.raises(SuggestionError, match="not accepted"):
        await round_vars(runtime, "vote", from_suggestions=f"{buses.code},{bysiau.code}")

    export = await export_participant(runtime.store, bryn_id)
    assert [(s["text"], s["status"]) for s in export["suggestions"]] == [("bysiau nos",
                                                                          "merged")]
    await runtime.store.erase_participant(ana_id, now)
    assert [s.text for s in await book(runtime).all()] == ["bysiau nos",
                                                           "Cost of school uniforms"]


@pytest.fixture
async def site(clock: ManualClock) -> AsyncIterator[tuple[Runtime, httpx.AsyncClient]]:
    runtime, app = await build(clock)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app),
                                 base_url="http://parley.test") as client:
        yield runtime, client
    await runtime.close()


async def test_dashboard_queue_decides_and_tells(
        site: tuple[Runtime, httpx.AsyncClient]) -> None:
    runtime, client = site
    await enrol(runtime, "p1", "+447700900301")
    await enrol(runtime, "p2", "+447700900302")
    await runtime.store.apply(Changes(events=[
        EventRow(pid, None, "SuggestionMade", {"node": None, "text": text, "locale": "en"}, T0)
        for pid, text in [("p1", "Free period products <b>now</b>"), ("p2", "Bins")]]))
    first, second = await book(runtime).all()
    await login(client)
    page = await client.get("/admin/suggestions")
    assert page.status_code == 200 and "pending: 2" in page.text
    assert "Free period products &lt;b&gt;now&lt;/b&gt;" in page.text  # escaped, as data
    csrf = csrf_of(page.text)
    refused = await client.post("/admin/suggestions/decide", data={
        "csrf": csrf, "id": second.code, "action": "reject", "reason": ""})
    assert refused.status_code == 400 and "say why" in refused.text
    done = await client.post("/admin/suggestions/decide", data={
        "csrf": csrf, "id": first.code, "action": "accept", "label": "Free period products"})
    assert done.status_code == 303
    forged = await client.post("/admin/suggestions/decide", data={
        "id": second.code, "action": "reject", "reason": "no"})
    assert forged.status_code == 403
    after = await book(runtime).all()
    assert [(s.status, s.label) for s in after] == [("accepted", "Free period products"),
                                                    ("pending", "Bins")]
    told = [o.payload["text"] for o in await runtime.store.outbox_of("p1")]
    assert told == ["Your idea \"Free period products <b>now</b>\" has been taken up: it "
                    "will be in our next vote."]
    assert (await runtime.store.audit_log())[0].action == "suggestion.accept"


async def test_dashboard_budget_and_deliberation_pages(
        site: tuple[Runtime, httpx.AsyncClient]) -> None:
    runtime, client = site
    store = runtime.store
    await store.budget_add(Budget("b1", "Park <fund>", 1000, "GBP", T0,
                                  [BudgetProject("p1", "Benches", 600),
                                   BudgetProject("p2", "Bins", 300)]))
    await store.apply(Changes(events=[EventRow(None, None, "StatementWritten",
                                               {"node": None, "text": "More bins",
                                                "locale": "en"}, T0)]))
    [statement] = await Statements(store).all()
    await Statements(store).decide(statement.code, True, T0)
    for rid, flow, variables in [("r1", "budget", {"budget_id": "b1"}),
                                 ("r2", "statements", {"s1": "More bins",
                                                       "s1_id": statement.code})]:
        await store.round_add(Round(id=rid, flow_id=flow, audience="all", created_at=T0,
                                    start_at=T0, vars=variables))
    rows = []
    for n in range(4):
        await enrol(runtime, f"p{n}", f"+44770090040{n}", cohort="north" if n < 2 else "south")
        rows += [AnswerRow(f"p{n}", f"s{n}", "budget", "v", "choose", "projects",
                           ["p1"] if n < 3 else ["p2"], "1", T0, round_id="r1"),
                 AnswerRow(f"p{n}", f"t{n}", "statements", "v", "s1", "s1", "agree", "1", T0,
                           round_id="r2")]
    await store.apply(Changes(answers=rows))
    await login(client)
    index = await client.get("/admin/suggestions")
    assert 'href="/admin/deliberation/r2"' in index.text
    assert 'href="/admin/budgets/b1"' in index.text
    budget = await client.get("/admin/budgets/b1")
    assert budget.status_code == 200 and "Park &lt;fund&gt;" in budget.text
    assert re.search(r"Benches</td><td class=\"num\">600</td><td class=\"num\">3</td>", budget.text)
    page = await client.get("/admin/deliberation/r2")
    assert page.status_code == 200 and "More bins" in page.text and "consensus" in page.text
    assert (await client.get("/admin/budgets/nope")).status_code == 404
    assert (await client.get("/admin/deliberation/r1")).status_code == 404


async def test_a_late_decision_waits_for_the_morning(runtime: Runtime,
                                                     clock: ManualClock) -> None:
    ana, ana_id = await enrolled_phone(runtime, "tel:+447700900211")
    await ana.say("SUGGEST a bench by the bus stop")
    clock.set(datetime(2026, 3, 2, 23, 30, tzinfo=UTC))  # quiet hours 21:00-09:00, London
    [found] = await book(runtime).all()
    await book(runtime).accept(found.code, clock.now())
    told = [o for o in await runtime.store.outbox_of(ana_id) if "taken up" in o.payload["text"]]
    assert [o.not_before for o in told] == [datetime(2026, 3, 3, 9, 0, tzinfo=UTC)]


async def test_a_suggestion_in_distress_is_signposted_flagged_and_never_quoted(
        runtime: Runtime) -> None:
    ana, ana_id = await enrolled_phone(runtime, "tel:+447700900221")
    got = [m.text for m in await ana.say("SUGGEST help, I can't go on like this")]
    assert got[0].startswith("Thank you for your idea")
    assert any("Samaritans" in text for text in got)  # the signpost, at once
    flagged = await runtime.store.attention_list(participant_id=ana_id)
    assert [item.kind for item in flagged] == ["distress"]
    [found] = await book(runtime).all()
    await book(runtime).reject(found.code, "the team will call you instead.",
                               runtime.clock.now())
    told = [m.text for m in await ana.collect()]
    assert told == ["Thank you for your idea. Not this time, because the team will call "
                    "you instead."]
