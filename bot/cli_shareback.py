"""``parley findings share-back|comments|decide``: tell everyone what was heard and what
changed, and each commenter what became of their comment (added to ``findings``)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from bot.cli_findings import findings_app
from bot.cli_rounds import ActorOpt, ConfigOpt, actor_of, opened
from bot.findings.shareback import Comment, comments, decide_comment, shareback_vars
from bot.text_hygiene import for_terminal


@findings_app.command("share-back")
def share_back_cmd(
    finding: Annotated[str, typer.Argument(help="the finding version people answered on")],
    audience: Annotated[str, typer.Option(help="all, cohort:NAME, tag:T or ids:FILE.csv")]
    = "all",
    asked: Annotated[str, typer.Option(help="the main change people asked for")] = "",
    asked_translation: Annotated[list[str] | None, typer.Option(
        help="LOCALE=TEXT, the same in another language")] = None,
    actor: ActorOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Draft a round telling everyone what was heard and what changed; prints its id."""
    from bot.cli_common import config_or_exit, out, run

    cfg = config_or_exit(config)
    translations: dict[str, str] = {}
    for spec in asked_translation or []:
        locale, _, text = spec.partition("=")
        if locale.strip() not in cfg.project.locales or not text.strip():
            raise typer.BadParameter(f"'{spec}': write LOCALE=TEXT with one of the "
                                     f"project's locales", param_hint="--asked-translation")
        translations[locale.strip()] = text

    async def go() -> str:
        async with opened(cfg) as (runtime, service):
            variables = await shareback_vars(runtime.store, finding, asked, translations)
            item = await service.build(flow="shareback", audience=audience,
                                       actor=actor_of(actor), base=Path.cwd(),
                                       label="shareback", extra_vars=variables)
            await service.create(item, actor_of(actor))
            return item.id

    round_id = run(go())
    out.print(f"Draft share-back round {round_id}. Start it with: parley rounds start "
              f"{round_id}")
    sys.stdout.write(f"{round_id}\n")


@findings_app.command("comments")
def comments_cmd(
    finding: Annotated[str, typer.Argument(help="a finding version")],
    as_json: Annotated[bool, typer.Option("--json", help="one JSON array")] = False,
    config: ConfigOpt = None,
) -> None:
    """Comments on a finding, with the decision each author was sent."""
    from bot.cli_common import config_or_exit, out, run

    cfg = config_or_exit(config)

    async def go() -> list[Comment]:
        async with opened(cfg) as (runtime, _):
            return await comments(runtime.store, finding)

    found = run(go())
    rows: list[dict[str, Any]] = [{"id": c.code, "view": c.view, "words": c.words,
                                   "decision": c.decision, "reason": c.reason} for c in found]
    if as_json:
        sys.stdout.write(json.dumps(rows, ensure_ascii=False) + "\n")
        return
    table = Table(title=f"Comments on {finding}")
    for column in ("id", "view", "comment", "decision"):
        table.add_column(column)
    for row in rows:
        decided = f"{row['decision']}: {row['reason']}" if row["decision"] else ""
        table.add_row(row["id"], row["view"] or "", for_terminal(row["words"]),
                      for_terminal(decided))
    out.print(table)


@findings_app.command("decide")
def decide_cmd(
    finding: Annotated[str, typer.Argument(help="a finding version")],
    comment: Annotated[str, typer.Argument(help="the comment's id, e.g. C12")],
    outcome: Annotated[str, typer.Option(help="taken, partly or not")],
    reason: Annotated[str, typer.Option(help="why, in plain words: the author reads it")],
    actor: ActorOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Tell a comment's author whether it was taken up, and why."""
    from bot.cli_common import config_or_exit, out, run

    cfg = config_or_exit(config)

    async def go() -> Comment:
        async with opened(cfg) as (runtime, service):
            done = await decide_comment(runtime.store, runtime.renderer, cfg,
                                        finding, comment, outcome, reason,
                                        runtime.clock.now())
            await service.audit(actor_of(actor), "comment.decide", done.code,
                                {"finding": finding, "outcome": outcome})
            return done

    done = run(go())
    out.print(f"{done.code}: {done.decision} (its author is told)")
