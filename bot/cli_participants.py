"""``parley participants …``: import, add, list, export, erase and invite people."""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from bot.cli_init import require_project
from bot.clock import SystemClock
from bot.config import Config
from bot.csv_safe import write_csv_file
from bot.errors import StoreError
from bot.ids import RandomIds
from bot.participant_ids import resolve
from bot.people import (
    PersonSpec,
    build_people,
    invite_link,
    mask_phone,
    new_invites,
    read_csv,
)
from bot.privacy import export_participant
from bot.private_files import write_private_text
from bot.store import open_store
from bot.store.base import Store
from bot.store.records import Invite
from bot.store.round_records import AuditEntry
from bot.text_hygiene import for_terminal

participants_app = typer.Typer(help="Enrol and look after participants.",
                               no_args_is_help=True)
ConfigOpt = Annotated[Path | None, typer.Option("--config", help="config.toml to use")]


@asynccontextmanager
async def opened(config: Config) -> AsyncIterator[Store]:
    require_project(config)
    store = open_store(config.store.url)
    await store.open()
    try:
        yield store
    finally:
        await store.close()


@participants_app.command("import")
def import_csv(
    file: Annotated[Path, typer.Argument(help="CSV with columns name,phone,telegram_id,whatsapp,"
                                         "locale,timezone,cohort,tags (tags ;-separated)")],
    config: ConfigOpt = None,
) -> None:
    """Import people from a CSV: all rows or none, with file:line for every problem."""
    from bot.cli_common import config_or_exit, fail, out, run

    cfg = config_or_exit(config)
    try:
        text = file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        line = file.read_bytes()[:exc.start].count(b"\n") + 1
        fail(f"{file}:{line}: this file is not UTF-8 text; in your spreadsheet use "
             "'Save as' and choose CSV UTF-8, then import it again")
        return
    except OSError as exc:
        fail(f"{file}: cannot read the file: {exc}")
        return

    async def go() -> int:
        specs = read_csv(text, str(file))
        people = build_people(specs, cfg, RandomIds(), SystemClock().now(), str(file))
        async with opened(cfg) as store:
            await store.import_participants(people)
        return len(people)

    count = run(go())
    out.print(f"Imported {count} participant(s) from {file}.")


@participants_app.command("add")
def add(
    name: Annotated[str, typer.Option(help="name as the team knows them")] = "",
    phone: Annotated[str, typer.Option(help="mobile number (any format)")] = "",
    telegram_id: Annotated[str, typer.Option(help="Telegram chat id")] = "",
    whatsapp: Annotated[str, typer.Option(help="WhatsApp number (any format)")] = "",
    locale: Annotated[str, typer.Option(help="language, e.g. en or cy")] = "",
    timezone: Annotated[str, typer.Option(help="e.g. Europe/London")] = "",
    cohort: Annotated[str, typer.Option(help="cohort name")] = "",
    tags: Annotated[str, typer.Option(help="tags, ;-separated")] = "",
    config: ConfigOpt = None,
) -> None:
    """Add one person; prints their id on the last line."""
    from bot.cli_common import config_or_exit, run

    cfg = config_or_exit(config)
    spec = PersonSpec(name=name, phone=phone, telegram_id=telegram_id, whatsapp=whatsapp,
                      locale=locale,
                      timezone=timezone, cohort=cohort,
                      tags=[t.strip() for t in tags.split(";") if t.strip()])

    async def go() -> str:
        people = build_people([(1, spec)], cfg, RandomIds(), SystemClock().now(), "--add")
        async with opened(cfg) as store:
            await store.import_participants(people)
        return people[0][0].id

    pid = run(go())
    sys.stdout.write(f"{pid}\n")


