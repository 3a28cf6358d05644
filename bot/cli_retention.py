"""``parley retention preview|purge [--as-of DATE]``: who the retention limit erases."""

from __future__ import annotations

import datetime as dt
import json
import sys
from typing import Annotated, Any

import typer
from rich.table import Table

from bot.cli_rounds import ActorOpt, ConfigOpt, actor_of, opened
from bot.config import Config
from bot.retention import Due, parse_as_of, preview, purge

retention_app = typer.Typer(help="Erase people inactive or withdrawn for longer than the "
                                 "retention days set in config.toml.", no_args_is_help=True)
AsOfOpt = Annotated[str | None, typer.Option(
    "--as-of", help="act as if it were this date (YYYY-MM-DD, project time zone); "
                    "default now")]


def _as_of(cfg: Config, value: str | None) -> dt.datetime | None:
    """The moment to judge at, or None for the runtime's clock."""
    from bot.cli_common import fail

    if value is None:
        return None
    try:
        return parse_as_of(value, cfg.schedule.timezone)
    except ValueError as exc:
        fail(str(exc))
        raise


def _table(title: str, rows: list[Due]) -> Table:
    table = Table(title=title)
    for col in ("participant", "reason", "last active", "days inactive"):
        table.add_column(col)
    for d in rows:
        table.add_row(d.participant_id, d.reason, f"{d.last_active:%Y-%m-%d}",
                      str(d.days_inactive))
    return table


@retention_app.command("preview")
def preview_cmd(as_of: AsOfOpt = None,
                as_json: Annotated[bool, typer.Option("--json", help="one JSON array")] = False,
                config: ConfigOpt = None) -> None:
    """Who a purge would erase now (or --as-of a date); changes nothing."""
    from bot.cli_common import config_or_exit, out, run

    cfg = config_or_exit(config)
    when = _as_of(cfg, as_of)

    async def go() -> list[Due]:
        async with opened(cfg) as (runtime, _):
            return await preview(runtime.store, cfg, when or runtime.clock.now())

    due = run(go())
    if as_json:
        sys.stdout.write(json.dumps([d.as_json() for d in due]) + "\n")
        return
    out.print(_table(f"Due for erasure (more than {cfg.retention.days} days)", due))
    out.print(f"{len(due)} participant(s) would be erased by `parley retention purge`.")


@retention_app.command("purge")
def purge_cmd(as_of: AsOfOpt = None, actor: ActorOpt = None,
              config: ConfigOpt = None) -> None:
    """Erase everyone the preview lists (audited). The scheduler also runs this daily."""
    from bot.cli_common import config_or_exit, out, run

    cfg = config_or_exit(config)
    when = _as_of(cfg, as_of)

    async def go() -> Any:
        async with opened(cfg) as (runtime, _):
            now = runtime.clock.now()
            return await purge(runtime.store, cfg, when or now, actor=actor_of(actor),
                               now=now)

    erased = run(go())
    out.print(_table("Erased", erased))
    out.print(f"Erased {len(erased)} participant(s).")
