"""Erasure through every path a person or coordinator can take (issue 12, finding 4):
``parley participants erase``, DELETE twice by SMS and on Telegram (the real ``parley
serve``), and the dashboard. Afterwards the person's number or chat id, name and answers
occur nowhere: not in the database file, not in its ``-wal``, not in any file Parley
wrote (payout files included); and replaying their signed message enrols no one."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.clock import ManualClock
from bot.config import load_config
from bot.credits.payouts import export
from bot.runtime import Runtime, open_runtime
from bot.service import ParleyService
from bot.simulator import enrolled_phone
from bot.store.dashboard import Coordinator
from bot.store.records import AnswerRow, Changes
from bot.store.round_records import AuditEntry, LedgerEntry, Round, RoundTarget
from bot.web.app import create_app
from bot.web.dashboard.auth import hash_password
from tests.cli_inprocess import run_cli
from tests.fakes.server import ServedApp
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import FakeTwilio
from tests.serve_process import ParleyProcess
from tests.serve_process import write_config as project_config
from tests.sms_harness import Phone, until
from tests.sms_harness import write_config as sms_config
from tests.telegram_harness import Chat, post_update
from tests.telegram_harness import write_config as telegram_config
from tests.test_dashboard import EMAIL, PASSWORD, csrf_of, login

pytestmark = [pytest.mark.timeout(90)]

NAME = "Zephyrine Quillfeather"
SECRET = "my marmalade landlord 7731"


def leaks(folder: Path, needles: list[str]) -> list[tuple[str, str]]:
    """(file, needle) for every file under ``folder`` holding one of ``needles``; the
    test's own config and port files aside."""
    found = []
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or path.name in ("config.toml", "port"):
            continue
        data = path.read_bytes()
        found += [(path.name, n) for n in needles if n.encode("utf-8") in data]
    return found


async def seed(runtime: Runtime, address: str, folder: Path) -> str:
    """A consented person with an answer, a round target, a ledger note, an audit entry
    and a payout file on disk that names them."""
    _, pid = await enrolled_phone(runtime, address, name=NAME)
    now = runtime.clock.now()
    await runtime.store.apply(Changes(
        answers=[AnswerRow(pid, "s-seed", "feedback", "v", "change", "change", SECRET,
                           SECRET, now)],
        ledger=[LedgerEntry(pid, now, 300, kind="adjustment", key=f"seed-{pid}",
                            note=f"travel for {NAME}")]))
    r = Round(f"r-{pid}", "ons4", "all", now, now)
    await runtime.store.round_add(r)
    await runtime.store.round_plan(r, [RoundTarget(r.id, pid, now, channel=None,
                                                   address=address, vars={"name": NAME})])
    await runtime.store.audit_add(AuditEntry(now, "sam", "credits.adjust", pid,
                                             {"note": f"travel for {NAME}"}))
    (folder / "payouts").mkdir(exist_ok=True)
    period = now.strftime("%Y-%m")
    made = await export(runtime.store, runtime.config, period,
                        folder / "payouts" / f"payout-{pid}.csv", actor="sam", now=now)
    assert made.batch is not None
    again = await export(runtime.store, runtime.config, period,
                         folder / "payouts" / f"again-{pid}.csv", actor="sam", now=now)
    assert again.batch is None and again.participation_file is not None  # names them
    assert leaks(folder, [NAME]), "the scenario must put the name in a file first"
    return pid


def needles(address: str) -> list[str]:
    return [address.split(":", 1)[1].lstrip("+"), NAME, "Zephyrine", SECRET, "marmalade"]


# -- the command line and the dashboard ----------------------------------------------------

