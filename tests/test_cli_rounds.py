"""``parley rounds|findings|credits|audit`` as coordinators use them (in-process)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli_inprocess import Ran, run_cli

pytestmark = pytest.mark.timeout(120)
KEYS = ["id", "flow", "label", "targeted", "sent", "delivered", "started", "completed",
        "opted_out", "unreachable", "ambiguous", "segments_estimated", "segments_sent",
        "by_channel", "messages"]
COUNT_KEYS = KEYS[3:-2]
MESSAGE_KEYS = ["queued", "sent", "delivered", "ambiguous", "resent", "failed"]


def parley(cwd: Path, *args: str) -> Ran:
    return run_cli(*args, cwd=cwd, env={"PARLEY_ACTOR": "sam@example.org"})


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "config.toml").write_text(
        '[project]\nname = "Money Voices"\n[store]\nurl = "sqlite:///parley.db"\n'
        '[schedule]\nquiet_hours = ""\n[[credits.rules]]\nflow = "ons4"\namount = 5\n',
        encoding="utf-8")
    for args in (["--name", "Ann", "--phone", "07700 900123", "--cohort", "north"],
                 ["--name", "Bob", "--telegram-id", "42", "--cohort", "north"],
                 ["--name", "Cy", "--phone", "07700 900124", "--cohort", "south"]):
        assert parley(tmp_path, "participants", "add", *args).returncode == 0
    return tmp_path


def test_round_lifecycle_from_the_command_line(project: Path) -> None:
    dry = parley(project, "rounds", "create", "--flow", "ons4", "--audience", "cohort:north",
                 "--remind-after", "2d,5d", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "2 people: 1 Telegram, 1 SMS" in dry.stdout and "nothing was written" in dry.stdout
    # ons4's 6 segments, plus the introduction and consent Ann (never consented) gets first
    assert "Estimated 13 SMS segments" in dry.stdout
    assert parley(project, "rounds", "list", "--json").stdout == ""  # the dry run wrote none

    created = parley(project, "rounds", "create", "--flow", "ons4", "--audience",
                     "cohort:north", "--start", "2026-03-16T10:00", "--remind-after", "2d",
                     "--close-after", "14d", "--label", "baseline")
    assert created.returncode == 0, created.stderr
    assert created.stdout.splitlines()[-1] == "r1"
    started = parley(project, "rounds", "start", "r1")
    assert started.returncode == 0 and "2 people planned" in started.stdout
    status = parley(project, "rounds", "status", "r1", "--json")
    data = json.loads(status.stdout)
    assert list(data) == KEYS
    assert list(data["by_channel"]) == ["telegram", "sms", "whatsapp"]
    assert all(list(v) == COUNT_KEYS for v in data["by_channel"].values())
    assert list(data["messages"]) == MESSAGE_KEYS
    assert (data["id"], data["flow"], data["label"], data["targeted"]) == (
        "r1", "ons4", "baseline", 2)
    assert data["by_channel"]["sms"]["segments_estimated"] == 13
    table = parley(project, "rounds", "status", "r1")
    assert "targeted" in table.stdout and "Round r1: ons4 (baseline)" in table.stdout

    assert "Paused r1" in parley(project, "rounds", "pause", "r1").stdout
    assert "Resumed r1" in parley(project, "rounds", "resume", "r1").stdout
    assert "2 people will not" in parley(project, "rounds", "cancel", "r1").stdout
    again = parley(project, "rounds", "start", "r1")
    assert again.returncode == 1 and again.stderr.strip().endswith(
        "round r1 is cancelled; only a draft can be started")
    audit = parley(project, "audit")
    assert "sam@example.org" in audit.stdout and "round.cancel" in audit.stdout


@pytest.mark.parametrize(("args", "message"), [
    (["--flow", "nope", "--audience", "all"], "--flow: no flow called 'nope'"),
    (["--flow", "ons4", "--audience", "everyone"], "audience 'everyone' should be all"),
    (["--flow", "ons4", "--audience", "all", "--every", "fortnightly"], "--every:"),
    (["--flow", "ons4", "--audience", "all", "--start", "next tuesday"], "not an ISO"),
    (["--flow", "endorsement", "--audience", "all"], "pass --finding ID"),
    (["--flow", "ons4", "--audience", "ids:missing.csv"], "cannot read the file"),
])
def test_bad_input_is_one_line_and_exit_1(project: Path, args: list[str],
                                          message: str) -> None:
    result = parley(project, "rounds", "create", *args)
    assert result.returncode == 1
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_ids_audience_findings_and_credits(project: Path) -> None:
    people = json.loads(parley(project, "participants", "list", "--json").stdout
                        .splitlines()[2])
    (project / "ids.csv").write_text(f"participant_id\n{people['id']}\n", encoding="utf-8")
    made = parley(project, "rounds", "create", "--flow", "ons4", "--audience", "ids:ids.csv")
    assert made.returncode == 0, made.stderr
    assert "1 people" in made.stdout

    (project / "f.md").write_text("# Fees hurt\n\nFees made our debts bigger.\n",
                                  encoding="utf-8")
    published = parley(project, "findings", "publish", "f.md")
    assert published.returncode == 0 and published.stdout.splitlines()[-1] == "F1"
    endorse = parley(project, "rounds", "create", "--flow", "endorsement", "--finding", "F1",
                     "--audience", "all")
    assert endorse.stdout.splitlines()[-1] == "r2"
    assert "agree 0 · partly 0 · disagree 0" in parley(project, "findings", "summary",
                                                       "F1").stdout

    pid = people["id"]
    adjusted = parley(project, "credits", "adjust", pid, "3.5", "--note", "bus fare")
    assert adjusted.returncode == 0 and "sam@example.org" in adjusted.stdout
    assert parley(project, "credits", "adjust", pid, "3").returncode == 1  # no note
    period = json.loads(parley(project, "credits", "balance", pid, "--json").stdout)
    assert period["owed"] == "3.5"
    from datetime import datetime
    from zoneinfo import ZoneInfo

    month = datetime.now(ZoneInfo("Europe/London")).strftime("%Y-%m")
    first = parley(project, "credits", "export", "--period", month)
    assert first.returncode == 0, first.stderr
    batch = first.stdout.splitlines()[-1]
    assert batch == f"B{month}-1"
    assert (project / f"payout-{month}.csv").read_text().count("\n") == 2
    second = parley(project, "credits", "export", "--period", month)
    assert "Nothing new to pay" in second.stdout
    assert parley(project, "credits", "mark-paid", batch).returncode == 0
    assert parley(project, "credits", "mark-paid", batch).returncode == 1


async def test_demo_runs_the_whole_cycle_in_process() -> None:
    import io

    from rich.console import Console

    from bot.config import Config
    from bot.demo import run_demo

    console = Console(file=io.StringIO(), width=140, record=True)
    await run_demo(Config(), console, 3)
    text = console.export_text()
    for expected in [
        "Hello, this is Money Voices. We'd like to invite you",   # the imported person
        "Bryn (SMS, America/New_York, Mon 09:00 their time)",     # their own morning
        "Just a reminder: we'd still love to hear from you",      # the check-in reminder
        "parley findings summary F1: v1",
        'You said: "Say \'charged fees\' – some of us were never told why"',
        "Co-authors who asked to be named: Amira",
        "batch B2026-03-1", "A second export of 2026-05 pays nothing new.",
        "2026-05,p_0005,,2,feedback;ons4,10,no",                   # declined: recorded only
        "What Parley stored",
    ]:
        assert expected in text, expected
