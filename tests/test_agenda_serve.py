"""Agenda-setting end to end: the real `parley serve` process, signed Twilio webhooks and
the fake Twilio; a coordinator works through the CLI on the same database, as in a pilot.

30 people suggest by SMS (some in Welsh), a coordinator accepts, merges and rejects,
every suggester hears what became of their idea in their language, and a vote round on
the accepted suggestions goes to everyone and is answered."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from pathlib import Path

import pytest

from bot.simulator import enrolled_phone
from tests.cli_inprocess import Ran, parley
from tests.fakes.twilio_api import FakeTwilio
from tests.sms_harness import ParleyProcess, Phone, db_runtime, until, write_config

pytestmark = [pytest.mark.timeout(120), pytest.mark.slow]

TOPICS = [("more night buses", 12), ("cheaper childcare", 10), ("fix damp in flats", 8)]
WELSH = range(0, 30, 6)
"""Every sixth person speaks Welsh."""


async def cli(config: Path, *args: str) -> Ran:
    """The coordinator's command, beside the running server (in a worker thread: the
    CLI runs its own event loop)."""
    return await asyncio.to_thread(parley, config, *args)


async def test_thirty_suggest_coordinator_moderates_suggesters_hear_then_vote(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARLEY_SCHEDULER_INTERVAL", "0.5")
    twilio = FakeTwilio()
    numbers = [f"+4477009{30000 + n:05d}" for n in range(30)]
    ideas = [topic for topic, count in TOPICS for _ in range(count)]
    with twilio.serve() as served:
        config = write_config(tmp_path, served.base_url)
        runtime = await db_runtime(config)
        for n, number in enumerate(numbers):
            await enrolled_phone(runtime, f"tel:{number}", locale="cy" if n in WELSH else "en")
        await runtime.close()
        server = ParleyProcess(config, log_level="WARNING").start()
        try:
            phones = [Phone(server, twilio, number) for number in numbers]
            texts = [f"SUGGEST {idea}" if n % 2 else f"suggest: {idea.capitalize()}."
                     for n, idea in enumerate(ideas)]
            firsts = (0, 14)  # the first of buses and of childcare, so they get the lower ids
            for n in firsts:
                await phones[n].say(texts[n])
            sent = await asyncio.gather(*(phones[n].text(texts[n]) for n in range(30)
                                          if n not in firsts))
            assert {r.status_code for r in sent} == {200}
            await until(lambda: all(p.messages() for p in phones), 30, "every thank-you")
            thanks = Counter(p.messages()[0].split()[0] for p in phones)
            assert thanks == {"Thank": 25, "Diolch": 5}

            listing = json.loads((await cli(config, "suggestions", "list", "--json")).stdout)
            assert len(listing) == 30 and {s["status"] for s in listing} == {"pending"}
            by_topic: dict[str, list[str]] = {}
            for row in listing:
                by_topic.setdefault(row["text"].lower().rstrip("."), []).append(row["id"])
            buses, childcare, damp = (by_topic[topic] for topic, _ in TOPICS)
            await cli(config, "suggestions", "accept", buses[0], "--label", "Night buses")
            await cli(config, "suggestions", "merge", *buses[1:], "--into", buses[0])
            await cli(config, "suggestions", "merge", *childcare[1:], "--into", childcare[0])
            await cli(config, "suggestions", "reject", *damp, "--reason",
                      "the housing team already runs a damp survey.")
            await until(lambda: all(len(p.messages()) >= 2 for p in phones), 30,
                        "every suggester to hear what became of their idea")
            fates = [p.messages()[1] for p in phones]
            assert fates[1] == ("Your idea \"more night buses\" has been merged with a similar "
                                "one: \"Night buses\". It will be in our next vote.")
            assert fates[0].startswith("Mae eich syniad \"More night buses.\" wedi'i "
                                       "dderbyn")  # taken up, told in Welsh
            assert fates[14].startswith("Your idea \"Cheaper childcare.\" has been taken up")
            assert fates[29] == ("Thank you for your idea \"fix damp in flats\". Not this time, "
                                 "because the housing team already runs a damp survey.")
            assert sum("taken up" in f or "wedi'i dderbyn" in f for f in fates) == 2
            assert sum("merged" in f or "gyfuno" in f for f in fates) == 20

            created = await cli(config, "rounds", "create", "--flow", "vote", "--audience",
                                "all", "--from-suggestions", "all")
            round_id = created.stdout.splitlines()[-1]
            await cli(config, "rounds", "start", round_id)
            await until(lambda: all(len(p.messages()) >= 3 for p in phones), 30,
                        "the vote to reach everyone")
            assert phones[1].messages()[2] == (  # a round starts with how long it takes
                "(About 1 minute.) Which of these ideas should we work on first?\n"
                "1 Night buses\n"
                "2 Cheaper childcare.\nReply with all the numbers that apply, like 1 3\n"
                "Or reply SKIP")
            replies = ["1", "1 and 2", "2", "childcare, buses"]
            votes = await asyncio.gather(*(p.text(replies[n % 4]) for n, p in enumerate(phones)))
            assert {r.status_code for r in votes} == {200}
            await until(lambda: all(len(p.messages()) >= 4 for p in phones), 30,
                        "every vote to be thanked")
            assert phones[3].messages()[3] == "Thank you. We'll tell everyone what was chosen."
            shared = (await cli(config, "suggestions", "share", round_id)).stdout
            await cli(config, "rounds", "start", shared.splitlines()[-1])
            await until(lambda: all(len(p.messages()) >= 5 for p in phones), 30,
                        "everyone to hear what the vote decided")
            assert phones[29].messages()[4] == (
                "The vote on your ideas: 30 people voted. Most chosen: Night buses (23); "
                "Cheaper childcare. (22). We'll work on these first. Thank you.")
            # (in Welsh the vote's "(Tua 1 munud.)" came as its own SMS: one more message)
            assert phones[0].messages()[-1].startswith("Y bleidlais ar eich syniadau: "
                                                       "pleidleisiodd 30 o bobl.")
        finally:
            server.stop()
        status = json.loads((await cli(config, "rounds", "status", round_id, "--json")).stdout)
        assert (status["targeted"], status["completed"]) == (30, 30)
        runtime = await db_runtime(config)
        try:
            answers = [a.value for a in await runtime.store.answers(flow_id="vote")]
            picks = Counter(v for value in answers if isinstance(value, list) for v in value)
            assert picks == {buses[0].lower(): 23, childcare[0].lower(): 22}
        finally:
            await runtime.close()
        used = json.loads((await cli(config, "suggestions", "list", "--json",
                                     "--status", "accepted")).stdout)
        assert {row["round"] for row in used} == {round_id}
