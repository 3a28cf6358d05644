"""Scale: one and two ``parley serve`` processes on one PostgreSQL database, and a
100,000-person round planned on it.

1. **Telegram turns/s** (``bench/telegram_turns.py``'s driver, fake and ``ons4_loop``
   flow): ``--users`` people answering in a loop, each update POSTed to the webhook of
   one of the processes in turn (round-robin, as a load balancer would), each turn timed
   until the next question reaches the fake Bot API. Once with one process, once with
   two on one database; the two-process line carries the one-process figure as its
   baseline, so its ratio is 2 ÷ 1. CPU per turn is the serve processes' own CPU summed
   (``/proc/<pid>/stat``), with the database server's CPU per turn on a line of its own
   (with PostgreSQL the store's work happens there), and the transactions PostgreSQL
   committed per turn (``pg_stat_database``). Replies beyond one per answer are
   counted as duplicates (0 expected), and so are messages one process processed after
   another had (refused whole by the store, so wasted work only; from ``/metrics``).
2. **Broadcast** (``bench/broadcast.py``'s round and limit-enforcing fakes): a round sent
   by one and by two processes. Telegram's 30/s is per bot: two processes must keep to it
   together (membership leases share it), so 0 × 429 is expected with two as with one.
3. **Round planning** (``bench/round_planning.py``): 100,000 people (20,000 with
   ``--quick``) planned on PostgreSQL in a fresh process: seconds (goal < 5 s) and that
   process's peak resident memory (goal < 300 MB), against the same planning on SQLite
   in the same run.

The PostgreSQL server is a throwaway one with PostgreSQL's default durability (see
``bench/databases.py``); ``--database sqlite`` runs the same harness on SQLite files.
The machine's cores are shared by everything here (load generator, fakes, servers and
database): on two cores a second process can add at most what the first leaves idle.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import socket
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench import broadcast, round_planning
from bench.common import cpu_seconds, figure, percentile
from bench.databases import Database, start_database
from bench.telegram_turns import (
    ANSWERS,
    SECRET,
    Arrivals,
    Connection,
    start_process,
    stop_process,
    wait_listening,
    write_config,
)
from tests.fakes.telegram_api import SECRET_TOKEN_HEADER, make_text_update

PARTS = ("turns", "broadcast", "planning")


@dataclass
class Turns:
    """One measured window of Telegram turns."""

    processes: int
    rate: float
    latencies: list[float]
    server_cpu_ms: float
    database_cpu_ms: float
    duplicates: int
    refused: int
    transactions: float


def label(processes: int) -> str:
    return "1_process" if processes == 1 else f"{processes}_processes"


async def enrol(config: Path, chats: list[int], arrivals: Arrivals) -> None:
    """Everyone consented, enrolled and in ``ons4_loop`` (its first question queued)."""
    from bot.config import load_config
    from bot.runtime import open_runtime
    from bot.simulator import enrolled_phone

    runtime = await open_runtime(load_config(config))
    try:
        for chat_id in chats:
            arrivals.expect(chat_id)
            _, pid = await enrolled_phone(runtime, f"telegram:{chat_id}", name="Sam")
            await runtime.conversations.start_flow(pid, "ons4_loop")
    finally:
        await runtime.close()


async def answer_loop(arrivals: Arrivals, base_urls: list[str], chats: list[int],
                      turns: int) -> tuple[list[float], float]:
    """Everyone answers ``turns`` times; the n-th request of the whole load goes to
    process n mod N. Latencies, and the seconds the load took."""
    latencies: list[float] = []
    update_ids = iter(range(1_000_000, 100_000_000))
    spread = itertools.count()
    headers = {SECRET_TOKEN_HEADER: SECRET}

    async def person(chat_id: int) -> None:
        connections = [Connection(url) for url in base_urls]
        try:
            for n in range(turns):
                update = make_text_update(next(update_ids), chat_id, ANSWERS[n % 4],
                                          message_id=1000 + n, first_name="Sam")
                body = json.dumps(update).encode()
                start = time.perf_counter()
                connection = connections[next(spread) % len(connections)]
                status = await connection.post("/telegram/webhook", body, headers)
                if status != 200:
                    raise RuntimeError(f"the webhook answered {status}")
                arrived = await asyncio.wait_for(arrivals.expect(chat_id).get(), 60)
                latencies.append(arrived - start)
        finally:
            for connection in connections:
                await connection.close()

    began = time.perf_counter()
    await asyncio.gather(*(person(c) for c in chats))
    return latencies, time.perf_counter() - began


async def turns_run(arrivals: Arrivals, fake_url: str, database: Database, processes: int,
                    chats: list[int], turns: int) -> Turns:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        url = database.fresh_url()
        config = write_config(folder, fake_url, url)
        await enrol(config, chats, arrivals)
        servers: list[tuple[Any, str]] = []
        try:
            for n in range(processes):
                port_file = folder / f"port{n}"
                servers.append(start_process(
                    ["-m", "bot.cli", "serve", "--config", str(config), "--port-file",
                     str(port_file)], port_file, folder / f"serve{n}.log"))
                await wait_listening(servers[-1][1])  # the port is published before
            for chat_id in chats:  # the first question, from whichever process sent it
                await asyncio.wait_for(arrivals.expect(chat_id).get(), 60)
            pids = [proc.pid for proc, _ in servers]
            await asyncio.sleep(1.0)  # PostgreSQL's statistics are flushed once a second
            transactions_before = database.transactions(url)
            cpu_before = sum(cpu_seconds(pid) for pid in pids)
            database_before = database.cpu_seconds()
            latencies, seconds = await answer_loop(arrivals, [url for _, url in servers],
                                                   chats, turns)
            server_cpu = sum(cpu_seconds(pid) for pid in pids) - cpu_before
            database_cpu = database.cpu_seconds() - database_before
            await asyncio.sleep(1.0)  # anything sent twice arrives meanwhile (and stats)
            transactions = database.transactions(url) - transactions_before
            duplicates = sum(arrivals.expect(c).qsize() for c in chats)
            refused = sum([await processed_twice(url) for _, url in servers])
        finally:
            for n, (proc, _) in enumerate(servers):
                if proc.poll() is not None:
                    log = (folder / f"serve{n}.log").read_text(errors="replace")
                    sys.stderr.write(f"scale: process {n} exited early:\n{log[-3000:]}\n")
                stop_process(proc)
    run = Turns(processes, len(latencies) / seconds, latencies,
                server_cpu / len(latencies) * 1000, database_cpu / len(latencies) * 1000,
                duplicates, refused, transactions / len(latencies))
    sys.stderr.write(f"scale: {processes} process(es) on {database.kind}: {len(latencies)} "
                     f"turns in {seconds:.1f}s; serve CPU {run.server_cpu_ms:.2f} ms, "
                     f"database CPU {run.database_cpu_ms:.2f} ms a turn; "
                     f"{duplicates} duplicate(s); {refused} message(s) processed again "
                     f"and refused by the store; {run.transactions:.2f} database "
                     "transactions a turn\n")
    return run


async def processed_twice(base_url: str) -> int:
    """Inbound messages this process processed after another had (the store refused the
    second run whole, so nothing was answered twice: wasted work), from ``/metrics``."""
    async with httpx.AsyncClient(timeout=10) as client:
        text = (await client.get(f"{base_url}/metrics")).text
    return sum(int(float(line.rsplit(" ", 1)[1])) for line in text.splitlines()
               if line.startswith("parley_inbound_processed_total{")
               and 'result="duplicate"' in line)


async def measure_turns(database: Database, users: int, turns: int) -> list[Turns]:
    loop = asyncio.get_running_loop()
    transport, arrivals = await loop.create_datagram_endpoint(Arrivals,
                                                              local_addr=("127.0.0.1", 0))
    sock = transport.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        port_file = Path(tmp) / "fake-port"
        fake, fake_url = start_process(
            ["-m", "bench.telegram_turns", "--serve-fake", str(port_file), "--notify",
             str(sock.getsockname()[1])], port_file, Path(tmp) / "fake.log")
        try:
            for n, processes in enumerate((1, 2)):
                first = 800_001 + n * 100_000  # chats of their own: no stray arrivals
                runs.append(await turns_run(arrivals, fake_url, database, processes,
                                            list(range(first, first + users)), turns))
        finally:
            stop_process(fake)
            transport.close()
    return runs


def report_turns(one: Turns, two: Turns, kind: str) -> None:
    for run in (one, two):
        base = None if run is one else one
        name = label(run.processes)
        figure(f"scale_telegram_turns_per_second_{name}", run.rate, "turns/s",
               base and base.rate)
        for q_name, q in (("p50", 0.5), ("p99", 0.99)):
            figure(f"scale_telegram_turn_latency_{q_name}_{name}",
                   percentile(run.latencies, q), "ms",
                   base and percentile(base.latencies, q), higher_is_better=False)
        figure(f"scale_telegram_server_cpu_per_turn_{name}", run.server_cpu_ms, "ms",
               base and base.server_cpu_ms, higher_is_better=False)
        if kind == "postgresql":
            figure(f"scale_postgres_cpu_per_turn_{name}", run.database_cpu_ms, "ms",
                   base and base.database_cpu_ms, higher_is_better=False)
            figure(f"scale_postgres_transactions_per_turn_{name}", run.transactions,
                   "transactions", base and base.transactions, higher_is_better=False)
        figure(f"scale_telegram_duplicate_replies_{name}", run.duplicates, "messages")
        figure(f"scale_telegram_inbound_processed_twice_{name}", run.refused, "messages")


async def measure_broadcast(database: Database, telegram_people: int,
                            sms_people: int) -> list[dict[str, Any]]:
    runs = []
    for processes in (1, 2):
        result = await broadcast.parley_round(telegram_people, sms_people,
                                              store_url=database.fresh_url(),
                                              processes=processes)
        sys.stderr.write(f"scale: broadcast by {processes} process(es): {result}\n")
        runs.append(result)
    return runs


BROADCAST_LINES = [  # key in broadcast.tally's result, figure, unit, divided by, higher is better
    ("tg_rate", "telegram_efficiency", "achieved/allowed", broadcast.TG_RATE, True),
    ("tg_steady", "telegram_steady_efficiency", "achieved/allowed", broadcast.TG_RATE, True),
    ("tg_count", "telegram_messages", "messages", 1, True),
    ("tg_429", "telegram_429s", "responses", 1, False),
    ("tg_dupes", "telegram_duplicates", "messages", 1, True),
    ("tg_lost", "telegram_losses", "messages", 1, True),
    ("sms_rate", "sms_efficiency", "achieved/allowed", broadcast.SMS_RATE, True),
    ("sms_429", "sms_429s", "responses", 1, False),
    ("sms_dupes", "sms_duplicates", "messages", 1, True),
    ("sms_lost", "sms_losses", "messages", 1, True),
]


def report_broadcast(one: dict[str, Any], two: dict[str, Any]) -> None:
    for processes, run, base in ((1, one, None), (2, two, one)):
        for key, what, unit, per, higher in BROADCAST_LINES:
            figure(f"scale_broadcast_{what}_{label(processes)}", run[key] / per, unit,
                   None if base is None else base[key] / per, higher_is_better=higher)


def measure_planning(database: Database, audience: int) -> None:
    ours = round_planning.plan_in_child(database.fresh_url(), audience)
    sys.stderr.write(f"scale: planning on {database.kind}: {ours}\n")
    with tempfile.TemporaryDirectory(prefix="parley-bench-") as tmp:
        sqlite = round_planning.plan_in_child(f"sqlite:///{Path(tmp) / 'plan.db'}", audience)
    sys.stderr.write(f"scale: planning on sqlite: {sqlite}\n")
    for result in (ours, sqlite):
        if result["rows"] != audience:
            raise SystemExit(f"planned {result['rows']} rows, expected {audience}")
    size = f"{audience // 1000}k"
    figure(f"scale_round_planning_{size}_seconds_{database.kind}", ours["seconds"], "s",
           sqlite["seconds"], higher_is_better=False)
    figure(f"scale_round_planning_{size}_peak_rss_{database.kind}", ours["peak_mb"], "MB",
           sqlite["peak_mb"], higher_is_better=False)
    goals = [("under 5 s", ours["seconds"] < 5), ("under 300 MB", ours["peak_mb"] < 300)]
    sys.stderr.write("scale: planning goals: " + ", ".join(
        f"{goal} {'met' if met else 'NOT met'}" for goal, met in goals) + "\n")


async def serve_parts(args: argparse.Namespace, database: Database) -> None:
    if "turns" in args.parts:
        one, two = await measure_turns(database, args.users, 8 if args.quick else args.turns)
        report_turns(one, two, database.kind)
    if "broadcast" in args.parts:
        sizes = (150, 10) if args.quick else (800, 60)
        one_b, two_b = await measure_broadcast(database, *sizes)
        report_broadcast(one_b, two_b)


def run(args: argparse.Namespace) -> None:
    database = start_database(args.database)
    try:
        asyncio.run(serve_parts(args, database))
        if "planning" in args.parts:  # its own event loops, in this process and a child
            measure_planning(database, 20_000 if args.quick else args.people)
    finally:
        database.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="8 answers each, 150-person broadcast, 20,000-person round")
    parser.add_argument("--database", choices=["postgresql", "sqlite"],
                        default="postgresql")
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS))
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--turns", type=int, default=20, help="answers per person")
    parser.add_argument("--people", type=int, default=100_000, help="round audience")
    run(parser.parse_args(argv))


if __name__ == "__main__":
    main()
