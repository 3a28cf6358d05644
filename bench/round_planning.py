"""Planning a round for 100,000 people with SQLite: time and peak memory.

"Planning" is what ``parley rounds start`` does: read the audience (a tag filter over
120,000 people, 100,000 of whom carry the tag), choose each person's channel, work out
each person's local send time (their time zone, quiet hours and the part of the day they
said suits them), estimate SMS segments, and write one target row per person with the
round, in one transaction.

It runs in a fresh child process (``--child``), so its peak resident memory (``VmHWM``)
is the whole planning process: interpreter, imports and data.

Baseline, same run, same database layout: the naive version many projects start with —
read people one by one through the store, compute each send time without memoising,
and insert each target in its own committed transaction. It is timed on the first
``--baseline-people`` (2,000) people and extrapolated linearly to the full audience.

Figures: seconds to plan 100,000 (baseline ÷ ours as the ratio), planned rows per
second, and peak memory in MB (no baseline).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import figure
from bot.config import Config
from bot.store import open_store
from bot.store.records import Address, Participant
from bot.store.sqlite import SqliteStore

ROOT = Path(__file__).resolve().parent.parent
NOW = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)
ZONES = [("Europe/London", 70), ("America/New_York", 15), ("Asia/Kolkata", 10),
         ("Australia/Sydney", 5)]
CONTACT = [None, None, "morning", "afternoon", "evening", "any"]


def config(url: str) -> Config:
    """The bench project on the store at ``url`` (``sqlite:///…`` or ``postgresql://…``)."""
    return Config.model_validate({
        "project": {"name": "Bench", "locales": ["en", "cy"]},
        "store": {"url": url},
        "schedule": {"timezone": "Europe/London", "quiet_hours": "21:00-09:00"},
    })


def people(total: int, tagged: int) -> list[tuple[Participant, list[Address]]]:
    zones = [z for z, share in ZONES for _ in range(share)]
    out = []
    for n in range(total):
        pid = f"p_{n:07d}"
        profile: dict[str, str | int | float | bool | None] = {"preferred_name": f"P{n}"}
        contact = CONTACT[n % len(CONTACT)]
        if contact:
            profile["contact_time"] = contact
        if n % 50 == 0:
            profile["quiet_hours"] = "22:00-08:00"
        tz = zones[n % len(zones)]
        person = Participant(id=pid, created_at=NOW, status="consented", pathway_done=True,
                             locale="cy" if n % 9 == 0 else "en",
                             timezone=None if tz == "Europe/London" else tz,
                             cohort=f"c{n % 7}", tags=("panel",) if n < tagged else ("other",),
                             preferred_channel="telegram" if n % 3 == 0 else "sms",
                             profile=profile)
        addresses = [Address(f"tel:+4477{n:08d}", pid, "sms", NOW,
                             opted_out=n % 97 == 0)]
        if n % 3 == 0:
            addresses.append(Address(f"telegram:{10_000_000 + n}", pid, "telegram", NOW))
        out.append((person, addresses))
    return out


async def setup(url: str, total: int, tagged: int) -> None:
    store = open_store(url)
    await store.open()
    await store.import_participants(people(total, tagged))
    await store.close()


async def plan(url: str) -> tuple[float, int]:
    """Ours: exactly the code ``parley rounds start`` runs."""
    from bot.clock import ManualClock
    from bot.runtime import open_runtime
    from bot.wiring import round_service

    runtime = await open_runtime(config(url), clock=ManualClock(NOW))
    service = round_service(runtime.conversations)
    item = await service.build(flow="ons4", audience="tag:panel", start="2026-03-02T10:00",
                               remind_after="2d,5d", close_after="14d", label="baseline")
    await service.create(item, "bench")
    started = time.perf_counter()
    rows = await service.plan(item, NOW)
    seconds = time.perf_counter() - started
    await runtime.close()
    return seconds, rows


async def naive(db: Path, limit: int) -> tuple[float, int]:
    """The baseline: one person at a time, one transaction per row."""
    from bot.rounds.cost import Estimator
    from bot.runtime import load_content
    from bot.timing import next_allowed

    cfg = config(f"sqlite:///{db}")
    renderer, library = load_content(cfg)
    store = SqliteStore(db)
    await store.open()
    estimate = Estimator(library.get("ons4"), renderer, cfg.project_data(), {})
    con = sqlite3.connect(db, isolation_level=None)
    con.execute("PRAGMA synchronous = FULL")
    start = dt.datetime(2026, 3, 2, 10, tzinfo=dt.UTC)
    began = time.perf_counter()
    done = 0
    for person in await store.list_participants():
        if done >= limit:
            break
        if "panel" not in person.tags:
            continue
        addresses = [a for a in await store.addresses_of(person.id)
                     if not a.opted_out and not a.unreachable]
        address = addresses[0] if addresses else None
        tz = person.timezone or cfg.schedule.timezone
        quiet = str(person.profile.get("quiet_hours") or cfg.schedule.quiet_hours)
        contact = person.profile.get("contact_time")
        send_at = next_allowed(start, tz, quiet, contact if isinstance(contact, str) else None)
        segments = estimate._segments(person.locale) if address and address.channel == "sms" \
            else 0
        con.execute("BEGIN")
        con.execute("INSERT INTO round_targets (round_id, participant_id, channel, address, "
                    "send_at, status, next_at, segments_estimated) VALUES (?, ?, ?, ?, ?, ?, "
                    "?, ?)", ("naive", person.id, address.channel if address else None,
                              address.address if address else None, send_at.isoformat(),
                              "planned", send_at.isoformat(), segments))
        con.execute("COMMIT")
        done += 1
    seconds = time.perf_counter() - began
    con.close()
    await store.close()
    return seconds, done


def peak_rss_mb() -> float:
    """This process's peak resident memory. ``VmHWM`` belongs to the process image, so
    unlike ``ru_maxrss`` (which Linux carries over from the parent through fork and
    exec) it does not include the parent's peak from building the test database."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux


def child(url: str) -> None:
    seconds, rows = asyncio.run(plan(url))
    peak_mb = peak_rss_mb()
    sys.stdout.write(json.dumps({"seconds": seconds, "rows": rows, "peak_mb": peak_mb}) + "\n")


def plan_in_child(url: str, audience: int) -> dict[str, float]:
    """Fill the store at ``url`` with ``audience`` tagged people (and a fifth as many
    others), then plan the round in a fresh process: ``{"seconds", "rows", "peak_mb"}``."""
    asyncio.run(setup(url, audience + audience // 5, audience))
    result = subprocess.run([sys.executable, "-m", "bench.round_planning", "--child", url],
                            cwd=ROOT, capture_output=True, text=True, timeout=600, check=True)
    found: dict[str, float] = json.loads(result.stdout.strip().splitlines()[-1])
    return found


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=100_000, help="audience size")
    parser.add_argument("--baseline-people", type=int, default=2_000)
    parser.add_argument("--quick", action="store_true", help="20,000 people")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        child(args.child)
        return
    audience = 20_000 if args.quick else args.people
    with tempfile.TemporaryDirectory(prefix="parley-bench-") as tmp:
        ours = plan_in_child(f"sqlite:///{Path(tmp) / 'plan.db'}", audience)
        base_db = Path(tmp) / "naive.db"
        asyncio.run(setup(f"sqlite:///{base_db}", args.baseline_people + args.baseline_people // 5,
                          args.baseline_people))
        base_seconds, base_rows = asyncio.run(naive(base_db, args.baseline_people))
    base_rate = base_rows / base_seconds
    ours_rate = ours["rows"] / ours["seconds"]
    label = f"{audience // 1000}k"
    figure(f"round_planning_{label}_seconds", ours["seconds"], "s",
           baseline=ours["rows"] / base_rate, higher_is_better=False)
    figure(f"round_planning_{label}_rows_per_second", ours_rate, "rows/s", baseline=base_rate)
    figure(f"round_planning_{label}_peak_rss", ours["peak_mb"], "MB")
    if ours["rows"] != audience:
        raise SystemExit(f"planned {ours['rows']} rows, expected {audience}")


if __name__ == "__main__":
    main()
