"""Broadcast efficiency: a real round through ``parley serve`` to fakes that enforce the
providers' limits and answer 429 when they are exceeded.

Telegram: 30 messages/s overall and 1/s per chat, with several messages per chat (a
round to imported people who have not consented yet: an introduction and the consent
messages first), so the per-chat limit is exercised. SMS: Twilio at the configured rate.
Figures: achieved ÷ allowed rate, 429s, duplicates and losses.

Baseline, same run, same fake and same messages: python-telegram-bot's own
``AIORateLimiter`` (30/s overall) sending one task per message, as its documentation
suggests; it has no per-chat limit, so it meets 429s and pauses every request.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import AIORateLimiter, ExtBot
from telegram.request import HTTPXRequest

from bench.common import figure
from bot.store import Store, open_store
from bot.store.leases import MEMBER
from bot.store.records import OutboxItem
from tests.fakes.server import ServedApp
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, FakeTwilio
from tests.sms_harness import ParleyProcess

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "7000000001:AAbroadcastBenchmarkTokenxxxxxxxxxxxx"
TG_RATE, SMS_RATE = 30, 10


def write_config(folder: Path, tg_url: str, tw_url: str, store_url: str | None = None) -> Path:
    """``folder/config.toml`` for these fakes, on ``store_url`` (default an SQLite file in
    ``folder``)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "config.toml"
    store = store_url or f"sqlite:///{folder / 'parley.db'}"
    path.write_text(f"""
[project]
name = "Money Voices"
locales = ["en"]
flows_dir = "{ROOT / 'flows'}"
templates_dir = "{ROOT / 'templates'}"
[store]
url = "{store}"
[server]
port = 0
public_url = "https://parley.example"
[schedule]
quiet_hours = ""
[telegram]
token = "{TOKEN}"
webhook_secret = "bench-secret-123456"
api_base_url = "{tg_url}/bot"
rate_limit_per_second = {TG_RATE}
per_chat_per_second = 1
request_timeout = 10
[sms]
account_sid = "{DEFAULT_ACCOUNT_SID}"
auth_token = "{DEFAULT_AUTH_TOKEN}"
from_number = "+447700900000"
api_base_url = "{tw_url}"
rate_limit_per_second = {SMS_RATE}
request_timeout = 10
""", encoding="utf-8")
    return path


def people_csv(folder: Path, telegram: int, sms: int) -> Path:
    rows = ["name,phone,telegram_id,locale,timezone,cohort,tags"]
    rows += [f"T{i},,{5_000_000 + i},en,,bench," for i in range(telegram)]
    rows += [f"S{i},+4477009{i:05d},,en,,bench," for i in range(sms)]
    path = folder / "people.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def parley(config: Path, *args: str) -> str:
    result = subprocess.run([sys.executable, "-m", "bot.cli", *args, "--config", str(config)],
                            capture_output=True, text=True, cwd=ROOT, timeout=120, check=True)
    return result.stdout.strip().splitlines()[-1]


async def outbox(store: Store) -> list[OutboxItem]:
    return await store.outbox_all()


def release_spread(rows: list[OutboxItem]) -> float:
    """Seconds between the first and the last Telegram message the round queued."""
    times = [row.created_at for row in rows if row.channel == "telegram"]
    return (max(times) - min(times)).total_seconds() if times else 0.0


def rate_of(times: list[float]) -> float:
    """Messages per second over the broadcast, counting the first window too: N sends at
    R/s need (N/R - 1) s between first and last, so a perfect sender scores exactly R."""
    times = sorted(times)
    return len(times) / (times[-1] - times[0] + 1.0) if len(times) > 1 else 0.0


def middle_rate(times: list[float]) -> float:
    """Messages per second between the 10th and the 90th percentile send: the pace
    once the broadcast is under way, before the last chats' final messages (which can
    go no faster than 1/s each) trail off."""
    times = sorted(times)
    if len(times) < 20:
        return 0.0
    low, high = len(times) // 10, len(times) * 9 // 10
    return (high - low) / (times[high] - times[low])


async def parley_round(telegram_people: int, sms_people: int, *, store_url: str | None = None,
                       processes: int = 1) -> dict[str, Any]:
    """A round to ``telegram_people`` + ``sms_people`` imported people, sent by
    ``processes`` ``parley serve`` processes sharing ``store_url`` (default an SQLite
    file). The servers are up (and, sharing a database, have counted each other) before
    the round starts, as long-running services would be."""
    tg = FakeTelegram(token=TOKEN, enforce_limits=True, global_per_second=TG_RATE,
                      per_chat_per_second=1)
    tw = FakeTwilio(enforce_limits=True, per_second=SMS_RATE)
    with tempfile.TemporaryDirectory() as tmp, ServedApp(tg.app) as tgs, \
            ServedApp(tw.app) as tws:
        folder = Path(tmp)
        url = store_url or f"sqlite:///{folder / 'parley.db'}"
        configs = [write_config(folder / f"serve{n}", tgs.base_url, tws.base_url, url)
                   for n in range(processes)]
        parley(configs[0], "participants", "import", str(people_csv(folder, telegram_people,
                                                                     sms_people)))
        round_id = parley(configs[0], "rounds", "create", "--flow", "ons4", "--audience",
                          "all")
        os.environ["PARLEY_SCHEDULER_INTERVAL"] = "0.5"
        servers = [ParleyProcess(config, log_level="WARNING") for config in configs]
        store = open_store(url)
        await store.open()
        try:
            for server in servers:
                server.start()
            await settled(store, url, processes)
            parley(configs[0], "rounds", "start", round_id)
            deadline = time.monotonic() + 900
            while time.monotonic() < deadline:
                rows = await outbox(store)
                if rows and all(row.status in ("sent", "failed", "ambiguous", "cancelled")
                                for row in rows) and await released(store, round_id):
                    break
                await asyncio.sleep(0.5)
        finally:
            for server in servers:
                server.stop()
        rows = await outbox(store)
        await store.close()
        print(f"broadcast: the round queued its messages over {release_spread(rows):.1f}s",
              file=sys.stderr)
    return tally(tg, tw, [(row.channel, row.status) for row in rows], telegram_people)


