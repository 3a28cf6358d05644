"""``parley safeguarding list [--json] [--all]`` and ``ack ID``: the "needs attention"
queue for teams without the dashboard.

``list`` shows the safeguarding items still open (``--all``: every inbox item, HELP and
messages outside a flow included). It shows the person's words: it is for the team,
run on the team's machine. ``ack`` records who acknowledged (``--by``, default the
login name) and stops the escalation; it is written to the audit log.
"""

from __future__ import annotations

import getpass
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from bot.clock import SystemClock
from bot.safeguarding.desk import Desk
from bot.store.attention import AttentionItem
from bot.text_hygiene import for_terminal

safeguarding_app = typer.Typer(help="Flagged messages: list them, acknowledge them.",
                               no_args_is_help=True)
ConfigOpt = Annotated[Path | None, typer.Option("--config", help="config.toml to use")]


def _row(item: AttentionItem) -> dict[str, Any]:
    def iso(value: object) -> object:
        return value.isoformat() if hasattr(value, "isoformat") else value

    return {"id": item.id, "kind": item.kind, "participant": item.participant_id,
            "channel": item.channel, "text": item.text, "at": iso(item.created_at),
            "status": item.status, "acknowledged_by": item.acked_by,
            "acknowledged_at": iso(item.acked_at), "escalate_at": iso(item.escalate_at),
            "escalated_at": iso(item.escalated_at)}


@safeguarding_app.command("list")
def list_(
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object per line")] = False,
    every: Annotated[bool, typer.Option("--all", help="every inbox item, any status")] = False,
    config: ConfigOpt = None,
) -> None:
    """Safeguarding items not yet acknowledged (newest first)."""
    from bot.cli_common import config_or_exit, out, run
    from bot.cli_participants import opened

    cfg = config_or_exit(config)

    async def go() -> list[AttentionItem]:
        async with opened(cfg) as store:
            if every:
                return await store.attention_list()
            return [i for i in await store.attention_list(status="open")
                    if i.kind == "distress"]

    items = run(go())
    if as_json:
        for item in items:
            print(json.dumps(_row(item), ensure_ascii=False))
        return
    if not items:
        out.print("Nothing needs attention." if not every else "The inbox is empty.")
        return
    table = Table(title="Needs attention")
    for col in ("id", "kind", "participant", "when (UTC)", "status", "words"):
        table.add_column(col)
    for i in items:
        table.add_row(str(i.id), i.kind, i.participant_id,
                      i.created_at.strftime("%Y-%m-%d %H:%M"),
                      i.status + (f" by {i.acked_by}" if i.acked_by else ""),
                      for_terminal(i.text[:80]))  # their words: no control characters
    out.print(table)


@safeguarding_app.command("ack")
def ack(
    item_id: Annotated[int, typer.Argument(help="the item's number (from list)")],
    by: Annotated[str, typer.Option("--by", help="who is acknowledging (default: your "
                                    "login name)")] = "",
    config: ConfigOpt = None,
) -> None:
    """Acknowledge an item: someone is dealing with it (stops its escalation)."""
    from bot.cli_common import config_or_exit, out, run
    from bot.cli_participants import opened

    cfg = config_or_exit(config)
    actor = by.strip() or getpass.getuser()

    async def go() -> AttentionItem:
        async with opened(cfg) as store:
            desk = Desk(store=store, config=cfg, clock=SystemClock())
            return await desk.ack(item_id, actor, via="cli")

    item = run(go())
    assert item.acked_at is not None
    who = "you" if item.acked_by == actor else item.acked_by
    out.print(f"#{item.id} acknowledged by {escape(str(who))} at "
              f"{item.acked_at.strftime('%Y-%m-%d %H:%M')} UTC")
