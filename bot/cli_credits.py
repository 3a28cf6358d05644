"""``parley credits …``: balances, adjustments and payout batches."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from bot.cli_rounds import ActorOpt, ConfigOpt, actor_of, opened
from bot.credits.ledger import adjust, balances, credits_text, money_text
from bot.credits.payouts import export, mark_paid
from bot.participant_ids import resolve
from bot.text_hygiene import for_terminal

credits_app = typer.Typer(help="What people earned, and paying it in batches.",
                          no_args_is_help=True)


@credits_app.command("balance")
def balance(participant_id: Annotated[str | None, typer.Argument(help="one person")] = None,
            as_json: Annotated[bool, typer.Option("--json", help="JSON lines")] = False,
            config: ConfigOpt = None) -> None:
    """Earned, exported, paid and owed, per person (or one)."""
    from bot.cli_common import config_or_exit, fail, out, run

    cfg = config_or_exit(config)

    async def go() -> tuple[list[Any], dict[str, str]]:
        nonlocal participant_id
        async with opened(cfg) as (runtime, _):
            if participant_id is not None:
                participant_id = await resolve(runtime.store, participant_id)
            rows = await balances(runtime.store)
            names = {p.id: p.name or str(p.profile.get("preferred_name") or "")
                     for p in await runtime.store.list_participants()}
            if participant_id is not None and participant_id not in names \
                    and participant_id not in rows:
                fail(f"no participant '{participant_id}'")
            return ([rows[participant_id]] if participant_id in rows else []) \
                if participant_id else list(rows.values()), names

    rows, names = run(go())
    if as_json:
        for b in rows:
            sys.stdout.write(json.dumps({
                "participant_id": b.participant_id, "earned": credits_text(b.earned),
                "exported": credits_text(b.exported), "paid": credits_text(b.paid),
                "owed": credits_text(b.owed), "completions": b.completions,
                "unpaid_participation": credits_text(b.unpaid_participation)}) + "\n")
        return
    table = Table(title=f"Credits ({cfg.credits.unit}, {cfg.credits.value_per_credit} a credit)")
    for col in ("participant", "name", "completions", "earned", "exported", "paid", "owed",
                "owed value", "declined payment"):
        table.add_column(col)
    for b in rows:
        table.add_row(b.participant_id, for_terminal(names.get(b.participant_id, "") or "—"),
                      str(b.completions), credits_text(b.earned), credits_text(b.exported),
                      credits_text(b.paid), credits_text(b.owed), money_text(b.owed, cfg),
                      credits_text(b.unpaid_participation) if b.unpaid_participation else "—")
    out.print(table)
    if not rows:
        out.print("No credits recorded yet.")


@credits_app.command("adjust")
def adjust_cmd(participant_id: Annotated[str, typer.Argument(help="participant id")],
               amount: Annotated[str, typer.Argument(help="credits, e.g. 5 or -2.5")],
               note: Annotated[str, typer.Option(help="why (kept in the ledger)")] = "",
               actor: ActorOpt = None, config: ConfigOpt = None) -> None:
    """Add (or, negative, take off) credits by hand, with a note and your name."""
    from bot.cli_common import config_or_exit, out, run

    cfg = config_or_exit(config)
    who = actor_of(actor)

    async def go() -> Any:
        nonlocal participant_id
        async with opened(cfg) as (runtime, service):
            participant_id = await resolve(runtime.store, participant_id)
            entry = await adjust(runtime.store, participant_id, amount, note, who,
                                 runtime.clock.now())
            await service.audit(who, "credits.adjust", participant_id,
                                {"amount": credits_text(entry.amount), "note": entry.note})
            return entry

    entry = run(go())
    out.print(f"Recorded {credits_text(entry.amount)} for {participant_id} by {who}"
              + ("" if entry.payable else " (they declined payment: not payable)") + ".")


@credits_app.command("export")
def export_cmd(period: Annotated[str, typer.Option(help="month, e.g. 2026-03")],
               out_file: Annotated[Path | None, typer.Option("--out", help="CSV to write "
                                                             "(default payout-PERIOD.csv)")
                                   ] = None,
               actor: ActorOpt = None, config: ConfigOpt = None) -> None:
    """Write a payout CSV of everything unpaid up to the end of PERIOD and mark it
    exported (a second export pays nothing new); also a participation CSV."""
    from bot.cli_common import config_or_exit, out, run

    cfg = config_or_exit(config)
    target = out_file or Path(f"payout-{period}.csv")
    if out_file is None and target.exists():
        n = 2
        while Path(f"payout-{period}-{n}.csv").exists():
            n += 1
        target = Path(f"payout-{period}-{n}.csv")

    async def go() -> Any:
        async with opened(cfg) as (runtime, _):
            return await export(runtime.store, cfg, period, target, actor=actor_of(actor),
                                now=runtime.clock.now())

    result = run(go())
    if result.batch is None:
        out.print(f"Nothing new to pay up to the end of {period}. Participation record: "
                  f"{result.participation_file}")
        return
    b = result.batch
    out.print(f"Batch {b.id}: {b.rows} people, {credits_text(b.total)} credits "
              f"({cfg.credits.unit}{money_text(b.total, cfg)}) written to {b.file}; "
              f"participation record in {result.participation_file}."
              + (f" {result.carried_over} people with a zero or negative total carried over."
                 if result.carried_over else "")
              + f" When paid: parley credits mark-paid {b.id}")
    sys.stdout.write(f"{b.id}\n")


@credits_app.command("mark-paid")
def mark_paid_cmd(batch_id: Annotated[str, typer.Argument(help="batch id")],
                  actor: ActorOpt = None, config: ConfigOpt = None) -> None:
    """Record that a batch has been paid."""
    from bot.cli_common import config_or_exit, out, run

    cfg = config_or_exit(config)

    async def go() -> Any:
        async with opened(cfg) as (runtime, _):
            return await mark_paid(runtime.store, batch_id, actor=actor_of(actor),
                                   now=runtime.clock.now())

    batch = run(go())
    out.print(f"Batch {batch.id} marked paid by {batch.paid_by}.")


@credits_app.command("batches")
def batches_cmd(config: ConfigOpt = None) -> None:
    """Every payout batch."""
    from bot.cli_common import config_or_exit, out, run

    cfg = config_or_exit(config)

    async def go() -> list[Any]:
        async with opened(cfg) as (runtime, _):
            return await runtime.store.payout_batches()

    table = Table(title="Payout batches")
    for col in ("batch", "period", "people", "credits", "status", "file", "by"):
        table.add_column(col)
    for b in run(go()):
        table.add_row(b.id, b.period, str(b.rows), credits_text(b.total), b.status, b.file,
                      b.paid_by or b.actor)
    out.print(table)
