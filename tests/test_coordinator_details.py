"""Coordinator details: one "owed" figure everywhere, disabling and removing logins,
participant ids by any unique prefix, --help keeping ``[section]`` names, and
``flows cost --channel telegram``."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import httpx
import pytest

from bot.clock import ManualClock
from bot.errors import ParleyError
from bot.participant_ids import resolve
from bot.runtime import Runtime
from bot.store.dashboard import Coordinator
from bot.store.records import Changes, Participant
from bot.store.round_records import LedgerEntry
from bot.store.scratch import ScratchStore
from bot.web.dashboard.auth import hash_password
from tests import test_dashboard as dashboard_tests
from tests.cli_inprocess import Ran, run_cli
from tests.conftest import T0
from tests.test_dashboard import csrf_of, enrol, login

site = dashboard_tests.site  # the dashboard suite's in-process site fixture

pytestmark = pytest.mark.timeout(90)


def parley(cwd: Path, *args: str) -> Ran:
    return run_cli(*args, cwd=cwd, columns=100)


async def test_profile_and_credits_page_agree_on_what_is_owed(
        site: tuple[Runtime, httpx.AsyncClient]) -> None:
    runtime, client = site
    await enrol(runtime, "p1", "+447700900001", name="Ada")
    await runtime.store.apply(Changes(ledger=[LedgerEntry("p1", T0, 2500, key="k1",
                                                          flow_id="ons4")]))
    await login(client)
    page = await client.get("/admin/credits")
    await client.post("/admin/credits/batches", data={"csrf": csrf_of(page.text),
                                                      "period": T0.strftime("%Y-%m")})
    batch = (await runtime.store.payout_batches())[0]
    await client.post(f"/admin/credits/batches/{batch.id}/paid",
                      data={"csrf": csrf_of(page.text)})
    assert (await runtime.store.payout_batches())[0].status == "paid"
    profile = await client.get("/admin/participants/p1")
    assert "£0.00 owed · £25.00 paid" in profile.text  # was "£25.00 payable"
    credits = await client.get("/admin/credits")
    owed = re.search(r"<h2>Owed</h2><p class=\"stat\">([^<]*)</p>", credits.text)
    assert owed is not None and owed.group(1) == "0"  # the same figure on both pages


async def test_ids_by_unique_prefix() -> None:
    store = ScratchStore(clock=ManualClock(T0))
    await store.open()
    for pid in ("p_3f9a1c00aa", "p_3f9b2200bb", "p_77aa000011"):
        await store.apply(Changes(participant=Participant(pid, T0)))
    assert await resolve(store, "p_77") == "p_77aa000011"
    assert await resolve(store, "p_3f9a") == "p_3f9a1c00aa"
    assert await resolve(store, "p_3f9b2200bb") == "p_3f9b2200bb"
    with pytest.raises(ParleyError, match=r"'p_3f9' is the start of 2 participants' ids "
                                          r"\(p_3f9a1c00aa, p_3f9b2200bb\); type more"):
        await resolve(store, "p_3f9")
    with pytest.raises(ParleyError, match="no participant 'q'"):
        await resolve(store, "q")
    await store.close()


def test_coordinator_logins_disable_and_remove_and_help_texts(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text(f'[store]\nurl = "sqlite:///{tmp_path}/p.db"\n')

    async def seed() -> None:
        from bot.store.sqlite import SqliteStore

        store = SqliteStore(tmp_path / "p.db")
        await store.open()
        await store.save_coordinator(Coordinator("ana@example.org", hash_password("x" * 12),
                                                 T0))
        await store.apply(Changes(participant=Participant("p_ab12cd34ef56", T0)))
        await store.close()

    asyncio.run(seed())
    off = parley(tmp_path, "coordinators", "disable", "Ana@Example.org")
    assert off.returncode == 0 and "disabled" in off.stdout
    assert "disabled" in parley(tmp_path, "coordinators", "list").stdout
    gone = parley(tmp_path, "coordinators", "remove", "ana@example.org")
    assert gone.returncode == 0, gone.stderr
    listed = parley(tmp_path, "coordinators", "list").stdout
    assert "ana@example.org" not in listed
    missing = parley(tmp_path, "coordinators", "remove", "ana@example.org")
    assert missing.returncode == 1 and "no dashboard login" in missing.stderr
    audit = parley(tmp_path, "audit").stdout
    assert "coordinator.disable" in audit and "coordinator.remove" in audit
    exported = parley(tmp_path, "participants", "export", "p_ab")  # a prefix is enough
    assert exported.returncode == 0 and '"id": "p_ab12cd34ef56"' in exported.stdout

    helped = parley(tmp_path, "rounds", "test-send", "--help")
    assert "to the [coordinators] phones" in helped.stdout
    assert "[server]" in parley(tmp_path, "serve", "--help").stdout
    cost = parley(tmp_path, "flows", "cost", "ons4", "--channel", "telegram")
    assert cost.returncode == 0, cost.stderr
    assert "Telegram charges nothing per message" in cost.stdout
