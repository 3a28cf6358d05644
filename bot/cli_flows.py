"""``parley flows validate|cost``: checking flow files and what they cost by SMS."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from bot.cli_common import ChannelOpt, ConfigOpt, check_channel, config_or_exit, fail, out
from bot.config import Config
from bot.errors import FlowError, ParleyError, Problem
from bot.flows.loader import validate_source
from bot.i18n.renderer import Renderer
from bot.sms_check import completion_segments, main_path, message_costs, sms_problems
from bot.text.toml_positions import key_lines

flows_app = typer.Typer(help="Check and cost flow files.", no_args_is_help=True)


def _validate_paths(cfg: Config, paths: list[Path]) -> list[Problem]:
    try:
        renderer = Renderer.from_dir(cfg.templates_path(), cfg.project.locales[0])
    except ParleyError as exc:
        return [Problem(str(cfg.templates_path()), 1, str(exc))]
    problems: list[Problem] = []
    for path in paths:
        try:
            source = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(Problem(str(path), 1, f"cannot read the file: {exc}"))
            continue
        _, found = validate_source(source, str(path), renderer, cfg.project.locales)
        problems.extend(found)
    return problems


@flows_app.command("validate")
def flows_validate(
    paths: Annotated[list[Path] | None, typer.Argument(help="flow files (default: all)")] = None,
    config: ConfigOpt = None,
) -> None:
    """Validate flow files; prints file:line: message per problem, exit 1 if any."""
    cfg = config_or_exit(config)
    files = paths or sorted(cfg.flows_path().glob("*.toml"))
    if not files:
        fail(f"no flow files found in {cfg.flows_path()}")
    problems = _validate_paths(cfg, list(files))
    seen_ids: dict[str, Path] = {}
    for path in files:
        try:
            flow, _ = validate_source(path.read_text(encoding="utf-8"), str(path))
        except (OSError, UnicodeDecodeError):
            continue
        if flow is not None and flow.id in seen_ids:
            line = key_lines(path.read_text(encoding="utf-8")).get(("id",), 1)
            problems.append(Problem(str(path), line, f"flow id '{flow.id}' is already used "
                                    f"by {seen_ids[flow.id]}"))
        elif flow is not None:
            seen_ids[flow.id] = path
    for problem in problems:
        sys.stdout.write(f"{problem}\n")
    if problems:
        raise typer.Exit(1)
    _whatsapp_warnings(cfg, seen_ids)
    out.print(f"{len(files)} flow file(s) OK")


def _whatsapp_warnings(cfg: Config, files: dict[str, Path]) -> None:
    """With WhatsApp on: each business-initiated message without a template, as
    ``file:line: warning: …`` (not an error: such messages fall back or are held)."""
    from bot.channels.whatsapp_coverage import for_round

    flows = {}
    for flow_id, path in files.items():
        flow, _ = validate_source(path.read_text(encoding="utf-8"), str(path))
        if flow is not None:
            flows[flow_id] = flow
    seen: set[tuple[str, ...]] = set()
    for flow_id, path in files.items():
        if flow_id in cfg.enrolment.pathway:
            continue  # answered within the window opened by the person's own message
        for missing in for_round(cfg, flows, flow_id, reminders=True):
            if missing.keys in seen:
                continue
            seen.add(missing.keys)
            where = files.get(missing.flow_id, path)
            line = key_lines(where.read_text(encoding="utf-8")).get(("nodes", missing.node), 1)
            sys.stdout.write(f"{where}:{line}: warning: {missing}\n")


@flows_app.command("cost")
def flows_cost(
    flow: Annotated[str, typer.Argument(help="flow id")],
    channel: ChannelOpt = "sms",
    locale: Annotated[str, typer.Option(help="locale")] = "en",
    config: ConfigOpt = None,
) -> None:
    """SMS segments per message and for a full completion (the main path: every
    question answered, no reminders); Telegram has no per-message cost."""
    check_channel(channel)
    cfg = config_or_exit(config)
    from bot.runtime import load_content

    try:
        renderer, library = load_content(cfg)
        if flow not in library:
            fail(f"no flow called '{flow}' (known: {', '.join(library.ids)})")
        target = library.get(flow)
        rows = message_costs(target, renderer, locale, cfg.project_data())
    except FlowError as exc:
        fail(str(exc))
        raise
    if channel == "telegram":
        path = main_path(target)
        out.print(f"{target.id} on Telegram ({locale}): {len(path)} steps on the main path "
                  f"({' → '.join(path)}); Telegram charges nothing per message, so a "
                  "full completion costs 0. Use --channel sms for segments and cost.")
        return
    from rich.table import Table

    table = Table(title=f"{target.id}: SMS segments ({locale})")
    for col in ("node", "encoding", "segments", "message"):
        table.add_column(col)
    for node, encoding, segments, body in rows:
        table.add_row(node, encoding, str(segments), body.replace("\n", " / "))
    out.print(table)
    total = completion_segments(target, renderer, locale, cfg.project_data())
    out.print(f"Full completion ({' → '.join(main_path(target))}): {total} segments")
    lines = key_lines(Path(cfg.flows_path() / f"{flow}.toml").read_text(encoding="utf-8")) \
        if (cfg.flows_path() / f"{flow}.toml").is_file() else {}
    for problem in sms_problems(target, f"{flow}.toml", lines, renderer, locale,
                                cfg.project_data()):
        out.print(f"[yellow]warning:[/] {escape(str(problem))}", markup=True)
