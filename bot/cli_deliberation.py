"""``parley statements …`` and ``parley deliberation report``: deliberation rounds.

People vote agree / disagree / pass on a few statements others wrote and write their
own; a coordinator approves statements before anyone sees them; the report finds the
opinion groups, what they share (consensus) and where they part (divisive).
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from bot.cli_rounds import ActorOpt, ConfigOpt, actor_of, opened
from bot.deliberation.report import report
from bot.deliberation.statements import Statement, Statements
from bot.text_hygiene import for_terminal

statements_app = typer.Typer(help="Deliberation statements: list, approve, reject, add.",
                             no_args_is_help=True)
deliberation_app = typer.Typer(help="Deliberation reports.", no_args_is_help=True)


@statements_app.command("list")
def list_cmd(
    as_json: Annotated[bool, typer.Option("--json", help="one JSON array")] = False,
    config: ConfigOpt = None,
) -> None:
    """Every statement, pending first."""
    from bot.cli_common import config_or_exit, out, run

    cfg = config_or_exit(config)

    async def go() -> list[Statement]:
        async with opened(cfg) as (runtime, _):
            return await Statements(runtime.store).all()

    found = sorted(run(go()), key=lambda s: (s.status != "pending", s.id))
    if as_json:
        sys.stdout.write(json.dumps([{"id": s.code, "status": s.status, "text": s.text,
                                      "by_participant": s.author is not None}
                                     for s in found], ensure_ascii=False) + "\n")
        return
    table = Table(title="Statements")
    for column in ("id", "status", "text", "from"):
        table.add_column(column)
    for s in found:
        table.add_row(s.code, s.status, for_terminal(s.text),
                      "participant" if s.author else "coordinator")
    out.print(table)


def _decide(ids: list[str], approve: bool, actor: str | None, config: Path | None,
            reason: str | None = None) -> None:
    from bot.cli_common import config_or_exit, out, run

    cfg = config_or_exit(config)
    who = actor_of(actor)

    async def go() -> list[Statement]:
        async with opened(cfg) as (runtime, service):
            book = Statements(runtime.store)
            for code in ids:  # all checked first: a typo changes nothing
                await book.get(code)
            done = []
            for code in ids:
                found = await book.decide(code, approve, runtime.clock.now(), who, reason)
                await service.audit(who, f"statement.{found.status}", found.code,
                                    {"reason": reason})
                done.append(found)
            return done

    for found in run(go()):
        out.print(f"{found.code} {found.status}: {for_terminal(found.text)}")


@statements_app.command("approve")
def approve_cmd(ids: Annotated[list[str], typer.Argument(help="e.g. T12 (several allowed)")],
                actor: ActorOpt = None, config: ConfigOpt = None) -> None:
    """Approve statements: the next statements rounds put them to people."""
    _decide(ids, True, actor, config)


@statements_app.command("reject")
def reject_cmd(ids: Annotated[list[str], typer.Argument(help="e.g. T13 (several allowed)")],
               reason: Annotated[str | None, typer.Option(help="kept for the record")] = None,
               actor: ActorOpt = None, config: ConfigOpt = None) -> None:
    """Reject statements: nobody is shown them."""
    _decide(ids, False, actor, config, reason)


@statements_app.command("add")
def add_cmd(text: Annotated[str, typer.Argument(help="the statement, one sentence")],
            actor: ActorOpt = None, config: ConfigOpt = None) -> None:
    """A coordinator's own statement to start the conversation (approved at once)."""
    from bot.cli_common import config_or_exit, out, run

    cfg = config_or_exit(config)

    async def go() -> Statement:
        async with opened(cfg) as (runtime, service):
            found = await Statements(runtime.store).add(text, runtime.clock.now(),
                                                        actor_of(actor))
            await service.audit(actor_of(actor), "statement.add", found.code, {})
            return found

    found = run(go())
    out.print(f"{found.code} approved: {for_terminal(found.text)}")
    sys.stdout.write(f"{found.code}\n")


@deliberation_app.command("report")
def report_cmd(
    round_id: Annotated[str, typer.Argument(metavar="ROUND", help="a statements round")],
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object")] = False,
    csv_file: Annotated[Path | None, typer.Option("--csv", help="also write the "
                                                  "statements table to this CSV")] = None,
    config: ConfigOpt = None,
) -> None:
    """Agree / disagree / pass per statement, consensus, divisive, opinion groups."""
    from bot.cli_common import config_or_exit, out, run

    cfg = config_or_exit(config)

    async def go() -> dict[str, Any]:
        async with opened(cfg) as (runtime, _):
            return await report(runtime.store, round_id)

    found = run(go())
    if csv_file is not None:
        with csv_file.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["id", "text", "agree", "disagree", "pass", "consensus",
                             "divisive"])
            for s in found["statements"]:
                writer.writerow([s["id"], s["text"], s["agree"], s["disagree"], s["pass"],
                                 int(s["consensus"]), int(s["divisive"])])
    if as_json:
        sys.stdout.write(json.dumps(found, ensure_ascii=False) + "\n")
        return
    table = Table(title=f"Round {found['round']}: {found['participants']} people")
    for column in ("id", "statement", "agree", "disagree", "pass", ""):
        table.add_column(column)
    for s in found["statements"]:
        mark = "consensus" if s["consensus"] else "divisive" if s["divisive"] else ""
        table.add_row(s["id"], for_terminal(s["text"]), str(s["agree"]), str(s["disagree"]),
                      str(s["pass"]), mark)
    out.print(table)
    for group in found["groups"]:
        cohorts = ", ".join(f"{k} {v}" for k, v in group["by_cohort"].items())
        out.print(f"Opinion group {group['id']}: {group['size']} people ({cohorts})")
