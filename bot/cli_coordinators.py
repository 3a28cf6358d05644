"""``parley coordinators …``: dashboard logins (chat-side coordinators are in config)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from bot.clock import SystemClock
from bot.store.dashboard import Coordinator
from bot.store.round_records import AuditEntry

coordinators_app = typer.Typer(help="Dashboard logins for coordinators.", no_args_is_help=True)
ConfigOpt = Annotated[Path | None, typer.Option("--config", help="config.toml to use")]


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


@coordinators_app.command("add")
def add(
    email: Annotated[str, typer.Argument(help="the coordinator's email (their login)")],
    password_stdin: Annotated[bool, typer.Option(
        "--password-stdin", help="read the password from the first line of stdin "
        "instead of prompting")] = False,
    config: ConfigOpt = None,
) -> None:
    """Create a dashboard login, or set a new password for an existing one (which also
    logs that coordinator out everywhere)."""
    from bot.cli import config_or_exit, fail, out, run
    from bot.cli_participants import opened
    from bot.web.dashboard.auth import check_password_strength, hash_password, normalise_email

    cfg = config_or_exit(config)
    try:
        address = normalise_email(email)
    except ValueError as exc:
        fail(str(exc))
        raise
    password = _read_password(password_stdin)
    try:
        check_password_strength(password)
    except ValueError as exc:
        fail(str(exc))
    hashed = hash_password(password)

    async def go() -> bool:
        async with opened(cfg) as store:
            now = SystemClock().now()
            existing = await store.get_coordinator(address)
            await store.save_coordinator(Coordinator(address, hashed, now))
            if existing is not None:
                await store.delete_dashboard_sessions_of(address)
            await store.audit_add(AuditEntry(
                at=now, actor="cli", action="coordinator.password" if existing
                else "coordinator.add", subject=address, detail={"via": "cli"}))
            return existing is not None

    replaced = run(go())
    verb = "password changed for" if replaced else "dashboard login created for"
    out.print(f"{verb} {escape(address)}; log in at /admin/login")


@coordinators_app.command("list")
def list_(config: ConfigOpt = None) -> None:
    """Dashboard logins and when each last logged in."""
    from bot.cli import config_or_exit, out, run
    from bot.cli_participants import opened

    cfg = config_or_exit(config)

    async def go() -> list[Coordinator]:
        async with opened(cfg) as store:
            return await store.list_coordinators()

    rows = run(go())
    table = Table(title="Dashboard logins")
    for col in ("email", "created", "last login", "status"):
        table.add_column(col)
    for c in rows:
        table.add_row(c.email, c.created_at.strftime("%Y-%m-%d"),
                      c.last_login_at.strftime("%Y-%m-%d %H:%M") if c.last_login_at else "never",
                      "disabled" if c.disabled else "active")
    out.print(table)
