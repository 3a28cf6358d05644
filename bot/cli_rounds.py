"""``parley rounds …`` and ``parley audit``: create, preview, start and follow rounds.

``rounds create`` makes a draft and prints its id alone on the last line; ``--dry-run``
shows who would get it, on which channel, when in their own day, and the estimated SMS
segments and cost, without writing anything. ``rounds start`` plans it; the scheduler
in ``parley serve`` sends it.
"""

from __future__ import annotations

import getpass
import json
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Group
from rich.markup import escape
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from bot.agenda.round_vars import round_vars
from bot.cli_init import require_project
from bot.config import Config
from bot.rounds.burden_limits import describe
from bot.rounds.checks import will_send
from bot.rounds.service import Preview, RoundService
from bot.rounds.status import COUNTS
from bot.runtime import Runtime, open_runtime
from bot.store.round_records import Round
from bot.text_hygiene import for_terminal
from bot.timing import zone
from bot.wiring import round_service

rounds_app = typer.Typer(help="Send a flow to an audience: check-ins, endorsements, "
                              "baseline and end surveys.", no_args_is_help=True)
audit_app = typer.Typer(help="Coordinators' actions (CLI, Telegram, SMS, dashboard).")
ConfigOpt = Annotated[Path | None, typer.Option("--config", help="config.toml to use")]
ActorOpt = Annotated[str | None, typer.Option("--as", help="who is doing this, for the "
                                              "audit log (default: $PARLEY_ACTOR or cli:$USER)")]


def actor_of(value: str | None) -> str:
    if value:
        return value
    if os.environ.get("PARLEY_ACTOR"):
        return os.environ["PARLEY_ACTOR"]
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


@asynccontextmanager
async def opened(cfg: Config) -> AsyncIterator[tuple[Runtime, RoundService]]:
    require_project(cfg)
    runtime = await open_runtime(cfg)
    try:
        yield runtime, round_service(runtime.conversations)
    finally:
        await runtime.close()


def _local(cfg: Config, when: Any) -> str:
    return f"{when.astimezone(zone(cfg.schedule.timezone)):%a %d %b %Y %H:%M %Z}"


def _show_preview(cfg: Config, preview: Preview) -> None:
    from bot.cli_common import out
    from bot.people import mask_phone

    item = preview.round
    table = Table(title=f"Dry run: {item.flow_id} to {item.audience} — nothing was written")
    for col in ("participant", "name", "channel", "address", "sends at (their time)",
                "status", "SMS segments"):
        table.add_column(col)
    sending = will_send(preview.targets)
    # the people it will be sent to; those who opted out are counted, never listed
    shown = sending[:50]
    for t in shown:
        when = t.send_at
        table.add_row(t.participant_id, escape(preview.names.get(t.participant_id) or "—"),
                      t.channel or "—", mask_phone(t.address) if t.address else "—",
                      f"{when:%d %b %H:%M} UTC", "will be sent",
                      str(t.segments_estimated) if t.channel == "sms" else "—")
    out.print(table)
    if len(sending) > len(shown):
        out.print(f"… and {len(sending) - len(shown)} more.")
    counts = preview.by_channel()
    cost = preview.segments * cfg.sms.segment_price
    first = min((t.send_at for t in sending), default=item.start_at)
    skipped = {s: sum(1 for t in preview.targets if t.status == s)
               for s in ("opted_out", "unreachable")}
    whatsapp = f", {counts['whatsapp']} WhatsApp" if counts["whatsapp"] else ""
    out.print(f"Will be sent to {len(sending)} people: {counts['telegram']} Telegram, "
              f"{counts['sms']} SMS{whatsapp}. Not sent: "
              f"{skipped['opted_out']} opted out, "
              f"{skipped['unreachable']} unreachable. Estimated {preview.segments} "
              f"SMS segments for everyone completing (≈ {cost:.2f} at "
              f"{cfg.sms.segment_price} a segment). First sends from {_local(cfg, first)}.")
    for line in describe(preview.burden, cfg):  # [burden] limits and PAUSE
        out.print(escape(line))
    for line in preview.gaps:  # representativeness
        out.print(escape(f"Warning: {line}"))
    if counts["whatsapp"]:
        _whatsapp_templates(cfg, item)


def _whatsapp_templates(cfg: Config, item: Round) -> None:
    """What would go to WhatsApp people outside their 24-hour window with no template."""
    from bot.channels.whatsapp_coverage import for_round
    from bot.cli_common import out
    from bot.runtime import load_content

    _, library = load_content(cfg)
    flows = {f: library.get(f) for f in (item.flow_id, *cfg.enrolment.pathway)
             if f in library}
    missing = for_round(cfg, flows, item.flow_id, reminders=bool(item.remind_after))
    for m in missing:
        out.print(f"WhatsApp: {escape(str(m))}; without it the message goes by another "
                  "address, or waits until the person writes.")
    if not missing:
        out.print("WhatsApp: every message sent outside the 24-hour window has a template.")