@participants_app.command("list")
def list_people(
    cohort: Annotated[str | None, typer.Option(help="only this cohort")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines")] = False,
    show_phones: Annotated[bool, typer.Option(help="show full phone numbers")] = False,
    config: ConfigOpt = None,
) -> None:
    """Everyone enrolled (phone numbers masked unless --show-phones)."""
    from bot.cli_common import config_or_exit, out, run

    cfg = config_or_exit(config)

    async def go() -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        async with opened(cfg) as store:
            for p in await store.list_participants():
                if cohort is not None and p.cohort != cohort:
                    continue
                addresses = await store.addresses_of(p.id)
                rows.append({
                    "id": p.id, "name": p.name, "status": p.status, "cohort": p.cohort,
                    "tags": list(p.tags), "locale": p.locale,
                    "addresses": [a.address if show_phones else mask_phone(a.address)
                                  for a in addresses],
                    "opted_out": [a.channel for a in addresses if a.opted_out],
                    "unreachable": [a.channel for a in addresses if a.unreachable],
                })
        return rows

    rows = run(go())
    if as_json:
        for row in rows:
            sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")
        return
    table = Table(title=f"Participants ({len(rows)})")
    for col in ("id", "name", "status", "cohort", "tags", "addresses", "opted out"):
        table.add_column(col)
    for row in rows:
        table.add_row(str(row["id"]), for_terminal(row["name"] or "—"), str(row["status"]),
                      for_terminal(row["cohort"] or "—"), for_terminal(";".join(row["tags"])),
                      ", ".join(row["addresses"]),
                      ", ".join(row["opted_out"]) or "—")
    out.print(table)


@participants_app.command("export")
def export(
    participant_id: Annotated[str, typer.Argument(help="participant id")],
    out_file: Annotated[Path | None, typer.Option("--out", help="write JSON here")] = None,
    config: ConfigOpt = None,
) -> None:
    """Everything held about one person, as JSON (their right to see their data)."""
    from bot.cli_common import config_or_exit, fail, run

    cfg = config_or_exit(config)

    async def go() -> dict[str, object]:
        async with opened(cfg) as store:
            return await export_participant(store, await resolve(store, participant_id))

    try:
        data = run(go())
    except KeyError:
        fail(f"no participant '{participant_id}'")
        return
    text = json.dumps(data, ensure_ascii=False, indent=2)
    if out_file is None:
        sys.stdout.write(text + "\n")
    else:
        write_private_text(out_file, text + "\n")  # 0600: it is someone's whole record


@participants_app.command("erase")
def erase(
    participant_id: Annotated[str, typer.Argument(help="participant id")],
    yes: Annotated[bool, typer.Option("--yes", help="do not ask for confirmation")] = False,
    config: ConfigOpt = None,
) -> None:
    """Erase a person's data (keeps an anonymised row so totals stay consistent)."""
    from bot.cli_common import config_or_exit, fail, out, run

    cfg = config_or_exit(config)
    if not yes and not typer.confirm(f"Erase everything held about {participant_id}?"):
        raise typer.Exit(1)

    async def go() -> str:
        async with opened(cfg) as store:
            pid = await resolve(store, participant_id)
            p = await store.get_participant(pid)
            if p is None or p.status == "erased":
                return ""
            from bot.cli_rounds import actor_of

            now = SystemClock().now()
            await store.erase_participant(pid, now)
            await store.audit_add(AuditEntry(now, actor_of(None), "participant.erase",
                                             pid, {"via": "cli"}))
            return pid

    erased = run(go())
    if not erased:
        fail(f"no participant '{participant_id}' (or already erased)")
    out.print(f"Erased {erased}.")


async def _personal_invites(store: Store, cohort: str, now: datetime) -> list[Invite]:
    """One personal link for each imported person of the cohort without Telegram."""
    invites: list[Invite] = []
    for p in await store.list_participants():
        if p.cohort != cohort:
            continue
        if any(a.channel == "telegram" for a in await store.addresses_of(p.id)):
            continue
        invites += new_invites(1, now, cohort=cohort, participant_id=p.id)
    return invites


@participants_app.command("invite")
def invite(
    cohort: Annotated[str, typer.Option(help="cohort the invited people join")],
    count: Annotated[int, typer.Option(help="open links for new people in the cohort "
                                       "(default: one personal link per imported person "
                                       "of the cohort without Telegram)", min=0)] = 0,
    csv_out: Annotated[Path | None, typer.Option("--csv", help="also write id,link CSV")] = None,
    config: ConfigOpt = None,
) -> None:
    """Print Telegram invite links (https://t.me/<bot>?start=<code>)."""
    from bot.cli_common import config_or_exit, fail, out, run

    cfg = config_or_exit(config)

    async def go() -> tuple[list[tuple[str, str]], str | None]:
        now = SystemClock().now()
        async with opened(cfg) as store:
            username = await store.get_meta("telegram_username")
            if count:
                invites = new_invites(count, now, cohort=cohort)
                labelled = [("(new person)", i.code) for i in invites]
            else:
                invites = await _personal_invites(store, cohort, now)
                labelled = [(i.participant_id or "", i.code) for i in invites]
            await store.create_invites(invites)
            return [(who, invite_link(username, code)) for who, code in labelled], username

    try:
        links, username = run(go())
    except StoreError as exc:
        fail(str(exc))
        return
    if not links:
        fail(f"nobody in cohort '{cohort}' needs a link; use --count N for open links")
    for who, link in links:
        sys.stdout.write(f"{who}\t{link}\n")
    if csv_out is not None:
        write_csv_file(csv_out, ["participant", "link"], links)
    if username is None:
        out.print("[yellow]note:[/] the Telegram bot's name is learnt when `parley serve` "
                  "first connects; links show the bare codes until then.", markup=True)

