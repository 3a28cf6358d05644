"""A statements round through the CLI on a real SQLite project: seed statements,
people vote agree / disagree / pass one at a time and write their own (moderated
before anyone sees it), and the report finds the two sides, the common ground and the
split (--json contract, CSV), with each opinion group's cohorts."""

from __future__ import annotations

import asyncio
import csv
import dataclasses
import json
from pathlib import Path

import pytest

from bot.privacy import export_participant
from bot.runtime import Runtime
from bot.simulator import enrolled_phone
from bot.store.records import Changes
from tests.cli_inprocess import parley as cli
from tests.serve_process import write_config
from tests.sms_harness import db_runtime

pytestmark = pytest.mark.timeout(90)
SEEDS = ["Buses should run all night", "Fares should go up to pay for more buses",
         "Bus drivers are kind to people with pushchairs"]




async def take_part(runtime: Runtime, round_id: str, n: int, cohort: str,
                    replies: list[str]) -> list[str]:
    phone, pid = await enrolled_phone(runtime, f"tel:+4477009{50000 + n:05d}")
    person = await runtime.store.get_participant(pid)
    assert person is not None
    await runtime.store.apply(Changes(participant=dataclasses.replace(person, cohort=cohort)))
    item = await runtime.store.round_get(round_id)
    assert item is not None
    await runtime.conversations.start_flow(pid, "statements", vars=item.vars,
                                           round_id=round_id)
    seen = [m.text for m in await phone.collect()]
    for reply in replies:
        seen += [m.text for m in await phone.say(reply)]
    return seen


def test_statements_round_report_finds_sides_and_common_ground(tmp_path: Path) -> None:
    config = write_config(tmp_path, "sms", {})
    none_yet = cli(config, "rounds", "create", "--flow", "statements", "--audience", "all",
                   ok=False)
    assert "no approved statements yet" in none_yet.stderr
    codes = [cli(config, "statements", "add", text).stdout.splitlines()[-1] for text in SEEDS]
    round_id = cli(config, "rounds", "create", "--flow", "statements", "--audience",
                   "all").stdout.splitlines()[-1]
    asyncio.run(everyone_takes_part(config, round_id))

    pending = json.loads(cli(config, "statements", "list", "--json").stdout)
    assert pending[0] == {"id": pending[0]["id"], "status": "pending",
                          "text": "Night buses feel unsafe", "by_participant": True}
    table = tmp_path / "report.csv"
    found = json.loads(cli(config, "deliberation", "report", round_id, "--json", "--csv",
                           str(table)).stdout)
    assert set(found) == {"round", "participants", "statements", "groups"}
    assert (found["round"], found["participants"]) == (round_id, 12)
    by_id = {s["id"]: s for s in found["statements"]}
    assert [by_id[c]["text"] for c in codes] == SEEDS
    assert [(by_id[c]["agree"], by_id[c]["disagree"], by_id[c]["pass"]) for c in codes] == [
        (6, 6, 0), (6, 6, 0), (11, 0, 1)]
    assert [(by_id[c]["consensus"], by_id[c]["divisive"]) for c in codes] == [
        (False, True), (False, True), (True, False)]
    assert sorted((g["size"], tuple(g["by_cohort"].items())) for g in found["groups"]) == [
        (6, (("north", 6),)), (6, (("south", 6),))]
    rows = list(csv.DictReader(table.open(encoding="utf-8")))
    assert [(r["id"], r["consensus"], r["divisive"]) for r in rows] == [
        (codes[0], "0", "1"), (codes[1], "0", "1"), (codes[2], "1", "0")]

    cli(config, "statements", "approve", pending[0]["id"])
    again = cli(config, "rounds", "create", "--flow", "statements", "--audience", "all")
    assert asyncio.run(first_statement(config, again.stdout.splitlines()[-1])) == (
        "Night buses feel unsafe")  # the new one, put to people least so far
    assert "no round 'nope'" in cli(config, "deliberation", "report", "nope", ok=False).output


async def everyone_takes_part(config: Path, round_id: str) -> None:
    runtime = await db_runtime(config)
    try:
        first = await take_part(runtime, round_id, 0, "north",
                                ["1", "no", "agree", "Night buses feel unsafe"])
        assert first[:2] == ["(About 3 minutes.) Here are some things other people in the "
                             "project said. For each one, reply 1 agree, 2 disagree or 3 pass.",
                             "\"Buses should run all night\"\n1 Agree\n2 Disagree\n"
                             "3 Pass / not sure\nOr reply SKIP"]
        assert first[-2].startswith("What do you think? Write one sentence")
        assert first[-1].startswith("Thank you. We'll share what people agree on")
        author = await runtime.store.participant_for_address("tel:+447700950000")
        assert author is not None
        mine = (await export_participant(runtime.store, author.id))["statements"]
        assert [(s["text"], s["status"]) for s in mine] == [("Night buses feel unsafe",
                                                             "pending")]
        for n in range(1, 6):  # the north: for night buses, against fares, kind drivers
            await take_part(runtime, round_id, n, "north", ["1", "2", "1", "SKIP"])
        for n in range(6, 12):  # the south: the other way round on buses and fares
            await take_part(runtime, round_id, n, "south",
                            ["2", "1", "pass" if n == 6 else "1", "SKIP"])
    finally:
        await runtime.close()


async def first_statement(config: Path, round_id: str) -> str:
    runtime = await db_runtime(config)
    try:
        item = await runtime.store.round_get(round_id)
        assert item is not None
        return item.vars["s1"]
    finally:
        await runtime.close()
