"""Spreadsheet formulas from participants come out as text in every CSV Parley writes
(issue 12, finding 3): the CLI's payout and participation files, the dashboard's batch
files on disk and its downloads, the results export and invite lists."""

from __future__ import annotations

import asyncio
import csv
import io
import stat
from pathlib import Path

import httpx
import pytest

from bot.clock import ManualClock
from bot.csv_safe import safe_cell, write_csv_file
from bot.store.records import Address, AnswerRow, Changes, ConsentRecord, Participant
from bot.store.round_records import LedgerEntry
from bot.store.sqlite import SqliteStore
from tests.cli_inprocess import run_cli
from tests.conftest import T0
from tests.serve_process import write_config
from tests.test_dashboard import build, csrf_of, login

EVIL = '=HYPERLINK("http://evil.example","pay")'


@pytest.mark.parametrize("text", [EVIL, "+cmd|' /C calc'!A0", "@SUM(1+9)*cmd|' /C calc'!A0",
                                  "-2+3+cmd|' /C calc'!A0", "\tTAB", "\r=1"])
def test_risky_cells_are_prefixed(text: str) -> None:
    assert safe_cell(text) == "'" + text


@pytest.mark.parametrize("text", ["-2", "+4.5", "12", "Ada", "", "e=mc2"])
def test_plain_cells_and_numbers_are_kept(text: str) -> None:
    assert safe_cell(text) == text


def _cells(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text)) for cell in row]


def _assert_text_only(text: str) -> None:
    cells = _cells(text)
    assert "'" + EVIL in cells, cells
    assert EVIL not in cells


def person(pid: str, name: str) -> Changes:
    return Changes(
        participant=Participant(pid, T0, status="consented", name=name, consent_version="v1",
                                profile={"payment_preference": "=cmd|' /C calc'!A0"}),
        addresses=[Address(f"tel:+44770090000{pid[-1]}", pid, "sms", T0)],
        consents=[ConsentRecord(pid, "v1", "given", T0)],
        ledger=[LedgerEntry(pid, T0, 500, key=f"k-{pid}", flow_id="ons4")],
        answers=[AnswerRow(pid, f"s-{pid}", "ons4", "v", "satisfaction", "life_satisfaction",
                           EVIL, EVIL, T0)])


def test_cli_payout_and_participation_files(tmp_path: Path) -> None:
    config = write_config(tmp_path, "sms", {})

    async def seed() -> None:
        store = SqliteStore(tmp_path / "parley.db")
        await store.open()
        await store.apply(person("p1", EVIL))
        await store.close()

    asyncio.run(seed())
    done = run_cli("credits", "export", "--period", "2026-03", "--config", config,
                   cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    payout = tmp_path / "payout-2026-03.csv"
    participation = tmp_path / "payout-2026-03-participation.csv"
    for path in (payout, participation):
        _assert_text_only(path.read_text(encoding="utf-8"))
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "'=cmd" in payout.read_text(encoding="utf-8")  # the payment preference too
    assert not list(tmp_path.glob("*.tmp"))
    exported = run_cli("participants", "export", "p1", "--out", "p1.json", "--config", config,
                       cwd=tmp_path)
    assert exported.returncode == 0, exported.stderr
    assert stat.S_IMODE((tmp_path / "p1.json").stat().st_mode) == 0o600


async def test_dashboard_batch_file_download_and_results_export(clock: ManualClock) -> None:
    runtime, app = await build(clock)
    await runtime.store.apply(person("p1", EVIL))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app),
                                 base_url="http://parley.test") as client:
        await login(client)
        page = await client.get("/admin/credits")
        made = await client.post("/admin/credits/batches", data={
            "csrf": csrf_of(page.text), "period": "2026-03"})
        assert made.status_code == 303
        (batch,) = await runtime.store.payout_batches()
        on_disk = Path(batch.file)
        _assert_text_only(on_disk.read_text(encoding="utf-8"))
        _assert_text_only(on_disk.with_name(on_disk.stem + "-participation.csv")
                          .read_text(encoding="utf-8"))
        download = await client.get(f"/admin/credits/batches/{batch.id}.csv")
        _assert_text_only(download.text)
        results = await client.get("/admin/results/ons4/export.csv")
        _assert_text_only(results.text)
    await runtime.close()


def test_file_writer_refuses_to_follow_a_planted_link(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me", encoding="utf-8")
    target = tmp_path / "out.csv"
    for guess in ("out.csv.tmp", ".out.csv.tmp"):
        (tmp_path / guess).symlink_to(victim)
    write_csv_file(target, ["name"], [[EVIL]])
    assert victim.read_text(encoding="utf-8") == "keep me"
    assert _cells(target.read_text(encoding="utf-8")) == ["name", "'" + EVIL]
