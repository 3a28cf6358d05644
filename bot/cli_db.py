"""``parley db migrate|copy``: bring a database's schema up to date; move a project to
another database (SQLite to PostgreSQL, say), verified table by table."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from bot.cli_common import ConfigOpt, config_or_exit, err, fail, out, run
from bot.store.copy import BATCH, CopyReport, copy_database, migrate

db_app = typer.Typer(help="The database: apply migrations, copy a project to another "
                          "database.", no_args_is_help=True)


@db_app.command("migrate")
def migrate_cmd(
    url: Annotated[str | None, typer.Option(
        "--url", help="the database (default: [store] url of config.toml)")] = None,
    config: ConfigOpt = None,
) -> None:
    """Apply pending migrations and print the schema version."""
    target = url or config_or_exit(config).store.url
    if target.startswith("memory://"):
        fail("memory:// keeps nothing, so there is nothing to migrate")
    before, after = run(migrate(target))
    applied = [n for n in after if n not in before]
    if applied:
        out.print(f"applied {len(applied)} migration(s): "
                  + ", ".join(f"{n:04d}" for n in applied))
    else:
        out.print("no pending migrations")
    out.print(f"schema version {max(after, default=0)}")


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
                                        "sqlite:///parley.db (read only)")],
    target: Annotated[str, typer.Option("--to", help="an empty database, e.g. "
                                        "postgresql://user:password@host:5432/parley")],
    batch: Annotated[int, typer.Option(help="rows per batch", min=1)] = BATCH,
) -> None:
    """Copy every table and row (ids kept) into an empty database, then verify row counts
    and checksums table by table. Stop `parley serve` first."""
    def progress(table: str, rows: int) -> None:
        if rows:
            err.print(f"[dim]copied {table}: {rows} rows[/]", markup=True)

    report = run(copy_database(source, target, batch=batch, progress=progress))
    out.print(_report_table(report))
    if not report.ok:
        bad = [c.table for c in report.tables if not c.ok]
        fail(f"{len(bad)} table(s) differ after the copy: {', '.join(bad)}")
    out.print(f"copied {report.rows} rows in {len(report.tables)} tables; "
              "every table verified")
