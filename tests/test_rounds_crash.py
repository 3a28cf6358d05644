"""A round survives a crash of ``parley serve``: everyone is messaged exactly once.

300 people, the real ``parley serve`` process sending to the fake Twilio at 50
messages a second (enforced by the fake); the process is SIGKILLed once the fake has
recorded about a third of the sends and started again on the same SQLite file. Each
person's round step was committed with its outbox row, sends interrupted mid-request
are looked up at Twilio before anything is resent, so nobody is skipped or messaged
twice, and ``rounds status --json`` agrees with what the fake received.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from pathlib import Path

import pytest

from bot.config import load_config
from bot.runtime import open_runtime
from bot.store.records import Address, Participant
from tests.cli_inprocess import Ran, run_cli
from tests.fakes.twilio_api import FakeTwilio
from tests.rounds_support import project_dir
from tests.serve_process import ROOT
from tests.sms_harness import ParleyProcess, until, write_config

PEOPLE = 300


def numbers() -> list[str]:
    return [f"+4477009{n:05d}" for n in range(PEOPLE)]


def cli(config: Path, *args: str) -> Ran:
    result = run_cli(*args, "--config", config, cwd=config.parent)
    assert result.returncode == 0, result.stderr
    return result


async def enrol_everyone(config: Path) -> None:
    runtime = await open_runtime(load_config(config))
    consent = runtime.library.get("consent")
    version = consent.consent_version or consent.version
    now = runtime.clock.now()
    people = []
    for n, number in enumerate(numbers()):
        pid = f"p_{n:04d}"
        people.append((Participant(id=pid, created_at=now, status="consented",
                                   pathway_done=True, consent_version=version,
                                   preferred_channel="sms"),
                       [Address(f"tel:{number}", pid, "sms", now)]))
    await runtime.store.import_participants(people)
    await runtime.close()


@pytest.mark.slow
@pytest.mark.timeout(120)
async def test_sigkill_mid_round_then_restart_messages_everyone_exactly_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARLEY_SCHEDULER_INTERVAL", "0.5")
    project = project_dir(tmp_path / "project")
    twilio = FakeTwilio(enforce_limits=True, per_second=50, hang_seconds=2.0)
    with twilio.serve() as served:
        config = write_config(tmp_path, served.base_url, rate_limit_per_second=50,
                              request_timeout=1)
        text = config.read_text(encoding="utf-8")
        text = text.replace(f'flows_dir = "{ROOT / "flows"}"',
                            f'flows_dir = "{project / "flows"}"')
        text = text.replace(f'templates_dir = "{ROOT / "templates"}"',
                            f'templates_dir = "{project / "templates"}"')
        config.write_text(text, encoding="utf-8")
        await enrol_everyone(config)
        created = cli(config, "rounds", "create", "--flow", "checkin", "--audience", "all",
                      "--remind-after", "2d", "--label", "checkin")
        round_id = created.stdout.splitlines()[-1]
        cli(config, "rounds", "start", round_id)

        first = ParleyProcess(config, log_level="WARNING").start()
        try:
            await until(lambda: len(twilio.messages) >= PEOPLE // 3, 30,
                        "a third of the round to reach Twilio")
            first.kill()  # SIGKILL: no shutdown, whatever was in flight stays in flight
        finally:
            first.stop()
        at_crash = len(twilio.messages)
        assert PEOPLE // 3 <= at_crash < PEOPLE

        second = ParleyProcess(config, log_level="WARNING").start()
        try:
            await until(lambda: len({m["to"] for m in twilio.messages}) >= PEOPLE, 60,
                        "everyone to be messaged after the restart")
            await asyncio.sleep(1.0)  # anything extra would show up now
        finally:
            second.stop()

        per_number = Counter(m["to"] for m in twilio.messages)
        assert set(per_number) == set(numbers())
        assert max(per_number.values()) == 1, [n for n, c in per_number.items() if c > 1]
        assert all(m["body"].startswith("(About 1 minute.) How have the last two weeks been")
                   for m in twilio.messages)
        status = json.loads(cli(config, "rounds", "status", round_id, "--json").stdout)
        assert (status["targeted"], status["sent"], status["ambiguous"],
                status["unreachable"]) == (PEOPLE, PEOPLE, 0, 0)
        assert status["by_channel"]["sms"]["sent"] == PEOPLE
        assert status["segments_sent"] == PEOPLE  # the question; the thanks comes on answering
        assert status["segments_estimated"] == 2 * PEOPLE
        assert twilio.rate_limited_count == 0 or twilio.accepted_count == PEOPLE
