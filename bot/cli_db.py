"""``parley db …``: the database itself. ``db migrate`` applies pending migrations to the
configured store (or ``--url``) and prints its schema version; SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Annotated

import typer

from bot.cli_common import ConfigOpt

db_app = typer.Typer(help="The database: migrations (SQLite or PostgreSQL).",
                     no_args_is_help=True)
UrlOpt = Annotated[str | None, typer.Option(
    "--url", help="store URL (sqlite:///path.db or postgresql://user:pass@host/db); "
                  "default: [store] url of the config")]


async def migrate_store(url: str) -> list[int]:
    """Open the store at ``url`` (which applies its pending migrations) and return the
    migration numbers it records as applied."""
    from bot.errors import ConfigError
    from bot.store import open_store
    from bot.store.pg_dialect import mask_url
    from bot.store.sqlite import SqliteStore

    store = open_store(url)
    if not isinstance(store, SqliteStore):  # PostgresStore is one too
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
