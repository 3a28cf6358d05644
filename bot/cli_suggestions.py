"""``parley suggestions …``: moderate what participants suggested (agenda-setting).

Each decision is told to its suggester in their language; accepted suggestions become
the options of a vote: ``parley rounds create --flow vote --from-suggestions all``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from bot.agenda.suggestions import Suggestion, Suggestions, decided_counts
from bot.agenda.vote_result import vote_result_vars
from bot.cli_rounds import ActorOpt, ConfigOpt, actor_of, opened
from bot.runtime import Runtime
from bot.text_hygiene import for_terminal

suggestions_app = typer.Typer(help="Participants' suggestions: list, accept, merge, reject.",
                              no_args_is_help=True)


def _row(s: Suggestion) -> dict[str, Any]:
    d = s.decision
    return {"id": s.code, "status": s.status, "text": s.text, "label": s.label,
            "locale": s.locale, "at": s.at.isoformat(),
            "merged_into": f"S{d.merged_into}" if d and d.merged_into else None,
            "reason": d.reason if d else None, "round": d.round_id if d else None}


def _decide(config: Any, actor: str | None, ids: list[str],
            act: Callable[[Suggestions, Runtime, str, str], Awaitable[Suggestion]]) -> None:
    """Open the project, carry out the decision for each id (all checked first, so a
    typo changes nothing), audit them and print the outcomes."""
    from bot.cli_common import config_or_exit, out, run

    cfg = config_or_exit(config)
    who = actor_of(actor)

    async def go() -> list[Suggestion]:
        async with opened(cfg) as (runtime, service):
            book = Suggestions(runtime.store, runtime.renderer, cfg)
            for code in ids:
                await book.get(code)
            done = []
            for code in ids:
                found = await book.get((await act(book, runtime, who, code)).code)
                await service.audit(who, f"suggestion.{found.status}", found.code,
                                    _row(found) | {"text": None})
                done.append(found)
            return done

    for found in run(go()):
        out.print(f"{found.code} {found.status}: {for_terminal(found.label)} "
                  "(the suggester is told)")


@suggestions_app.command("list")
def list_cmd(
    status: Annotated[str | None, typer.Option(help="pending, accepted, merged or "
                                               "rejected")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON array")] = False,
    config: ConfigOpt = None,
) -> None:
    """Suggestions with their status (pending first)."""
    from bot.cli_common import config_or_exit, out, run

    cfg = config_or_exit(config)

    async def go() -> list[Suggestion]:
        async with opened(cfg) as (runtime, _):
            return await Suggestions(runtime.store, runtime.renderer, cfg).all()

    found = run(go())
    if status:
        found = [s for s in found if s.status == status]
    found.sort(key=lambda s: (s.status != "pending", s.id))
    if as_json:
        sys.stdout.write(json.dumps([_row(s) for s in found], ensure_ascii=False) + "\n")
        return
    table = Table(title="Suggestions " + " · ".join(f"{k} {v}" for k, v in
                                                    decided_counts(found).items()))
    for column in ("id", "status", "text", "note"):
        table.add_column(column)
    for s in found:
        row = _row(s)
        note = row["merged_into"] or row["reason"] or (f"round {row['round']}"
                                                       if row["round"] else "")
        table.add_row(s.code, s.status, for_terminal(s.text), for_terminal(note or ""))
    out.print(table)


@suggestions_app.command("accept")
def accept_cmd(
    ids: Annotated[list[str], typer.Argument(help="e.g. S12 (several allowed)")],
    label: Annotated[str | None, typer.Option(help="the option text a vote shows "
                                              "(default: the suggestion as written)")] = None,
    actor: ActorOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Take suggestions up: each becomes an option of the next vote."""
    _decide(config, actor, ids, lambda book, rt, who, code: book.accept(
        code, rt.clock.now(), label=label, by=who))


@suggestions_app.command("merge")
def merge_cmd(
    ids: Annotated[list[str], typer.Argument(help="the suggestions to fold in, e.g. S14")],
    into: Annotated[str, typer.Option("--into", help="the suggestion they join, e.g. S12")],
    actor: ActorOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Fold suggestions into a similar one (which is taken up if still pending)."""
    _decide(config, actor, ids, lambda book, rt, who, code: book.merge(
        code, into, rt.clock.now(), by=who))


@suggestions_app.command("reject")
def reject_cmd(
    ids: Annotated[list[str], typer.Argument(help="e.g. S15 (several allowed)")],
    reason: Annotated[str, typer.Option(help="why not, in plain words: the suggester "
                                        "reads it")],
    actor: ActorOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Not this time; each suggester is told why."""
    _decide(config, actor, ids, lambda book, rt, who, code: book.reject(
        code, reason, rt.clock.now(), by=who))


@suggestions_app.command("share")
def share_cmd(
    round_id: Annotated[str, typer.Argument(metavar="ROUND", help="the vote round")],
    audience: Annotated[str, typer.Option(help="all, cohort:NAME, tag:T or ids:FILE.csv")]
    = "all",
    actor: ActorOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Draft a round telling everyone what the vote decided; prints its id."""
    from bot.cli_common import config_or_exit, out, run

    cfg = config_or_exit(config)

    async def go() -> str:
        async with opened(cfg) as (runtime, service):
            variables = await vote_result_vars(runtime.store, runtime.library, round_id)
            item = await service.build(flow="vote_result", audience=audience,
                                       actor=actor_of(actor), base=Path.cwd(),
                                       label="shareback", extra_vars=variables)
            await service.create(item, actor_of(actor))
            return item.id

    shared = run(go())
    out.print(f"Draft share-back round {shared}. Start it with: parley rounds start {shared}")
    sys.stdout.write(f"{shared}\n")
