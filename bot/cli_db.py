"""``parley db …``: the database itself. ``db migrate`` applies pending migrations to the
configured store (or ``--url``) and prints its schema version; ``db copy`` moves a
project to another database (SQLite to PostgreSQL, say), verified table by table.
SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from bot.cli_common import ConfigOpt
from bot.clock import SystemClock
from bot.store.copy import BATCH, CopyReport, copy_database

db_app = typer.Typer(help="The database: migrations, and copying a project to another "
                          "database (SQLite or PostgreSQL).", no_args_is_help=True)
UrlOpt = Annotated[str | None, typer.Option(
    "--url", help="store URL (sqlite:///path.db or postgresql://user:pass@host/db); "
                  "default: [store] url of the config")]


async def migrate_store(url: str) -> list[int]:
    """Open the store at ``url`` (which applies its pending migrations) and return the
    migration numbers it records as applied."""
    from bot.errors import ConfigError
    from bot.store import open_store
    from bot.store.pg_dialect import mask_url
    from bot.store.scratch import ScratchStore
    from bot.store.sqlite import SqliteStore

    store = open_store(url)
    # PostgresStore is a SqliteStore too; memory:// (a ScratchStore) is not kept
    if not isinstance(store, SqliteStore) or isinstance(store, ScratchStore):
        raise ConfigError(f"[store] url: {mask_url(url)} keeps nothing to migrate")
    await store.open()
    try:
        return await store.schema_versions()
    finally:
        await store.close()


@db_app.command("migrate")
def migrate(url: UrlOpt = None, config: ConfigOpt = None) -> None:
    """Apply pending migrations and print the schema version."""
    from bot.cli_common import config_or_exit, out, run
    from bot.store.pg_dialect import mask_url

    target = url or config_or_exit(config).store.url
    versions = run(migrate_store(target))
    out.print(f"{mask_url(target)}: schema version {max(versions, default=0)} "
              f"({len(versions)} migrations applied)")


def _report_table(report: CopyReport) -> Table:
    table = Table(title=f"{report.source} → {report.target} (schema {report.schema_version})")
    for column in ("table", "source rows", "target rows", "checksum (SHA-256)", ""):
        table.add_column(column, justify="right" if column.endswith("rows") else "left")
    for check in sorted(report.tables, key=lambda c: c.table):
        digest = check.source_digest[:16] if check.ok else \
            f"{check.source_digest[:16]} ≠ {check.target_digest[:16]}"
        table.add_row(check.table, str(check.source_rows), str(check.target_rows), digest,
                      "OK" if check.ok else "MISMATCH")
    return table


@db_app.command("copy")
def copy_cmd(
    source: Annotated[str, typer.Option("--from", help="the database to copy, e.g. "
                                        "sqlite:///parley.db (only read)")],
    target: Annotated[str | None, typer.Option(
        "--to", help="an empty database, e.g. postgresql://user:password@host:5432/parley; "
                     "default: [store] url of the config (or PARLEY_STORE_URL)")] = None,
    batch: Annotated[int, typer.Option(help="rows per batch", min=1)] = BATCH,
    config: ConfigOpt = None,
) -> None:
    """Copy every table and row (ids kept) into an empty database, then verify row counts
    and checksums table by table. Stop `parley serve` first."""
    from bot.cli_common import config_or_exit, err, fail, out, run

    def progress(table: str, rows: int) -> None:
        if rows:
            err.print(f"[dim]copied {table}: {rows} rows[/]", markup=True)

    into = target or config_or_exit(config).store.url
    report = run(copy_database(source, into, now=SystemClock().now(), batch=batch,
                               progress=progress))
    out.print(_report_table(report))
    if not report.ok:
        bad = [c.table for c in report.tables if not c.ok]
        fail(f"{len(bad)} table(s) differ after the copy: {', '.join(bad)}")
    out.print(f"copied {report.rows} rows in {len(report.tables)} tables; "
              "every table verified")
