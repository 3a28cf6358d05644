"""Round planning for 100,000 people on PostgreSQL beside SQLite (issue 16).

``python -m bench.pg_planning [--people N]``: a throwaway PostgreSQL cluster (the
tests' ``tests/pg_cluster.py``, Debian's binaries), the audience of
``bench.round_planning`` (N tagged among 1.2 N people) imported into each store, then
exactly what ``parley rounds start`` runs, timed. Prints seconds per step and backend.
Not in ``python -m bench``'s default list: it needs the PostgreSQL server binaries.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

import bench.round_planning as planning
from bot.config import Config
from bot.store.postgres import PostgresStore
from bot.store.sqlite import SqliteStore
from tests.pg_cluster import start_cluster


def _config(url: str) -> Config:
    return Config.model_validate({
        "project": {"name": "Bench", "locales": ["en", "cy"]}, "store": {"url": url},
        "schedule": {"timezone": "Europe/London", "quiet_hours": "21:00-09:00"}})


async def _run(url: str, store: SqliteStore, people: int) -> tuple[float, float, int]:
    await store.open()
    began = time.perf_counter()
    await store.import_participants(planning.people(people + people // 5, people))
    imported = time.perf_counter() - began
    await store.close()
    planning.config = lambda _db: _config(url)  # plan() opens the runtime on this url
    seconds, rows = await planning.plan(Path("unused"))
    return imported, seconds, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=100_000)
    args = parser.parse_args()
    cluster = start_cluster()
    try:
        url = cluster.fresh_url()
        imported, seconds, rows = asyncio.run(_run(url, PostgresStore(url), args.people))
        print(f"postgresql: import {imported:.2f} s, plan {seconds:.2f} s, {rows} targets")
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "plan.db"
            imported, seconds, rows = asyncio.run(_run(f"sqlite:///{path}", SqliteStore(path),
                                                       args.people))
            print(f"sqlite:     import {imported:.2f} s, plan {seconds:.2f} s, {rows} targets")
    finally:
        cluster.stop()


if __name__ == "__main__":
    main()
