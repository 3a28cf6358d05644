"""``parley findings …``: publish draft findings, see what people said, send revisions."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from bot.cli_rounds import ActorOpt, ConfigOpt, actor_of, opened
from bot.findings.publish import publish
from bot.findings.summary import VersionSummary, lineage, summarise
from bot.findings.translations import read_translations, store_translations
from bot.text_hygiene import for_terminal

findings_app = typer.Typer(help="Draft findings that participants endorse, amend or reject.",
                           no_args_is_help=True)


@findings_app.command("publish")
def publish_cmd(
    file: Annotated[Path, typer.Argument(help="Markdown: '# Title' then the text; a "
                                         "revision may add '## What we changed'")],
    replaces: Annotated[str | None, typer.Option(help="the finding id this revises")] = None,
    translation: Annotated[list[str] | None, typer.Option(
        help="LOCALE=FILE.md, e.g. cy=fees.cy.md (repeat for more)")] = None,
    actor: ActorOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Store a versioned draft finding; prints its id on the last line."""
    from bot.cli_common import config_or_exit, out, run

    cfg = config_or_exit(config)

    async def go() -> Any:
        async with opened(cfg) as (runtime, service):
            # every translation is read and checked before anything is stored
            translated = read_translations(translation or [], list(cfg.project.locales))
            finding = await publish(runtime.store, file, replaces=replaces,
                                    actor=actor_of(actor), now=runtime.clock.now())
            await store_translations(runtime.store, finding, translated)
            await service.audit(actor_of(actor), "finding.publish", finding.id,
                                {"replaces": replaces, "file": str(file)})
            return finding

    finding = run(go())
    out.print(f"Published {finding.id} (version {finding.version} of {finding.lineage}): "
              f"{escape(finding.title)}. Send it with: parley rounds create --flow "
              f"endorsement --finding {finding.id} --audience all")
    sys.stdout.write(f"{finding.id}\n")


@findings_app.command("list")
def list_cmd(config: ConfigOpt = None) -> None:
    """Every finding and version."""
    from bot.cli_common import config_or_exit, out, run

    cfg = config_or_exit(config)

    async def go() -> list[Any]:
        async with opened(cfg) as (runtime, _):
            return await runtime.store.findings_all()

    table = Table(title="Findings")
    for col in ("id", "version", "replaces", "title", "published"):
        table.add_column(col)
    for f in run(go()):
        table.add_row(f.id, str(f.version), f.replaces or "—", for_terminal(f.title),
                      f"{f.created_at:%Y-%m-%d}")
    out.print(table)


def _print_summary(s: VersionSummary) -> None:
    from bot.cli_common import out

    counts = s.counts
    out.print(f"[bold]{s.finding.id}[/] v{s.finding.version}: {for_terminal(s.finding.title)}  "
              f"(rounds: {', '.join(s.rounds) or 'none yet'})", markup=True)
    if s.finding.changes:
        out.print(f"  What we changed: {for_terminal(s.finding.changes)}")
    out.print(f"  agree {counts['agree']} · partly {counts['partly']} · "
              f"disagree {counts['disagree']}")
    table = Table(show_lines=True)
    for col in ("who", "view", "comment (agreed)", "proposed amendment"):
        table.add_column(col, overflow="fold")
    for r in s.responses:
        table.add_row(for_terminal(r.who), (r.view or "—") + (" (late)" if r.late else ""),
                      for_terminal(r.comment) or "—", for_terminal(r.amendment) or "—")
    if s.responses:
        out.print(table)
    out.print("  Co-authors who asked to be named: "
              + (for_terminal(", ".join(s.coauthors)) or "none yet"))


@findings_app.command("summary")
def summary_cmd(finding_id: Annotated[str, typer.Argument(help="any version's id")],
                config: ConfigOpt = None) -> None:
    """Per version: agree/partly/disagree, comments and amendments, named co-authors."""
    from bot.cli_common import config_or_exit, fail, run

    cfg = config_or_exit(config)

    async def go() -> list[VersionSummary]:
        async with opened(cfg) as (runtime, _):
            return [await summarise(runtime.store, f)
                    for f in await lineage(runtime.store, finding_id)]

    summaries = run(go())
    if not summaries:
        fail(f"no finding '{finding_id}'")
    for s in summaries:
        _print_summary(s)


@findings_app.command("send-revision")
def send_revision(
    finding_id: Annotated[str, typer.Argument(help="the new version's id")],
    start: Annotated[str | None, typer.Option(help="ISO date-time (default: now)")] = None,
    remind_after: Annotated[str | None, typer.Option(help="e.g. 3d")] = None,
    close_after: Annotated[str | None, typer.Option(help="e.g. 14d")] = None,
    actor: ActorOpt = None,
    config: ConfigOpt = None,
) -> None:
    """A draft endorsement round of this version for everyone who commented on an
    earlier one, quoting their words ("you said, we did"); prints the round id."""
    from bot.cli_common import config_or_exit, out, run

    cfg = config_or_exit(config)
    who = actor_of(actor)

    async def go() -> tuple[str, int]:
        async with opened(cfg) as (_, service):
            item = await service.build(flow="endorsement", audience=f"commented:{finding_id}",
                                       finding=finding_id, start=start,
                                       remind_after=remind_after, close_after=close_after,
                                       label="revision", actor=who)
            people, _ = await service.people(item)
            await service.create(item, who)
            return item.id, len(people)

    round_id, count = run(go())
    out.print(f"Draft revision round {round_id} for the {count} people who commented; "
              f"check it with `parley rounds status {round_id}` after "
              f"`parley rounds start {round_id}`.")
    sys.stdout.write(f"{round_id}\n")
