"""Two ``parley serve`` processes on one PostgreSQL database (issue 16), as behind a load
balancer: one is SIGKILLed in the middle of a broadcast and of people's replies.

What must hold: every queued message reaches its person (0 lost), none twice beyond the
sends recorded as ambiguous, each person's messages in the order they were queued; every
reply processed exactly once; the bot's send rate (per bot, not per process) and one
message a second per chat kept by both together (the fake answers 429 otherwise); and the
survivor takes over the scheduler (the leader is the one killed).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.store.postgres import PostgresStore
from bot.store.records import OutboxItem
from tests.cli_inprocess import parley
from tests.fakes.server import ServedApp
from tests.fakes.telegram_api import (
    DEFAULT_TOKEN,
    SECRET_TOKEN_HEADER,
    FakeTelegram,
    make_text_update,
)
from tests.pg_cluster import PgCluster
from tests.serve_process import ParleyProcess
from tests.serve_process import write_config as project_config

pytestmark = [pytest.mark.timeout(240), pytest.mark.slow]
SECRET = "s3cret-webhook-token_123"
PEOPLE, REPLYING, RATE = 1000, 30, 50  # 50/s rather than 30: the same check, sooner
FIRST_CHAT = 6_100_000
DONE = ("sent", "ambiguous", "failed", "cancelled")


def _config(folder: Path, fake_url: str, url: str) -> Path:
    folder.mkdir()
    return project_config(folder, "telegram", {
        "token": DEFAULT_TOKEN, "webhook_secret": SECRET, "api_base_url": f"{fake_url}/bot",
        "mode": "webhook", "rate_limit_per_second": RATE, "per_chat_per_second": 1,
        "per_chat_burst": 1, "request_timeout": 5}, more={"store": {"url": url},
                                     "schedule": {"leader_lease": "6s"}})


def _people(folder: Path) -> Path:
    rows = ["name,phone,telegram_id,locale,timezone,cohort,tags"]
    rows += [f"P{i},,{FIRST_CHAT + i},en,,kill," for i in range(PEOPLE)]
    path = folder / "people.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


async def _rows(url: str) -> list[OutboxItem]:
    store = PostgresStore(url)
    await store.open()
    try:
        return await store.outbox_all()
    finally:
        await store.close()


async def _fetch(url: str, sql: str) -> list[Any]:
    import asyncpg

    con = await asyncpg.connect(url)
    try:
        return list(await con.fetch(sql))
    finally:
        await con.close()


async def _post(servers: list[ParleyProcess], update: dict[str, Any]) -> None:
    """As a load balancer: to the first live server, the next when one refuses."""
    async with httpx.AsyncClient(timeout=10) as http:
        for server in servers:
            try:
                answer = await http.post(server.base_url + "/telegram/webhook", json=update,
                                         headers={SECRET_TOKEN_HEADER: SECRET})
            except httpx.TransportError:
                continue
            if answer.status_code == 200:
                return
        raise AssertionError(f"no server took update {update['update_id']}")


async def test_sigkill_one_of_two_processes_mid_broadcast_and_mid_inbound(
        pg_cluster: PgCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = pg_cluster.fresh_url()
    fake = FakeTelegram(enforce_limits=True, global_per_second=RATE, per_chat_per_second=1)
    monkeypatch.setenv("PARLEY_SCHEDULER_INTERVAL", "0.5")
    with ServedApp(fake.app) as served:
        configs = [_config(tmp_path / name, served.base_url, url) for name in ("a", "b")]
        parley(configs[0], "participants", "import", str(_people(tmp_path)))
        round_id = parley(configs[0], "rounds", "create", "--flow", "ons4", "--audience",
                          "all").stdout.strip().splitlines()[-1]
        parley(configs[0], "rounds", "start", round_id)
        servers = [ParleyProcess(c, log_level="INFO").start() for c in configs]
        try:
            await _until(lambda: len(fake.sent_messages) >= 300, 60, "the broadcast to start")
            lease = await _fetch(url, "SELECT holder FROM leases WHERE name = 'scheduler'")
            pids = [s.proc.pid for s in servers if s.proc is not None]
            leader = next(i for i, pid in enumerate(pids)
                          if f":{pid}:" in str(lease[0]["holder"]))
            survivor = servers[1 - leader]
            updates = [make_text_update(900_000 + i, FIRST_CHAT + i, "Yes",
                                        message_id=50 + i) for i in range(REPLYING)]
            order = [servers[leader], survivor]
            await asyncio.gather(*(_post(order, u) for u in updates[:REPLYING // 2]))
            servers[leader].kill()  # mid-broadcast, replies still being processed
            await asyncio.gather(*(_post(order, u) for u in updates[REPLYING // 2:]))
            await _until_settled(url, 150)
            lease = await _fetch(url, "SELECT holder FROM leases WHERE name = 'scheduler'")
            assert f":{pids[1 - leader]}:" in str(lease[0]["holder"])  # the survivor leads
        finally:
            for server in servers:
                server.stop()
    rows = await _rows(url)
    inbox = await _fetch(url, "SELECT dedupe_key, status FROM inbox")
    _check(fake, rows, inbox)


def _check(fake: FakeTelegram, rows: list[OutboxItem], inbox: list[Any]) -> None:
    telegram = [r for r in rows if r.channel == "telegram"]
    assert len(telegram) >= PEOPLE  # the introduction with the consent question, each
    statuses = Counter(r.status for r in telegram)
    assert set(statuses) <= {"sent", "ambiguous"}, statuses  # 0 lost, 0 failed
    ambiguous = statuses["ambiguous"]
    delivered = Counter((m["chat_id"], m["text"]) for m in fake.sent_messages)
    duplicates = sum(n - 1 for n in delivered.values())
    assert duplicates <= ambiguous, (duplicates, ambiguous)
    for row in telegram:
        if row.status == "sent":
            assert delivered[(int(row.address.split(":")[1]), _text(row))] >= 1, row
    by_chat: dict[int, list[str]] = {}
    for message in fake.sent_messages:
        by_chat.setdefault(message["chat_id"], []).append(message["text"])
    for chat, texts in by_chat.items():  # each person's messages in the queued order
        queued = [_text(r) for r in sorted(telegram, key=lambda r: r.id or 0)
                  if r.address == f"telegram:{chat}" and r.status == "sent"]
        seen = [t for i, t in enumerate(texts) if t not in texts[:i]]
        assert [t for t in seen if t in queued] == queued, chat
    assert fake.rate_limited_count == 0  # the per-bot rate kept by both processes together
    keys = Counter(row["dedupe_key"] for row in inbox)
    assert len([k for k in keys if k]) >= REPLYING and max(keys.values()) == 1
    assert {row["status"] for row in inbox} == {"done"}  # every reply processed once


def _text(row: OutboxItem) -> str:
    return str(row.payload.get("text", ""))


async def _until(check: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


async def _until_settled(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = await _rows(url)
        if rows and all(r.status in DONE for r in rows):
            return
        await asyncio.sleep(0.5)
    waiting = Counter(r.status for r in await _rows(url))
    raise AssertionError(f"the outbox did not settle: {dict(waiting)}")

