"""Share-back to everyone (not only commenters) in each person's language, and a
decision on each comment sent to its author."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from bot.privacy import export_participant
from bot.runtime import Runtime
from bot.simulator import enrolled_phone
from tests.cli_inprocess import parley as cli
from tests.serve_process import write_config
from tests.sms_harness import db_runtime

FIRST = "# Fees\n\nPeople pay too much to use the cash machine.\n"
FIRST_CY = "# Ffioedd\n\nMae pobl yn talu gormod.\n"
SECOND = ("# Fees\n\nPeople pay too much to use the cash machine on the high street.\n\n"
          "## What we changed\n\nWe now name where it happens.\n")
SECOND_CY = ("# Ffioedd\n\nMae pobl yn talu gormod ar y stryd fawr.\n\n## What we changed\n\n"
             "Rydym nawr yn enwi ble mae'n digwydd.\n")
PEOPLE = [  # (locale, replies to the endorsement flow)
    ("en", ["1", "SKIP", "2"]),
    ("cy", ["2", "Enwch y stryd", "2"]),
    ("en", ["3", "Fees are fair", "1"]),
    ("en", ["1", "SKIP", "2"]),
]


async def endorse(config: Path, round_id: str) -> None:
    runtime = await db_runtime(config)
    try:
        item = await runtime.store.round_get(round_id)
        assert item is not None
        for n, (locale, replies) in enumerate(PEOPLE):
            phone, pid = await enrolled_phone(runtime, f"tel:+4477009{70000 + n:05d}",
                                              locale=locale)
            await runtime.conversations.start_flow(pid, "endorsement", vars=item.vars,
                                                   round_id=round_id)
            await phone.collect()
            for reply in replies:
                await phone.say(reply)
        await enrolled_phone(runtime, "tel:+447700979999")  # never answered
    finally:
        await runtime.close()


async def read(runtime: Runtime, number: str, flow: str, vars: dict[str, str]) -> list[str]:
    person = await runtime.store.participant_for_address(number)
    assert person is not None
    await runtime.conversations.start_flow(person.id, flow, vars=vars)
    return [o.payload["text"] for o in await runtime.store.outbox_of(person.id)]


async def everyone_reads(config: Path, round_id: str) -> dict[str, list[str]]:
    runtime = await db_runtime(config)
    try:
        item = await runtime.store.round_get(round_id)
        assert item is not None and item.audience == "all" and item.flow_id == "shareback"
        return {number: (await read(runtime, number, "shareback", item.vars))
                for number in ("tel:+447700970000", "tel:+447700970001",
                               "tel:+447700979999")}
    finally:
        await runtime.close()


async def outbox(config: Path, number: str) -> list[str]:
    runtime = await db_runtime(config)
    try:
        person = await runtime.store.participant_for_address(number)
        assert person is not None
        return [o.payload["text"] for o in await runtime.store.outbox_of(person.id)]
    finally:
        await runtime.close()


def test_share_back_to_everyone_and_decisions_to_authors(tmp_path: Path) -> None:
    config = write_config(tmp_path, "sms", {})
    for name, text in [("f.md", FIRST), ("f.cy.md", FIRST_CY), ("g.md", SECOND),
                       ("g.cy.md", SECOND_CY)]:
        (tmp_path / name).write_text(text, encoding="utf-8")
    cli(config, "findings", "publish", str(tmp_path / "f.md"), "--translation",
        f"cy={tmp_path / 'f.cy.md'}")
    early = cli(config, "findings", "share-back", "F1", ok=False)
    assert "nobody has answered on F1 yet" in early.output
    round_id = cli(config, "rounds", "create", "--flow", "endorsement", "--finding", "F1",
                   "--audience", "all").stdout.splitlines()[-1]
    asyncio.run(endorse(config, round_id))
    cli(config, "findings", "publish", str(tmp_path / "g.md"), "--replaces", "F1",
        "--translation", f"cy={tmp_path / 'g.cy.md'}")
    share = cli(config, "findings", "share-back", "F1", "--asked", "say where it happens",
                "--asked-translation", "cy=dweud ble mae'n digwydd").stdout.splitlines()[-1]
    read = asyncio.run(everyone_reads(config, share))
    english = ("What we heard about \"Fees\": 2 of 4 agreed, 1 partly. The main change asked "
               "for was: say where it happens. What we changed: We now name where it happens. "
               "Thank you.")
    assert read["tel:+447700970000"][-1] == english
    assert read["tel:+447700979999"] == [english]  # never commented, still told
    assert read["tel:+447700970001"][-1] == (
        "Beth glywsom am \"Ffioedd\": cytunodd 2 o 4, 1 yn rhannol. Y prif newid a ofynnwyd "
        "amdano oedd: dweud ble mae'n digwydd. Beth wnaethom ei newid: Rydym nawr yn enwi "
        "ble mae'n digwydd. Diolch.")

    found = json.loads(cli(config, "findings", "comments", "F1", "--json").stdout)
    assert [(c["view"], c["words"], c["decision"]) for c in found] == [
        ("partly", "Enwch y stryd", None), ("disagree", "Fees are fair", None)]
    refused = cli(config, "findings", "decide", "F1", found[0]["id"], "--outcome", "maybe",
                  "--reason", "x", ok=False)
    assert "--outcome must be one of taken, partly, not" in refused.output
    cli(config, "findings", "decide", "F1", found[0]["id"], "--outcome", "taken",
        "--reason", "Mae'r fersiwn newydd yn enwi'r stryd fawr.")
    cli(config, "findings", "decide", "F1", found[1]["id"], "--outcome", "not",
        "--reason", "most people who wrote found them too high.")
    welsh = asyncio.run(outbox(config, "tel:+447700970001"))
    assert welsh[-1] == ("Am eich sylw ar \"Ffioedd\": rydym wedi'i dderbyn. Mae'r fersiwn "
                         "newydd yn enwi'r stryd fawr.")
    assert asyncio.run(outbox(config, "tel:+447700970002"))[-1] == (
        "About your comment on \"Fees\": we have not taken it up, because most people who "
        "wrote found them too high.")
    after = json.loads(cli(config, "findings", "comments", "F1", "--json").stdout)
    assert [c["decision"] for c in after] == ["taken", "not"]
    exported = asyncio.run(export_of(config, "tel:+447700970002"))
    assert [(d["outcome"], d["finding"]) for d in exported["decisions_on_your_comments"]] == [
        ("not", "F1")]


async def export_of(config: Path, number: str) -> dict[str, Any]:
    runtime = await db_runtime(config)
    try:
        person = await runtime.store.participant_for_address(number)
        assert person is not None
        return await export_participant(runtime.store, person.id)
    finally:
        await runtime.close()
