"""Retention is done, not only promised (issue 12, finding 5): ``parley retention
preview|purge --as-of`` erase exactly the people the preview listed, audited; and
``parley serve``'s scheduler purges on its own."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from pathlib import Path

from bot.config import load_config
from bot.runtime import open_runtime
from bot.store.records import Address, AnswerRow, Changes, ConsentRecord, Participant
from tests.cli_inprocess import Ran, run_cli
from tests.serve_process import ParleyProcess, write_config

UTC = dt.UTC


def parley(config: Path, *args: str) -> Ran:
    return run_cli(*args, "--config", config, cwd=config.parent)


async def _seed(config: Path, people: list[tuple[str, dt.datetime, Changes]]) -> None:
    runtime = await open_runtime(load_config(config))
    try:
        for pid, joined, more in people:
            await runtime.store.apply(Changes(
                participant=Participant(pid, joined, status="consented", name=f"Name {pid}",
                                        consent_version="v1"),
                addresses=[Address(f"tel:+4477009005{pid[-2:]}", pid, "sms", joined)],
                consents=[ConsentRecord(pid, "v1", "given", joined)]))
            await runtime.store.apply(more)
    finally:
        await runtime.close()


def _answer(pid: str, at: dt.datetime) -> Changes:
    return Changes(answers=[AnswerRow(pid, f"s-{pid}", "ons4", "v", "q", "x", 5, "5", at)])


def test_purge_as_of_erases_exactly_the_previewed_people(tmp_path: Path) -> None:
    config = write_config(tmp_path, "sms", {})
    config.write_text(config.read_text() + "\n[retention]\ndays = 365\n")
    joined = dt.datetime(2025, 1, 1, 12, tzinfo=UTC)
    asyncio.run(_seed(config, [
        ("p01", joined, Changes()),                                          # inactive
        ("p02", joined, _answer("p02", dt.datetime(2026, 1, 1, tzinfo=UTC))),  # active
        ("p03", joined, Changes(consents=[ConsentRecord(
            "p03", "v1", "withdrawn", dt.datetime(2025, 3, 1, tzinfo=UTC))])),
    ]))
    early = parley(config, "retention", "preview", "--as-of", "2025-12-01", "--json")
    assert early.returncode == 0, early.stderr
    assert json.loads(early.stdout) == []
    shown = parley(config, "retention", "preview", "--as-of", "2026-06-01", "--json")
    listed = json.loads(shown.stdout)
    assert [(d["id"], d["reason"]) for d in listed] == [("p01", "inactive"),
                                                        ("p03", "withdrawn")]
    assert listed[0]["days_inactive"] == 515  # 1 Jan 2025 noon to 1 Jun 2026 00:00 BST
    done = parley(config, "retention", "purge", "--as-of", "2026-06-01", "--as", "dpo")
    assert done.returncode == 0, done.stderr
    assert "Erased 2 participant(s)." in done.stdout

    async def check() -> None:
        runtime = await open_runtime(load_config(config))
        try:
            statuses = {pid: (await runtime.store.get_participant(pid)).status  # type: ignore[union-attr]
                        for pid in ("p01", "p02", "p03")}
            assert statuses == {"p01": "erased", "p02": "consented", "p03": "erased"}
            (entry,) = [e for e in await runtime.store.audit_log()
                        if e.action == "retention.purge"]
            assert entry.actor == "dpo" and entry.detail["participants"] == ["p01", "p03"]
        finally:
            await runtime.close()

    asyncio.run(check())
    again = parley(config, "retention", "preview", "--as-of", "2026-06-01", "--json")
    assert json.loads(again.stdout) == []


def test_a_bad_date_is_one_line_and_nonzero(tmp_path: Path) -> None:
    config = write_config(tmp_path, "sms", {})
    bad = parley(config, "retention", "purge", "--as-of", "next tuesday")
    assert bad.returncode == 1
    assert "is not a date like 2027-03-01" in bad.stderr and "Traceback" not in bad.stderr


async def test_serve_purges_on_its_scheduler(tmp_path: Path) -> None:
    config = write_config(tmp_path, "sms", {})
    now = dt.datetime.now(UTC)
    await _seed(config, [("p11", now - dt.timedelta(days=400), Changes()),
                         ("p12", now - dt.timedelta(days=3), Changes())])
    server = ParleyProcess(config).start()
    runtime = await open_runtime(load_config(config))
    try:
        states: dict[str, str] = {}

        async def refresh() -> None:
            for pid in ("p11", "p12"):
                p = await runtime.store.get_participant(pid)
                states[pid] = p.status if p else "?"

        deadline = asyncio.get_running_loop().time() + 15
        while states.get("p11") != "erased" and asyncio.get_running_loop().time() < deadline:
            await refresh()
            await asyncio.sleep(0.1)
        assert states == {"p11": "erased", "p12": "consented"}
        actions = [(e.actor, e.action) for e in await runtime.store.audit_log()]
        assert ("scheduler", "retention.purge") in actions
    finally:
        await runtime.close()
        server.stop()