@rounds_app.command("create")
def create(
    flow: Annotated[str, typer.Option(help="flow id, e.g. ons4")],
    audience: Annotated[str, typer.Option(help="all, cohort:NAME, tag:T or ids:FILE.csv")],
    finding: Annotated[str | None, typer.Option(help="finding id for an endorsement")] = None,
    start: Annotated[str | None, typer.Option(help="ISO date-time; no offset = project "
                                              "time zone (default: now)")] = None,
    every: Annotated[str | None, typer.Option(help="repeat, e.g. 14d (keeps the local "
                                              "time across clock changes)")] = None,
    until: Annotated[str | None, typer.Option(help="last repeat starts by then (ISO)")] = None,
    remind_after: Annotated[str | None, typer.Option(help="reminders from each person's "
                                                     "send, e.g. 2d,5d")] = None,
    close_after: Annotated[str | None, typer.Option(help="close this long after each "
                                                    "person's send, e.g. 14d")] = None,
    label: Annotated[str | None, typer.Option(help="e.g. baseline, checkin, end")] = None,
    from_suggestions: Annotated[str | None, typer.Option(
        help="vote on accepted suggestions: all or S1,S2,…")] = None,
    budget: Annotated[str | None, typer.Option(
        help="vote on a budget's projects (flow budget or budget_points)")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="show who, which channel, "
                                          "segments and cost; write nothing")] = False,
    actor: ActorOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Create a draft round (start it with `parley rounds start ID`)."""
    from bot.cli_common import config_or_exit, err, out, run

    cfg = config_or_exit(config)
    who = actor_of(actor)

    async def go() -> str:
        async with opened(cfg) as (runtime, service):
            extra, used = await round_vars(runtime, flow, from_suggestions=from_suggestions,
                                           budget=budget)
            item = await service.build(
                flow=flow, audience=audience, finding=finding, start=start, every=every,
                until=until, remind_after=remind_after, close_after=close_after, label=label,
                actor=who, base=Path.cwd(), extra_vars=extra)
            if dry_run:
                _show_preview(cfg, await service.preview(item))
                return ""
            preview = await service.preview(item)
            if not will_send(preview.targets):  # an empty cohort is usually a typo
                err.print(f"warning: nobody in '{item.audience}' can be sent this round "
                          f"now ({len(preview.targets)} in the audience); it is created "
                          "anyway, and people who join before it starts will get it")
            await service.create(item, who)
            await runtime.store.mark_suggestions_used(used, item.id)
            counts = preview.by_channel()
            past = start is not None and item.start_at < service.clock.now()
            sending = will_send(preview.targets)
            out.print(f"Draft round {item.id}: {item.flow_id} to {len(sending)} "
                      f"people now in '{item.audience}' ({counts['telegram']} Telegram, "
                      f"{counts['sms']} SMS), starting {_local(cfg, item.start_at)}"
                      + (" (already passed: it goes out as soon as it is started)"
                         if past else "")
                      + (f", every {item.every}" if item.every else "")
                      + ". Check it with --dry-run or `parley rounds test-send`, then "
                      f"`parley rounds start {item.id}`.")
            return item.id

    round_id = run(go())
    if round_id:
        sys.stdout.write(f"{round_id}\n")


def _lifecycle(action: str, round_id: str, actor: str | None, config: Path | None) -> None:
    from bot.cli_common import config_or_exit, out, run

    cfg = config_or_exit(config)
    who = actor_of(actor)

    async def go() -> str:
        async with opened(cfg) as (_, service):
            if action == "start":
                with out.status(f"Planning round {round_id}…"):
                    item, count = await service.start(round_id, who)
                status = await service.status(round_id)
                by = status["by_channel"]
                return (f"Round {round_id} started: {count} people planned "
                        f"({by['telegram']['targeted']} Telegram, {by['sms']['targeted']} "
                        f"SMS, {status['opted_out']} opted out, {status['unreachable']} "
                        f"unreachable). First sends from {_local(cfg, item.start_at)} in "
                        "each person's own day; `parley serve` sends them.")
            if action == "pause":
                changed = await service.pause(round_id, who)
                return f"Paused {', '.join(r.id for r in changed)}."
            if action == "resume":
                changed = await service.resume(round_id, who)
                return f"Resumed {', '.join(r.id for r in changed)}."
            count = await service.cancel(round_id, who)
            return f"Cancelled round {round_id} ({count} people will not be messaged)."

    out.print(run(go()))


@rounds_app.command("start")
def start_round(round_id: Annotated[str, typer.Argument(help="round id")],
                actor: ActorOpt = None, config: ConfigOpt = None) -> None:
    """Plan a draft round (one row per person, at a time in their own day)."""
    _lifecycle("start", round_id, actor, config)


@rounds_app.command("pause")
def pause_round(round_id: Annotated[str, typer.Argument(help="round id")],
                actor: ActorOpt = None, config: ConfigOpt = None) -> None:
    """Stop sending (a repeating round: the whole series)."""
    _lifecycle("pause", round_id, actor, config)


@rounds_app.command("resume")
def resume_round(round_id: Annotated[str, typer.Argument(help="round id")],
                 actor: ActorOpt = None, config: ConfigOpt = None) -> None:
    """Carry on sending (missed reminders: at most one, never at night)."""
    _lifecycle("resume", round_id, actor, config)


@rounds_app.command("cancel")
def cancel_round(round_id: Annotated[str, typer.Argument(help="round id")],
                 actor: ActorOpt = None, config: ConfigOpt = None) -> None:
    """Cancel: nobody else is messaged; answers already given are kept."""
    _lifecycle("cancel", round_id, actor, config)


@rounds_app.command("test-send")
def test_send(round_id: Annotated[str, typer.Argument(help="round id")],
              actor: ActorOpt = None, config: ConfigOpt = None) -> None:
    """Send the round's first messages, marked TEST, to the [coordinators] phones."""
    from bot.cli_common import config_or_exit, out, run

    cfg = config_or_exit(config)

    async def go() -> list[str]:
        async with opened(cfg) as (_, service):
            return await service.test_send(round_id, actor_of(actor))

    sent = run(go())
    out.print(f"Test messages queued for {', '.join(sent)} (`parley serve` delivers them).")


