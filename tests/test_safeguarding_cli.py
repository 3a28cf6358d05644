"""``parley safeguarding list [--json]`` and ``ack ID`` for teams without the dashboard
(in-process, on a SQLite project)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from bot.clock import ManualClock
from bot.config import load_config
from bot.conversations.safeguarding_notes import note
from bot.safeguarding.desk import Desk
from bot.store.records import Changes, Participant
from bot.store.sqlite import SqliteStore
from tests.conftest import T0
from tests.test_cli_edges import parley

pytestmark = pytest.mark.timeout(60)


def test_list_and_acknowledge_from_the_command_line(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('[store]\nurl = "sqlite:///parley.db"\n')

    async def seed() -> None:
        store = SqliteStore(tmp_path / "parley.db")
        await store.open()
        changes = Changes(participant=Participant("p_kim0001", T0, status="consented"))
        note(changes, "p_kim0001", "sms", "distress", "no way out \x1b[31m", T0)
        note_help = Changes()
        note(note_help, "p_kim0001", "sms", "help", "HELP", T0)
        await store.apply(changes)
        await store.apply(note_help)
        config = load_config(tmp_path / "config.toml")
        await Desk(store=store, config=config, clock=ManualClock(T0)).sync()
        await store.close()

    asyncio.run(seed())
    listed = parley(tmp_path, "safeguarding", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    [row] = [json.loads(line) for line in listed.stdout.splitlines()]
    assert (row["id"], row["kind"], row["participant"], row["status"]) == (
        1, "distress", "p_kim0001", "open")
    table = parley(tmp_path, "safeguarding", "list").stdout
    assert "no way out" in table and "\x1b" not in table  # their words, made inert
    acked = parley(tmp_path, "safeguarding", "ack", "1", "--by", "ana@example.org")
    assert acked.returncode == 0 and "#1 acknowledged by you" in acked.stdout
    assert "Nothing needs attention." in parley(tmp_path, "safeguarding", "list").stdout
    every = parley(tmp_path, "safeguarding", "list", "--all", "--json").stdout.splitlines()
    assert [json.loads(line)["kind"] for line in every] == ["help", "distress"]
    missing = parley(tmp_path, "safeguarding", "ack", "7")
    assert missing.returncode == 1 and "no inbox item #7" in missing.stderr
    assert "attention.ack" in parley(tmp_path, "audit").stdout
