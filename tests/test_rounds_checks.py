"""``rounds create`` refuses schedules that contradict themselves, warns when nobody
would get the round, and its preview never lists opted-out people as "will be sent"."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pytest

from bot.config import load_config
from bot.ids import SequentialIds
from bot.people import PersonSpec, build_people
from bot.store import open_store
from bot.store.records import Changes
from tests.test_cli_rounds import parley

pytestmark = pytest.mark.timeout(120)
NOW = dt.datetime.now(dt.UTC)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "config.toml").write_text(
        '[store]\nurl = "sqlite:///parley.db"\n[schedule]\nquiet_hours = ""\n',
        encoding="utf-8")

    async def enrol() -> None:
        config = load_config(tmp_path / "config.toml")
        specs = [(1, PersonSpec(name="Ann", phone="07700 900123", cohort="north")),
                 (2, PersonSpec(name="Olu", phone="07700 900125", cohort="north"))]
        people = build_people(specs, config, SequentialIds(), NOW, "x.csv")
        store = open_store(f"sqlite:///{tmp_path / 'parley.db'}")
        await store.open()
        await store.import_participants(people)
        olu = people[1][1][0]
        olu.opted_out, olu.opted_out_at = True, NOW  # Olu texted STOP
        await store.apply(Changes(addresses=[olu]))
        await store.close()

    asyncio.run(enrol())
    return tmp_path


@pytest.mark.parametrize(("args", "message"), [
    (["--start", "2026-06-01T10:00", "--every", "14d", "--until", "2026-05-01"],
     "--until (2026-04-30 23:00 UTC) is before the start (2026-06-01 09:00 UTC)"),
    (["--remind-after", "2d,10d", "--close-after", "7d"],
     "--remind-after 10d is not before --close-after 7d"),
])
def test_contradictory_schedules_are_refused(project: Path, args: list[str],
                                             message: str) -> None:
    made = parley(project, "rounds", "create", "--flow", "ons4", "--audience", "all", *args)
    assert made.returncode == 1 and message in made.stderr and "Traceback" not in made.stderr
    assert parley(project, "rounds", "list", "--json").stdout == ""


def test_preview_leaves_opted_out_people_out_and_empty_audience_warns(project: Path) -> None:
    dry = parley(project, "rounds", "create", "--flow", "ons4", "--audience", "all",
                 "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "Ann" in dry.stdout and "Olu" not in dry.stdout
    assert "Will be sent to 1 people: 0 Telegram, 1 SMS. Not sent: 1 opted out" in dry.stdout
    empty = parley(project, "rounds", "create", "--flow", "ons4", "--audience",
                   "cohort:nowhere")
    assert empty.returncode == 0
    assert "warning: nobody in 'cohort:nowhere' can be sent this round" in empty.stderr
    assert empty.stdout.splitlines()[-1] == "r1"