@rounds_app.command("list")
def list_rounds(as_json: Annotated[bool, typer.Option("--json", help="JSON lines")] = False,
                config: ConfigOpt = None) -> None:
    """Every round and its progress."""
    from bot.cli_common import config_or_exit, out, run

    cfg = config_or_exit(config)

    async def go() -> list[tuple[Any, dict[str, Any]]]:
        async with opened(cfg) as (runtime, service):
            return [(r, await service.status(r.id)) for r in await runtime.store.rounds_all()]

    rows = run(go())
    if as_json:
        for item, status in rows:
            sys.stdout.write(json.dumps({**status, "status": item.status,
                                         "start_at": item.start_at.isoformat(),
                                         "every": item.every}) + "\n")
        return
    table = Table(title=f"Rounds ({len(rows)})")
    for col in ("id", "flow", "label", "audience", "status", "starts", "targeted",
                "sent", "completed", "progress"):
        table.add_column(col)
    for item, status in rows:
        table.add_row(item.id, item.flow_id, item.label or "—", item.audience, item.status,
                      _local(cfg, item.start_at) + (f" (every {item.every})" if item.every
                                                   else ""),
                      str(status["targeted"]), str(status["sent"]), str(status["completed"]),
                      _bar(status["completed"], status["targeted"]))
    out.print(table)


def _bar(done: int, total: int) -> Group:
    return Group(ProgressBar(total=max(total, 1), completed=done, width=20),
                 Text(f"{(100 * done // total) if total else 0}%", style="dim"))


@rounds_app.command("status")
def status_round(round_id: Annotated[str, typer.Argument(help="round id")],
                 as_json: Annotated[bool, typer.Option("--json", help="the contract's "
                                                       "JSON object")] = False,
                 config: ConfigOpt = None) -> None:
    """One round's progress (--json: exactly the documented shape)."""
    from bot.cli_common import config_or_exit, out, run

    cfg = config_or_exit(config)

    async def go() -> tuple[Any, dict[str, Any]]:
        async with opened(cfg) as (_, service):
            return await service.get(round_id), await service.status(round_id)

    item, status = run(go())
    if as_json:
        sys.stdout.write(json.dumps(status) + "\n")
        return
    table = Table(title=f"Round {item.id}: {item.flow_id}"
                  + (f" ({item.label})" if item.label else "") + f" — {item.status}")
    table.add_column("")
    for channel in ("all", "telegram", "sms"):
        table.add_column(channel)
    table.add_column("of targeted")
    for key in COUNTS:
        row = [status[key], status["by_channel"]["telegram"][key],
               status["by_channel"]["sms"][key]]
        bar: Any = "" if key.startswith("segments") or key == "targeted" else _bar(
            status[key], status["targeted"])
        table.add_row(key.replace("_", " "), *(str(v) for v in row), bar)
    out.print(table)
    messages = status.get("messages", {})
    out.print("Messages caused (introduction and consent included): "
              + ", ".join(f"{value} {key}" for key, value in messages.items()))


@audit_app.callback(invoke_without_command=True)
def audit(limit: Annotated[int, typer.Option(help="how many, newest first")] = 50,
          config: ConfigOpt = None) -> None:
    """Who did what, when: rounds, credits and coordinator commands."""
    from bot.cli_common import config_or_exit, out, run

    cfg = config_or_exit(config)

    async def go() -> list[Any]:
        async with opened(cfg) as (runtime, _):
            return await runtime.store.audit_log(limit)

    table = Table(title="Audit log")
    for col in ("when", "who", "action", "subject", "detail"):
        table.add_column(col)
    for e in run(go()):
        table.add_row(_local(cfg, e.at), for_terminal(e.actor), e.action,
                      for_terminal(e.subject),
                      for_terminal(json.dumps(e.detail, ensure_ascii=False)[:80]))
    out.print(table)