async def released(store: Store, round_id: str) -> bool:
    """Whether the round has queued its messages to everyone (none still planned)."""
    return all(target.status != "planned" for target in await store.targets_of(round_id))


async def settled(store: Store, url: str, processes: int) -> None:
    """Wait until every process counts the others (membership leases, renewed every 2 s;
    processes on one SQLite file do not share the rate)."""
    if url.startswith("sqlite:") or processes == 1:
        return
    deadline = time.monotonic() + 30
    while len(await store.lease_holders(MEMBER, dt.datetime.now(dt.UTC))) < processes:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{processes} processes never all held membership leases")
        await asyncio.sleep(0.2)
    await asyncio.sleep(2.5)  # one renewal later: each has re-counted and shares the rate


def tally(tg: FakeTelegram, tw: FakeTwilio, rows: list[tuple[str, str]],
          telegram_people: int) -> dict[str, Any]:
    """What the fakes received against what the outbox says: rates, 429s, duplicates,
    losses."""
    tg_sent = list(tg.sent_messages)
    if tg_sent:
        first = min(m["time"] for m in tg_sent)
        per_second = Counter(int(m["time"] - first) for m in tg_sent)
        seconds = [per_second[s] for s in range(max(per_second) + 1)]
        print("broadcast: telegram sends per second:", seconds, file=sys.stderr)
    steady = middle_rate([m["time"] for m in tg_sent])
    tg_keys = Counter((m["chat_id"], m["text"]) for m in tg_sent)
    sms_keys = Counter((m["to"], m["body"]) for m in tw.messages)
    queued = Counter(channel for channel, _ in rows)
    sent = Counter(channel for channel, status in rows if status == "sent")
    return {
        "tg_rate": rate_of([m["time"] for m in tg_sent]), "tg_429": tg.rate_limited_count,
        "tg_dupes": sum(c - 1 for c in tg_keys.values()),
        "tg_lost": queued["telegram"] - sent["telegram"], "tg_count": len(tg_sent),
        "sms_rate": rate_of([m["time"] for m in tw.messages]), "sms_429": tw.rate_limited_count,
        "sms_dupes": sum(c - 1 for c in sms_keys.values()),
        "sms_lost": queued["sms"] - sent["sms"], "sms_count": len(tw.messages),
        "per_chat": len(tg_sent) / max(telegram_people, 1), "tg_steady": steady,
    }


async def ptb_baseline(chats: int, per_chat: int) -> dict[str, Any]:
    """The same number of messages per chat through PTB's AIORateLimiter."""
    fake = FakeTelegram(token=TOKEN, enforce_limits=True, global_per_second=TG_RATE,
                        per_chat_per_second=1)
    with ServedApp(fake.app) as served:
        limiter = AIORateLimiter(overall_max_rate=TG_RATE, overall_time_period=1,
                                 max_retries=5)
        bot = ExtBot(TOKEN, base_url=f"{served.base_url}/bot", rate_limiter=limiter,
                     request=HTTPXRequest(connection_pool_size=16))
        await bot.initialize()
        failed = 0

        async def send(chat: int, n: int) -> None:
            nonlocal failed
            try:
                await bot.send_message(chat_id=chat, text=f"message {n} for {chat}")
            except RetryAfter:
                failed += 1

        await asyncio.gather(*(send(5_000_000 + c, n) for n in range(per_chat)
                               for c in range(chats)))
        await bot.shutdown()
    keys = Counter((m["chat_id"], m["text"]) for m in fake.sent_messages)
    return {"rate": rate_of([m["time"] for m in fake.sent_messages]),
            "429": fake.rate_limited_count, "dupes": sum(c - 1 for c in keys.values()),
            "lost": chats * per_chat - len(keys), "gave_up": failed}


async def main_async(quick: bool) -> None:
    telegram_people, sms_people = (100, 15) if quick else (800, 60)
    ours = await parley_round(telegram_people, sms_people)
    print(f"broadcast: parley {ours}", file=sys.stderr)
    per_chat = max(1, round(ours["per_chat"]))
    base = await ptb_baseline(telegram_people, per_chat)
    figure("broadcast_telegram_efficiency", ours["tg_rate"] / TG_RATE, "achieved/allowed",
           base["rate"] / TG_RATE)
    figure("broadcast_telegram_steady_efficiency", ours["tg_steady"] / TG_RATE,
           "achieved/allowed")
    figure("broadcast_telegram_messages", ours["tg_count"], "messages")
    figure("broadcast_telegram_429s", ours["tg_429"], "responses", base["429"],
           higher_is_better=False)
    figure("broadcast_telegram_duplicates", ours["tg_dupes"], "messages", base["dupes"])
    figure("broadcast_telegram_losses", ours["tg_lost"], "messages", base["lost"])
    figure("broadcast_sms_efficiency", ours["sms_rate"] / SMS_RATE, "achieved/allowed")
    figure("broadcast_sms_messages", ours["sms_count"], "messages")
    figure("broadcast_sms_429s", ours["sms_429"], "responses")
    figure("broadcast_sms_duplicates", ours["sms_dupes"], "messages")
    figure("broadcast_sms_losses", ours["sms_lost"], "messages")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="about 600 Telegram messages")
    args = parser.parse_args(argv)
    asyncio.run(main_async(args.quick))


if __name__ == "__main__":
    main()