def test_cli_erase(tmp_path: Path) -> None:
    config = project_config(tmp_path, "sms", {})

    async def prepare() -> str:
        runtime = await open_runtime(load_config(config))
        try:
            return await seed(runtime, "tel:+447700900871", tmp_path)
        finally:
            await runtime.close()

    pid = asyncio.run(prepare())
    done = run_cli("participants", "erase", pid, "--yes", "--config", config, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert leaks(tmp_path, needles("tel:+447700900871")) == []


async def test_dashboard_erase(tmp_path: Path) -> None:
    config = project_config(tmp_path, "sms", {})
    clock = ManualClock(dt.datetime.now(dt.UTC))
    runtime = await open_runtime(load_config(config), clock=clock)
    await runtime.store.save_coordinator(Coordinator(EMAIL, hash_password(PASSWORD),
                                                     clock.now()))
    pid = await seed(runtime, "tel:+447700900872", tmp_path)
    app = create_app(ParleyService(runtime), manage_lifecycle=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app),
                                 base_url="http://parley.test") as client:
        await login(client)
        page = await client.get(f"/admin/participants/{pid}")
        erased = await client.post(f"/admin/participants/{pid}/erase", data={
            "csrf": csrf_of(page.text), "confirm": pid})
        assert erased.status_code == 303
    await runtime.close()
    assert leaks(tmp_path, needles("tel:+447700900872")) == []


# -- DELETE twice, by SMS and on Telegram, through the real server ------------------------

@pytest.fixture(scope="module")
def twilio() -> Iterator[tuple[FakeTwilio, ServedApp]]:
    fake = FakeTwilio()
    with fake.serve() as served:
        yield fake, served


@pytest.fixture(scope="module")
def telegram() -> Iterator[tuple[FakeTelegram, ServedApp]]:
    fake = FakeTelegram()
    with fake.serve() as served:
        yield fake, served


async def _serve_and_seed(folder: Path, config: Path, address: str
                          ) -> tuple[ParleyProcess, Runtime, str]:
    server = ParleyProcess(config).start()
    runtime = await open_runtime(load_config(config))
    pid = await seed(runtime, address, folder)
    return server, runtime, pid


async def test_sms_delete_twice_then_a_replay(
        tmp_path: Path, twilio: tuple[FakeTwilio, ServedApp]) -> None:
    number = "+447700900873"
    server, runtime, pid = await _serve_and_seed(
        tmp_path, sms_config(tmp_path, twilio[1].base_url), f"tel:{number}")
    try:
        me = Phone(server, twilio[0], number)
        assert (await me.text("DELETE", sid="SM" + "1" * 32)).status_code == 200
        assert "DELETE again" in (await me.replies())[0]
        assert (await me.text("delete", sid="SM" + "2" * 32)).status_code == 200
        assert await me.replies() == ["Your data has been erased. Thank you for taking part."]
        await until(lambda: leaks(tmp_path, needles(f"tel:{number}")) == [], 10,
                    "no trace of the person in any file")
        for sid in ("1", "2"):  # a replay of each signed request, as an attacker would
            assert (await me.text("delete" if sid == "2" else "DELETE",
                                  sid="SM" + sid * 32)).status_code == 200
        await me.silence(1.0)
        erased = await runtime.store.get_participant(pid)
        assert erased is not None and erased.status == "erased"
        assert await runtime.store.participant_for_address(f"tel:{number}") is None
        assert leaks(tmp_path, needles(f"tel:{number}")) == []
    finally:
        await runtime.close()
        server.stop()


async def test_telegram_delete_twice_then_a_replay(
        tmp_path: Path, telegram: tuple[FakeTelegram, ServedApp]) -> None:
    chat_id = 587213904
    server, runtime, pid = await _serve_and_seed(
        tmp_path, telegram_config(tmp_path, telegram[1].base_url), f"telegram:{chat_id}")
    try:
        me = Chat(server, telegram[0], chat_id)
        first, second = me.text_update("DELETE"), me.text_update("DELETE")
        assert (await post_update(server, first)).status_code == 200
        assert "This will erase" in (await me.replies())[0]
        assert (await post_update(server, second)).status_code == 200
        assert await me.replies() == ["Your data has been erased. Thank you for taking part."]
        await until(lambda: leaks(tmp_path, needles(f"telegram:{chat_id}")) == [], 10,
                    "no trace of the person in any file")
        for update in (first, second):
            assert (await post_update(server, update)
                    ).status_code == 200
        await me.silence(1.0)
        erased = await runtime.store.get_participant(pid)
        assert erased is not None and erased.status == "erased"
        assert await runtime.store.participant_for_address(f"telegram:{chat_id}") is None
        assert leaks(tmp_path, needles(f"telegram:{chat_id}")) == []
    finally:
        await runtime.close()
        server.stop()
