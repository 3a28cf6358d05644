"""``parley db copy`` on SQLite files: the demo's database is copied whole (ids kept,
verified by counts and checksums), a non-empty target or an older source is refused, and
the checksum sees order-free content, nothing else."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.store.copy_tables import Digest
from bot.store.sqlite import SqliteStore
from tests.cli_inprocess import run_cli


def contents(path: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every table's rows, sorted: an oracle independent of the copy's own checksum."""
    with sqlite3.connect(path) as db:
        names = [r[0] for r in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT IN "
            "('schema_migrations', 'sqlite_sequence')")]
        found = {n: sorted(_rows(db, n), key=repr) for n in names}
        found["sqlite_sequence"] = sorted(db.execute("SELECT * FROM sqlite_sequence"))
    return found


def _rows(db: sqlite3.Connection, table: str) -> list[tuple[object, ...]]:
    """With the rowid, the insertion order the store reads back, where there is one."""
    try:
        return list(db.execute(f'SELECT rowid, * FROM "{table}"'))
    except sqlite3.OperationalError:  # WITHOUT ROWID
        return list(db.execute(f'SELECT * FROM "{table}"'))


def test_demo_database_is_copied_whole_and_a_second_copy_is_refused(
        demo_db: Path, tmp_path: Path) -> None:
    target = tmp_path / "copy.db"
    ran = run_cli("db", "copy", "--from", f"sqlite:///{demo_db}", "--to", f"sqlite:///{target}")
    assert ran.returncode == 0, ran.output
    assert "every table verified" in ran.stdout and "MISMATCH" not in ran.stdout
    source = contents(demo_db)
    assert contents(target) == source
    assert len(source["answers"]) > 50 and len(source["outbox"]) > 100
    for line in ran.stdout.splitlines():  # e.g. "│ answers │ 78 │ 78 │ 423c… │ OK │"
        if "│ answers " in line:
            assert f" {len(source['answers'])} " in line and line.rstrip(" │").endswith("OK")
    assert target.stat().st_mode & 0o777 == 0o600

    again = run_cli("db", "copy", "--from", f"sqlite:///{demo_db}", "--to",
                    f"sqlite:///{target}")
    assert again.returncode == 1
    assert "is not empty" in again.stderr and "answers" in again.stderr
    assert contents(target) == source  # nothing added twice

    small = tmp_path / "small-batches.db"
    batched = run_cli("db", "copy", "--from", f"sqlite:///{demo_db}", "--to",
                      f"sqlite:///{small}", "--batch", "7")
    assert batched.returncode == 0, batched.output
    assert contents(small) == source


async def test_a_source_in_use_by_parley_serve_is_refused(demo_db: Path,
                                                         tmp_path: Path) -> None:
    live = tmp_path / "live.db"
    with sqlite3.connect(demo_db) as src, sqlite3.connect(live) as dst:
        src.backup(dst)
    store = SqliteStore(live)  # what a running parley serve does: hold the scheduler lease
    await store.open()
    assert await store.lease_hold("scheduler", "serve-1", dt.datetime.now(dt.UTC),
                                  dt.timedelta(minutes=5))
    await store.close()
    target = tmp_path / "target.db"
    ran = run_cli("db", "copy", "--from", f"sqlite:///{live}", "--to", f"sqlite:///{target}")
    assert ran.returncode == 1
    assert "is in use" in ran.stderr and "'scheduler'" in ran.stderr
    assert not target.exists()

    await store.open()
    await store.lease_release("scheduler", "serve-1")  # parley serve stopped cleanly
    await store.close()
    ran = run_cli("db", "copy", "--from", f"sqlite:///{live}", "--to", f"sqlite:///{target}")
    assert ran.returncode == 0, ran.output


