"""``parley themes export|import``: code free-text answers in another tool (NVivo,
Taguette, a spreadsheet) and bring the themes back."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bot.cli_rounds import ActorOpt, ConfigOpt, actor_of, opened
from bot.themes.coding import export_csv, import_csv

themes_app = typer.Typer(help="Themes: coding free-text answers.", no_args_is_help=True)


@themes_app.command("export")
def export(out_file: Annotated[Path, typer.Option("--out", help="CSV file to write")],
           config: ConfigOpt = None) -> None:
    """Every free-text answer (id, flow, field, time, text) with its themes."""
    from bot.cli_common import config_or_exit, fail, out, run

    cfg = config_or_exit(config)
    if not out_file.parent.is_dir():
        fail(f"--out: no folder {out_file.parent}")

    async def go() -> int:
        async with opened(cfg) as (runtime, _):
            return await export_csv(runtime.store, runtime.library, out_file)

    out.print(f"{run(go())} answers written to {out_file}")


@themes_app.command("import")
def import_(file: Annotated[Path, typer.Argument(help="CSV with answer_id and themes "
                                                 "(;-separated) columns")],
            actor: ActorOpt = None, config: ConfigOpt = None) -> None:
    """Set each listed answer's themes (all rows are checked first; nothing is changed
    if one is wrong)."""
    from bot.cli_common import config_or_exit, out, run

    cfg = config_or_exit(config)

    async def go() -> int:
        async with opened(cfg) as (runtime, service):
            return await import_csv(runtime.store, runtime.library, file, actor_of(actor),
                                    service.clock.now())

    out.print(f"Themes set on {run(go())} answers.")
