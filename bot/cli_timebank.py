"""``parley timebank …``: offers people can spend hours on, and their SPEND requests."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from bot.cli_rounds import ActorOpt, ConfigOpt, actor_of, opened
from bot.errors import ParleyError
from bot.timebank.hours import hour_balance, hours_text
from bot.timebank.service import TimeBank, adjust_hours

timebank_app = typer.Typer(help="Time bank: hours as a second currency ([credits] "
                           "time_bank = true).", no_args_is_help=True)
offers_app = typer.Typer(help="What hours can be spent on.", no_args_is_help=True)
timebank_app.add_typer(offers_app, name="offers")


@offers_app.command("add")
def offers_add(code: Annotated[str, typer.Option(help="what people reply, e.g. SWIM")],
               title: Annotated[str, typer.Option(help="e.g. 'Swimming session'")],
               hours: Annotated[str, typer.Option(help="hours one use costs, e.g. 2")],
               description: Annotated[str, typer.Option(help="more detail")] = "",
               actor: ActorOpt = None, config: ConfigOpt = None) -> None:
    """List a new offer."""
    from bot.cli_common import config_or_exit, fail, out, run

    cfg = config_or_exit(config)

    async def go() -> str:
        async with opened(cfg) as (runtime, service):
            bank = TimeBank(runtime.store, runtime.renderer, cfg)
            offer = await bank.add_offer(code, title, hours, description, actor_of(actor),
                                         service.clock.now())
            return offer.code

    try:
        added = run(go())
    except ParleyError as exc:
        fail(str(exc))
        return
    out.print(f"Offer {added} added.")


@offers_app.command("list")
def offers_list(all_: Annotated[bool, typer.Option("--all", help="retired too")] = False,
                config: ConfigOpt = None) -> None:
    """The offers, with their cost in hours."""
    from bot.cli_common import config_or_exit, out, run

    cfg = config_or_exit(config)

    async def go() -> list[tuple[str, str, str, str]]:
        async with opened(cfg) as (runtime, _):
            return [(o.code, o.title, hours_text(o.minutes),
                     "retired" if o.retired_at else "active")
                    for o in await runtime.store.offers(include_retired=all_)]

    table = Table(title="Time bank offers")
    for col in ("code", "title", "hours", "status"):
        table.add_column(col)
    for row in run(go()):
        table.add_row(*(escape(c) for c in row))
    out.print(table)


@offers_app.command("retire")
def offers_retire(code: Annotated[str, typer.Argument(help="the offer's code")],
                  actor: ActorOpt = None, config: ConfigOpt = None) -> None:
    """Stop offering it (requests already made can still be decided)."""
    from bot.cli_common import config_or_exit, fail, out, run

    cfg = config_or_exit(config)

    async def go() -> None:
        async with opened(cfg) as (runtime, service):
            await TimeBank(runtime.store, runtime.renderer, cfg).retire(
                code, actor_of(actor), service.clock.now())

    try:
        run(go())
    except ParleyError as exc:
        fail(str(exc))
        return
    out.print(f"Offer {code.upper()} retired.")


@timebank_app.command("requests")
def requests(status: Annotated[str, typer.Option(help="pending, confirmed, declined or all")
                               ] = "pending", config: ConfigOpt = None) -> None:
    """SPEND requests (by default those waiting for a decision)."""
    from bot.cli_common import config_or_exit, fail, out, run

    cfg = config_or_exit(config)
    if status not in ("pending", "confirmed", "declined", "all"):
        fail("--status must be pending, confirmed, declined or all")

    async def go() -> list[tuple[str, ...]]:
        async with opened(cfg) as (runtime, _):
            rows: list[tuple[str, ...]] = []
            for q in await runtime.store.spend_requests(
                    status=None if status == "all" else status):
                held = await hour_balance(runtime.store, q.participant_id)
                rows.append((str(q.id), q.participant_id, q.offer_code, str(q.uses),
                             hours_text(q.minutes), q.status, hours_text(held.available),
                             f"{q.requested_at:%Y-%m-%d %H:%M}"))
            return rows

    table = Table(title=f"Time bank requests ({status})")
    for col in ("id", "participant", "offer", "uses", "hours", "status",
                "hours available", "asked (UTC)"):
        table.add_column(col)
    for row in run(go()):
        table.add_row(*row)
    out.print(table)


def _decide(request_id: int, confirm: bool, reason: str, actor: str | None,
            config: ConfigOpt) -> None:
    from bot.cli_common import config_or_exit, fail, out, run

    cfg = config_or_exit(config)

    async def go() -> str:
        async with opened(cfg) as (runtime, service):
            done = await TimeBank(runtime.store, runtime.renderer, cfg).decide(
                request_id, confirm, actor_of(actor), service.clock.now(), reason)
            return f"Request {request_id} {done.status}: {hours_text(done.minutes)} hours " \
                   f"({done.offer_code}) for {done.participant_id}; they have been told."

    try:
        out.print(run(go()))
    except ParleyError as exc:
        fail(str(exc))


@timebank_app.command("confirm")
def confirm(request_id: Annotated[int, typer.Argument(help="request id")],
            actor: ActorOpt = None, config: ConfigOpt = None) -> None:
    """Confirm a SPEND: the hours are spent and the person is told."""
    _decide(request_id, True, "", actor, config)


@timebank_app.command("decline")
def decline(request_id: Annotated[int, typer.Argument(help="request id")],
            reason: Annotated[str, typer.Option(help="told to the person")],
            actor: ActorOpt = None, config: ConfigOpt = None) -> None:
    """Decline a SPEND: the hours are released and the person is told why."""
    _decide(request_id, False, reason, actor, config)


@timebank_app.command("balance")
def balance(participant_id: Annotated[str | None, typer.Argument(help="one person")] = None,
            config: ConfigOpt = None) -> None:
    """Hours earned, spent, held for pending requests and available, per person."""
    from bot.cli_common import config_or_exit, out, run

    cfg = config_or_exit(config)

    async def go() -> list[tuple[str, ...]]:
        async with opened(cfg) as (runtime, _):
            ids = [participant_id] if participant_id else sorted(
                {e.participant_id for e in await runtime.store.hour_entries()})
            rows: list[tuple[str, ...]] = []
            for pid in ids:
                b = await hour_balance(runtime.store, pid)
                rows.append((pid, hours_text(b.earned), hours_text(b.spent),
                             hours_text(b.held), hours_text(b.available)))
            return rows

    table = Table(title="Time bank hours")
    for col in ("participant", "earned", "spent", "held", "available"):
        table.add_column(col)
    for row in run(go()):
        table.add_row(*row)
    out.print(table)


@timebank_app.command("adjust")
def adjust(participant_id: Annotated[str, typer.Argument(help="participant id")],
           hours: Annotated[str, typer.Argument(help="e.g. 1.5 or -0.5")],
           note: Annotated[str, typer.Option(help="why (kept in the ledger)")],
           actor: ActorOpt = None, config: ConfigOpt = None) -> None:
    """Add or take away hours, with a note (a new ledger row)."""
    from bot.cli_common import config_or_exit, out, run

    cfg = config_or_exit(config)

    async def go() -> None:
        async with opened(cfg) as (runtime, service):
            await adjust_hours(runtime.store, participant_id, hours, note, actor_of(actor),
                               service.clock.now())

    run(go())
    out.print(f"{hours} hours for {participant_id} recorded.")
