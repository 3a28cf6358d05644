"""``parley events …``: workshops with invitations, RSVPs, a waiting list and attendance
by code word."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from bot.cli_rounds import ActorOpt, ConfigOpt, actor_of, opened
from bot.credits.ledger import credits_text
from bot.events.rsvp import when_text
from bot.events.service import EventService
from bot.timebank.hours import hours_text

events_app = typer.Typer(help="Events: invitations, RSVPs, waiting list, attendance.",
                         no_args_is_help=True)


@events_app.command("create")
def create(title: Annotated[str, typer.Option(help="e.g. 'Working group: housing'")],
           at: Annotated[str, typer.Option(help="start, ISO; no offset = project time zone")],
           place: Annotated[str, typer.Option(help="where, as people should read it")],
           capacity: Annotated[int, typer.Option(help="places; later yeses wait in line")],
           credits: Annotated[str | None, typer.Option(help="credits for attending")] = None,
           hours: Annotated[str | None, typer.Option(help="time-bank hours for attending")
                            ] = None,
           duration: Annotated[str, typer.Option(help="hours it lasts")] = "2",
           code_word: Annotated[str | None, typer.Option(help="attendance word, with a letter "
                                                         "(default: a random one)")] = None,
           actor: ActorOpt = None, config: ConfigOpt = None) -> None:
    """Create an event; prints its id alone on the last line."""
    from bot.cli_common import config_or_exit, out, run

    cfg = config_or_exit(config)

    async def go() -> str:
        async with opened(cfg) as (runtime, rounds):
            event = await EventService(runtime.conversations, rounds).create(
                title=title, at=at, place=place, capacity=capacity, credits=credits,
                hours=hours, duration=duration, code_word=code_word, actor=actor_of(actor),
                now=rounds.clock.now())
            when = when_text(event, cfg.schedule.timezone)
            out.print(f"Event {event.id}: {escape(event.title)}, {when}, "
                      f"{capacity} places. Attendance code word: {event.code_word}. Invite "
                      f"people with: parley events invite {event.id} --audience all")
            return event.id

    out.print(run(go()))


@events_app.command("invite")
def invite(event_id: Annotated[str, typer.Argument(help="event id")],
           audience: Annotated[str, typer.Option(help="all, cohort:NAME, tag:T or "
                                                 "ids:FILE.csv")],
           start: Annotated[str | None, typer.Option(help="when to send (default now)")
                            ] = None,
           dry_run: Annotated[bool, typer.Option("--dry-run", help="who, channel, cost, "
                                                 "burden and gaps; write nothing")] = False,
           actor: ActorOpt = None, config: ConfigOpt = None) -> None:
    """A draft round of invitations; prints the round id alone on the last line."""
    from bot.cli_common import config_or_exit, out, run
    from bot.cli_rounds import _show_preview

    cfg = config_or_exit(config)

    async def go() -> str:
        async with opened(cfg) as (runtime, rounds):
            events = EventService(runtime.conversations, rounds)
            if dry_run:
                item = await events.invitation(event_id, audience, start, actor_of(actor),
                                               Path.cwd())
                _show_preview(cfg, await rounds.preview(item))
                return ""
            item = await events.invite(event_id, audience, start, actor_of(actor),
                                       Path.cwd())
            out.print(f"Draft round {item.id} invites '{item.audience}' to {event_id}; "
                      f"start it with: parley rounds start {item.id}")
            return item.id

    found = run(go())
    if found:
        out.print(found)


@events_app.command("list")
def list_events(config: ConfigOpt = None) -> None:
    """Every event with its numbers."""
    from bot.cli_common import config_or_exit, out, run

    cfg = config_or_exit(config)

    async def go() -> list[tuple[str, ...]]:
        async with opened(cfg) as (runtime, rounds):
            rows = await EventService(runtime.conversations, rounds).table()
        gone = {"cancelled": " (cancelled)"}
        return [(n.event.id, escape(n.event.title) + gone.get(n.event.status, ""),
                 when_text(n.event, cfg.schedule.timezone),
                 f"{n.booked}/{n.event.capacity}", str(n.waiting), str(n.maybe),
                 str(n.declined), str(n.attended), n.event.code_word,
                 credits_text(n.event.credits), hours_text(n.event.minutes)) for n in rows]

    table = Table(title="Events")
    for col in ("id", "title", "when", "booked", "waiting", "maybe", "no", "attended",
                "code word", "credits", "hours"):
        table.add_column(col)
    for row in run(go()):
        table.add_row(*row)
    out.print(table)


@events_app.command("cancel")
def cancel(event_id: Annotated[str, typer.Argument(help="event id")],
           reason: Annotated[str, typer.Option(help="why, as people should read it")] = "",
           actor: ActorOpt = None, config: ConfigOpt = None) -> None:
    """Cancel an event: everyone who said yes or maybe, or is waiting, is told."""
    from bot.cli_common import config_or_exit, out, run
    from bot.events.changes import EventChanges

    cfg = config_or_exit(config)

    async def go() -> str:
        async with opened(cfg) as (runtime, rounds):
            done = await EventChanges(runtime.store, runtime.renderer, cfg, rounds).cancel(
                event_id, reason, actor_of(actor), rounds.clock.now())
        also = (f"; invitation round(s) {', '.join(done.rounds_cancelled)} cancelled"
                if done.rounds_cancelled else "")
        return f"Event {event_id} cancelled; {done.told} people will be told{also}."

    out.print(run(go()))


@events_app.command("edit")
def edit(event_id: Annotated[str, typer.Argument(help="event id")],
         at: Annotated[str | None, typer.Option(help="new start, ISO; no offset = project "
                                                "time zone")] = None,
         place: Annotated[str | None, typer.Option(help="new place")] = None,
         capacity: Annotated[int | None, typer.Option(help="new number of places (more "
                                                      "books the waiting list)")] = None,
         actor: ActorOpt = None, config: ConfigOpt = None) -> None:
    """Change an event's time, place or places; people affected are told."""
    from bot.cli_common import config_or_exit, out, run
    from bot.events.changes import EventChanges

    cfg = config_or_exit(config)

    async def go() -> str:
        async with opened(cfg) as (runtime, rounds):
            done = await EventChanges(runtime.store, runtime.renderer, cfg, rounds).edit(
                event_id, actor_of(actor), rounds.clock.now(), at=at, place=place,
                capacity=capacity)
        when = when_text(done.event, cfg.schedule.timezone)
        return (f"Event {event_id}: {when}, {escape(done.event.place)}, "
                f"{done.event.capacity} places; {done.told} told of the change, "
                f"{len(done.promoted)} booked from the waiting list.")

    out.print(run(go()))
