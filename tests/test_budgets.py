"""Participatory budgeting through the CLI on a real SQLite project: create from CSV
(bad rows named by line), a round on the budget voted by SMS-style phones, results by
greedy and Equal Shares with the per-cohort breakdown (the --json contract), and the
share-back round in each person's language."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from pathlib import Path

import pytest

from bot.budgets.setup import budget_vars
from bot.runtime import Runtime
from bot.simulator import enrolled_phone
from bot.store.records import Changes
from tests.cli_inprocess import parley as cli
from tests.serve_process import write_config
from tests.sms_harness import db_runtime

pytestmark = pytest.mark.timeout(90)

PROJECTS = """title,cost,description
Brighter street lights,"7,500",Along the canal path
Benches,2000,
Play area,4000,Swings and a slide
Library books,3000,For the children's corner
"""




async def vote(runtime: Runtime, round_id: str, n: int, cohort: str, locale: str,
               reply: str) -> None:
    phone, pid = await enrolled_phone(runtime, f"tel:+4477009{40000 + n:05d}", locale=locale)
    person = await runtime.store.get_participant(pid)
    assert person is not None
    await runtime.store.apply(Changes(participant=dataclasses.replace(person, cohort=cohort)))
    budget = await runtime.store.budget_get("b1")
    assert budget is not None
    await runtime.conversations.start_flow(pid, "budget", vars=budget_vars(budget),
                                           round_id=round_id)
    question = (await phone.collect())[-1].text
    assert "10,000 GBP" in question and "1 Brighter street lights (7,500 GBP)" in question
    answers = [m.text for m in await phone.say(reply)]
    assert answers[-1].startswith(("Thank you", "Diolch")), answers


def test_create_vote_count_and_share_back(tmp_path: Path) -> None:
    config = write_config(tmp_path, "sms", {})
    bad = tmp_path / "bad.csv"
    bad.write_text("title,cost\nBenches,lots\n,100\nBridge,20000\n", encoding="utf-8")
    refused = cli(config, "budgets", "create", "--title", "Park fund", "--total", "10000",
                  "--currency", "GBP", "--options", str(bad), ok=False)
    assert f"{bad}:2: cost: 'lots' is not a whole number above 0" in refused.stderr
    assert f"{bad}:3: title: empty" in refused.stderr
    assert f"{bad}:4: cost: 20000 is more than the whole budget (10000)" in refused.stderr
    good = tmp_path / "projects.csv"
    good.write_text(PROJECTS, encoding="utf-8")
    created = cli(config, "budgets", "create", "--title", "Park fund", "--total", "10000",
                  "--currency", "gbp", "--options", str(good))
    assert created.stdout.splitlines()[-1] == "b1"
    round_id = cli(config, "rounds", "create", "--flow", "budget", "--budget", "b1",
                   "--audience", "all").stdout.splitlines()[-1]
    wrong = cli(config, "rounds", "create", "--flow", "ons4", "--budget", "b1",
                "--audience", "all", ok=False)
    assert "has no question with options_from" in wrong.stderr

    asyncio.run(everyone_votes(config, round_id))

    found = json.loads(cli(config, "budgets", "results", "b1", "--json").stdout)
    assert set(found) >= {"id", "total", "currency", "voters", "projects", "winners",
                          "by_cohort"}
    assert (found["id"], found["total"], found["currency"], found["voters"]) == (
        "b1", 10000, "GBP", 10)
    assert [(p["id"], p["cost"], p["votes"], p["points"]) for p in found["projects"]] == [
        ("p1", 7500, 6, 6), ("p2", 2000, 6, 6), ("p3", 4000, 4, 4), ("p4", 3000, 4, 4)]
    # greedy gives the majority everything; Equal Shares gives each side its share:
    # the north's 6,000 cannot buy the 7,500 lights, so it buys benches; the south's
    # 4,000 buys the books (750 each) but then not the play area
    assert found["winners"] == {"greedy": ["p1", "p2"], "equal_shares": ["p2", "p4"]}
    assert found["by_cohort"] == {
        "north": {"voters": 6, "votes": {"p1": 6, "p2": 6, "p3": 0, "p4": 0}},
        "south": {"voters": 4, "votes": {"p1": 0, "p2": 0, "p3": 4, "p4": 4}}}
    table = cli(config, "budgets", "results", "b1").stdout
    assert "equal_shares: 5,000 GBP of 10,000 GBP spent" in table

    share = cli(config, "budgets", "share", "b1").stdout.splitlines()[-1]
    asyncio.run(share_back_reads_in_each_language(config, share))


async def everyone_votes(config: Path, round_id: str) -> None:
    runtime = await db_runtime(config)
    try:
        # six in the north want the lights and benches; four in the south the play
        # area and books (one of them by name)
        for n in range(6):
            await vote(runtime, round_id, n, "north", "cy" if n == 0 else "en", "1 and 2")
        for n in range(6, 10):
            await vote(runtime, round_id, n, "south", "en",
                       "3 4" if n != 6 else "play area and library books")
    finally:
        await runtime.close()


async def share_back_reads_in_each_language(config: Path, share: str) -> None:
    runtime = await db_runtime(config)
    try:
        item = await runtime.store.round_get(share)
        assert item is not None and item.flow_id == "budget_result"
        assert item.vars["winners"] == "Benches; Library books"
        welsh = await runtime.store.participant_for_address("tel:+447700940000")
        assert welsh is not None
        phone, pid = await enrolled_phone(runtime, "tel:+447700949999")
        await runtime.conversations.start_flow(pid, "budget_result", vars=item.vars)
        assert [m.text for m in await phone.collect()] == [
            "Park fund: 10 people voted. Funded: Benches; Library books (5,000 GBP of "
            "10,000 GBP). Thank you for deciding."]
        await runtime.conversations.start_flow(welsh.id, "budget_result", vars=item.vars)
        outbox = [o.payload["text"] for o in await runtime.store.outbox_of(welsh.id)]
        assert outbox[-1].startswith("Park fund: pleidleisiodd 10 o bobl.")
    finally:
        await runtime.close()
