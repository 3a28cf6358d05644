"""``parley report``: the evaluation report as self-contained HTML or PDF."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bot.cli_rounds import ConfigOpt, opened
from bot.errors import ParleyError
from bot.timing import parse_local


def report(fmt: Annotated[str, typer.Option("--format", help="html or pdf")],
           out_file: Annotated[Path, typer.Option("--out", help="file to write")],
           start: Annotated[str | None, typer.Option("--from", help="rounds starting from "
                                                     "this date (ISO)")] = None,
           end: Annotated[str | None, typer.Option("--to", help="… and before this date")
                          ] = None,
           config: ConfigOpt = None) -> None:
    """Participation, representativeness, change per measure, endorsement, themes and
    cost, with plots; the HTML needs no network, the PDF opens in any viewer."""
    from bot.cli_common import config_or_exit, fail, out, run

    cfg = config_or_exit(config)
    if fmt not in ("html", "pdf"):
        fail(f"--format must be html or pdf, not '{fmt}'")
    tz = cfg.schedule.timezone
    try:
        since = parse_local(start, tz) if start else None
        until = parse_local(end, tz) if end else None
    except ValueError as exc:
        fail(f"--from/--to: {exc}")
        return
    if not out_file.parent.is_dir():
        fail(f"--out: no folder {out_file.parent}")

    from bot.report.data import collect  # matplotlib loads slowly: only when needed
    from bot.report.render import write_html, write_pdf

    async def go() -> None:
        async with opened(cfg) as (runtime, rounds):
            data = await collect(runtime.store, cfg, runtime.library, rounds.clock.now(),
                                 since, until)
        try:
            (write_html if fmt == "html" else write_pdf)(data, out_file)
        except OSError as exc:
            raise ParleyError(f"--out: cannot write {out_file}: {exc}") from exc

    run(go())
    out.print(f"Report written to {out_file}")