def test_an_older_source_is_refused_until_migrated(demo_db: Path, tmp_path: Path) -> None:
    old = tmp_path / "old.db"
    with sqlite3.connect(demo_db) as src, sqlite3.connect(old) as dst:
        src.backup(dst)
    with sqlite3.connect(old) as db:
        newest = db.execute("SELECT max(version) FROM schema_migrations").fetchone()[0]
        db.execute("DELETE FROM schema_migrations WHERE version = ?", (newest,))
    target = tmp_path / "target.db"
    ran = run_cli("db", "copy", "--from", f"sqlite:///{old}", "--to", f"sqlite:///{target}")
    assert ran.returncode == 1
    assert f"older than this Parley's {newest}" in ran.stderr
    assert "parley db migrate" in ran.stderr
    assert all(not rows for rows in contents(target).values())


def test_a_missing_source_or_an_unknown_url_is_a_clear_error(tmp_path: Path) -> None:
    ran = run_cli("db", "copy", "--from", f"sqlite:///{tmp_path / 'nope.db'}", "--to",
                  f"sqlite:///{tmp_path / 'to.db'}")
    assert ran.returncode == 1 and "no SQLite database at" in ran.stderr
    assert not (tmp_path / "nope.db").exists()
    (tmp_path / "notes.db").write_text("not a database")
    ran = run_cli("db", "copy", "--from", f"sqlite:///{tmp_path / 'notes.db'}", "--to",
                  f"sqlite:///{tmp_path / 'to.db'}")
    assert ran.returncode == 1 and "cannot read the source" in ran.stderr
    ran = run_cli("db", "copy", "--from", "mysql://me:pw1234@x/y", "--to",
                  f"sqlite:///{tmp_path}/t.db")
    assert ran.returncode == 1 and "not a database URL" in ran.stderr
    assert "pw1234" not in ran.stderr
    assert not (tmp_path / "to.db").exists() and not (tmp_path / "t.db").exists()


values = st.one_of(st.none(), st.integers(-2**63, 2**63 - 1), st.text(max_size=8),
                   st.floats(allow_nan=False), st.binary(max_size=4))
rows = st.lists(st.tuples(values, values), max_size=12)


@settings(deadline=None, max_examples=60)
@given(rows, st.randoms())
def test_the_checksum_ignores_order_and_sees_every_value(
        table: list[tuple[object, object]], rnd: object) -> None:
    shuffled = list(table)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    one, two = Digest(["a", "b"]), Digest(["a", "b"])
    one.add(list(table))
    two.add(shuffled[:3])
    two.add(shuffled[3:])
    assert one.hexdigest() == two.hexdigest()
    if table:
        changed = Digest(["a", "b"])
        changed.add([*table[1:], (table[0][0], "other" if table[0][1] != "other" else 0)])
        assert changed.hexdigest() != one.hexdigest()
        doubled = Digest(["a", "b"])
        doubled.add([*table, table[0]])
        assert doubled.hexdigest() != one.hexdigest()


def test_postgres_types_digest_like_sqlite_values() -> None:
    when = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)
    sqlite_side, pg_side = Digest(["at", "flag", "n"]), Digest(["at", "flag", "n"])
    sqlite_side.add([("2026-03-02T10:00:00.000000+00:00", 1, 5)])
    pg_side.add([(when, True, 5)])
    assert sqlite_side.hexdigest() == pg_side.hexdigest()


def test_the_configured_store_is_not_copied_onto_itself(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[store]\nurl = "sqlite:///{tmp_path / "project.db"}"\n')
    ran = run_cli("db", "migrate", "--config", config)
    assert ran.returncode == 0, ran.output
    assert (tmp_path / "project.db").exists() and "schema version" in ran.stdout
    onto_itself = run_cli("db", "copy", "--from", f"sqlite:///{tmp_path / 'project.db'}",
                          "--config", config)  # no --to: the configured store itself
    assert onto_itself.returncode == 1
    assert "the same database" in onto_itself.stderr


def test_without_to_the_copy_goes_into_the_configured_store(demo_db: Path,
                                                             tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[store]\nurl = "sqlite:///{tmp_path / "project.db"}"\n')
    ran = run_cli("db", "copy", "--from", f"sqlite:///{demo_db}", "--config", config)
    assert ran.returncode == 0, ran.output
    assert contents(tmp_path / "project.db") == contents(demo_db)
