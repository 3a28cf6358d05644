"""``parley db copy`` between SQLite and a real PostgreSQL (tests/pg_cluster.py): the
demo's database lands whole in an empty PostgreSQL database, verified; a second copy is
refused; copied on to another PostgreSQL database and back to a SQLite file, it gives
the demo's rows again; and PostgresStore reads the same people and hands out new ids
after the copied ones."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import asyncpg

from bot.store.postgres import PostgresStore
from bot.store.round_records import AuditEntry
from bot.store.sqlite import SqliteStore
from tests.cli_inprocess import run_cli
from tests.pg_cluster import PASSWORD, PgCluster
from tests.test_db_copy import contents


async def same_rows(sqlite_path: Path, url: str, *, compare: bool = True) -> dict[str, int]:
    """Rows per PostgreSQL table, after checking every table holds the same rows on both sides:
    each PostgreSQL table's columns (SQLite's implicit rowid among them) read from both,
    sorted. An oracle independent of the copy's own checksum."""
    db = await asyncpg.connect(url)
    counts: dict[str, int] = {}
    try:
        with sqlite3.connect(sqlite_path) as lite:
            for (table,) in lite.execute("SELECT name FROM sqlite_master WHERE type = "
                                         "'table' AND name NOT LIKE 'sqlite%'"):
                if table == "schema_migrations":
                    continue
                names = [r[0] for r in await db.fetch(
                    "SELECT column_name FROM information_schema.columns WHERE table_name = $1"
                    " AND table_schema = current_schema() ORDER BY ordinal_position", table)]
                cols = ", ".join(f'"{n}"' for n in names)
                pg = sorted((tuple(r) for r in await db.fetch(f'SELECT {cols} FROM "{table}"')),
                            key=repr)
                assert not compare or pg == sorted(
                    lite.execute(f'SELECT {cols} FROM "{table}"'), key=repr), table
                counts[table] = len(pg)
    finally:
        await db.close()
    return counts


async def test_demo_database_moves_to_postgresql_and_back(
        demo_db: Path, pg_cluster: PgCluster, tmp_path: Path) -> None:
    url = pg_cluster.fresh_url(migrated=False)
    ran = run_cli("db", "copy", "--from", f"sqlite:///{demo_db}", "--to", url)
    assert ran.returncode == 0, ran.output
    assert "every table verified" in ran.stdout and "MISMATCH" not in ran.stdout
    assert PASSWORD not in ran.output

    counts = await same_rows(demo_db, url)
    assert counts["answers"] > 50 and counts["outbox"] > 100 and len(counts) >= 40

    again = run_cli("db", "copy", "--from", f"sqlite:///{demo_db}", "--to", url)
    assert again.returncode == 1 and "is not empty" in again.stderr
    assert await same_rows(demo_db, url) == counts

    other = pg_cluster.fresh_url(migrated=False)  # PostgreSQL to PostgreSQL
    moved = run_cli("db", "copy", "--from", url, "--to", other)
    assert moved.returncode == 0, moved.output
    assert await same_rows(demo_db, other) == counts

    back = tmp_path / "back.db"  # and home again: the demo's rows and id counters
    home = run_cli("db", "copy", "--from", other, "--to", f"sqlite:///{back}")
    assert home.returncode == 0, home.output
    assert contents(back) == contents(demo_db)

    lite, pg = SqliteStore(demo_db), PostgresStore(url)
    await lite.open()
    await pg.open()
    try:
        assert await pg.list_participants() == await lite.list_participants()
        assert await pg.answers() == await lite.answers()
        newest = max(e.id or 0 for e in await lite.audit_log(1000))
        entry = AuditEntry(at=dt.datetime(2026, 7, 1, tzinfo=dt.UTC), actor="coordinator@x",
                           action="moved")
        await pg.audit_add(entry)  # the sequence moved past the copied ids
        assert entry.id == newest + 1
    finally:
        await pg.close()
        await lite.close()


async def test_migrate_then_copy_in_small_batches(demo_db: Path, pg_cluster: PgCluster) -> None:
    url = pg_cluster.fresh_url(migrated=False)
    first = run_cli("db", "migrate", "--url", url)  # as README's "Moving a pilot" says
    assert first.returncode == 0 and "schema version" in first.stdout, first.output

    ran = run_cli("db", "copy", "--from", f"sqlite:///{demo_db}", "--to",
                  f"{url}?pool_size=2", "--batch", "7")  # a [store] url, options and all
    assert ran.returncode == 0, ran.output  # a migrated, empty database is a fine target
    assert (await same_rows(demo_db, url))["events"] > 200


async def test_a_row_postgresql_refuses_leaves_the_target_empty_and_unquoted(
        demo_db: Path, pg_cluster: PgCluster, tmp_path: Path) -> None:
    broken = tmp_path / "orphan.db"  # SQLite kept a row whose person is gone
    with sqlite3.connect(demo_db) as src, sqlite3.connect(broken) as dst:
        src.backup(dst)
    with sqlite3.connect(broken) as db:
        db.execute("INSERT INTO addresses (address, participant_id, channel, created_at) "
                   "VALUES ('tel:+447700900999', 'p_gone', 'sms', "
                   "'2026-03-02T10:00:00.000000+00:00')")
    url = pg_cluster.fresh_url(migrated=False)
    ran = run_cli("db", "copy", "--from", f"sqlite:///{broken}", "--to", url)
    assert ran.returncode == 1
    assert "copying addresses failed" in ran.stderr and "ForeignKeyViolation" in ran.stderr
    assert "+447700900999" not in ran.output and "p_gone" not in ran.output
    assert set((await same_rows(demo_db, url, compare=False)).values()) == {0}
