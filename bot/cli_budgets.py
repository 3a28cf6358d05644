"""``parley budgets …``: participatory budgeting.

``create`` stores a budget and its projects; a round votes on it
(``parley rounds create --flow budget --budget ID``); ``results`` counts the votes by
greedy and by the Method of Equal Shares; ``share`` drafts a round telling everyone
what was decided, each in their language.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from rich.table import Table

from bot.budgets.results import results
from bot.budgets.setup import create_budget, money
from bot.cli_rounds import ActorOpt, ConfigOpt, actor_of, opened
from bot.errors import ParleyError
from bot.text_hygiene import for_terminal

budgets_app = typer.Typer(help="Participatory budgets: projects, votes, results.",
                          no_args_is_help=True)
Method = Literal["equal_shares", "greedy"]


@budgets_app.command("create")
def create_cmd(
    title: Annotated[str, typer.Option(help="what the money is for")],
    total: Annotated[int, typer.Option(help="the whole budget, a whole number")],
    currency: Annotated[str, typer.Option(help="e.g. GBP")],
    options: Annotated[Path, typer.Option(help="projects CSV: title,cost,description")],
    actor: ActorOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Store a budget and its projects; prints the budget's id on the last line."""
    from bot.cli_common import config_or_exit, out, run

    cfg = config_or_exit(config)

    async def go() -> Any:
        async with opened(cfg) as (runtime, service):
            budget = await create_budget(runtime.store, title=title, total=total,
                                         currency=currency, options=options,
                                         now=runtime.clock.now())
            await service.audit(actor_of(actor), "budget.create", budget.id,
                                {"title": budget.title, "total": budget.total})
            return budget

    budget = run(go())
    out.print(f"Budget {budget.id}: {for_terminal(budget.title)}, "
              f"{money(budget.total, budget.currency)}, {len(budget.projects)} projects. "
              f"Vote with: parley rounds create --flow budget --budget {budget.id} "
              "--audience all")
    sys.stdout.write(f"{budget.id}\n")


@budgets_app.command("results")
def results_cmd(
    id: Annotated[str, typer.Argument(help="the budget's id, e.g. b1")],
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object")] = False,
    config: ConfigOpt = None,
) -> None:
    """Votes and points per project; winners by greedy and by Equal Shares; cohorts."""
    from bot.cli_common import config_or_exit, out, run

    cfg = config_or_exit(config)

    async def go() -> dict[str, Any]:
        async with opened(cfg) as (runtime, _):
            return await results(runtime.store, id)

    found = run(go())
    if as_json:
        sys.stdout.write(json.dumps(found, ensure_ascii=False) + "\n")
        return
    winners = found["winners"]
    total = money(found["total"], found["currency"])
    table = Table(title=f"{for_terminal(found['title'])}: {total}, {found['voters']} voters")
    for column in ("id", "project", "cost", "votes", "points", "greedy", "equal shares"):
        table.add_column(column)
    for p in found["projects"]:
        table.add_row(p["id"], for_terminal(p["title"]), f"{p['cost']:,}", str(p["votes"]),
                      str(p["points"]), "yes" if p["id"] in winners["greedy"] else "",
                      "yes" if p["id"] in winners["equal_shares"] else "")
    out.print(table)
    for method in ("greedy", "equal_shares"):
        cost = sum(p["cost"] for p in found["projects"] if p["id"] in winners[method])
        out.print(f"{method}: {money(cost, found['currency'])} of "
                  f"{money(found['total'], found['currency'])} spent")


@budgets_app.command("share")
def share_cmd(
    id: Annotated[str, typer.Argument(help="the budget's id")],
    audience: Annotated[str, typer.Option(help="all, cohort:NAME, tag:T or ids:FILE.csv")]
    = "all",
    method: Annotated[str, typer.Option(help="equal_shares or greedy")] = "equal_shares",
    actor: ActorOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Draft a round telling everyone the result; prints its id (then rounds start)."""
    from bot.cli_common import config_or_exit, out, run

    cfg = config_or_exit(config)
    if method not in ("equal_shares", "greedy"):
        raise typer.BadParameter("must be equal_shares or greedy", param_hint="--method")

    async def go() -> str:
        async with opened(cfg) as (runtime, service):
            found = await results(runtime.store, id)
            if not found["voters"]:
                raise ParleyError(f"budget {id} has no votes yet")
            chosen = [p for p in found["projects"] if p["id"] in found["winners"][method]]
            spent = sum(p["cost"] for p in chosen)
            item = await service.build(
                flow="budget_result", audience=audience, actor=actor_of(actor),
                base=Path.cwd(), label="shareback", extra_vars={
                    "title": found["title"], "voters": str(found["voters"]),
                    "winners": "; ".join(p["title"] for p in chosen),
                    "spent": money(spent, found["currency"]),
                    "total": money(found["total"], found["currency"])})
            await service.create(item, actor_of(actor))
            return item.id

    round_id = run(go())
    out.print(f"Draft share-back round {round_id}. Start it with: parley rounds start "
              f"{round_id}")
    sys.stdout.write(f"{round_id}\n")
