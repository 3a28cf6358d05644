"""``parley coordinators …``: dashboard logins (chat-side coordinators are in config)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from bot.clock import SystemClock
from bot.config import Config
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
    from bot.cli_common import config_or_exit, fail, out, run
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
    from bot.cli_common import config_or_exit, out, run
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


async def _change(cfg: Config, email: str, action: str) -> bool:
    """Disable, enable or remove a login, log it out everywhere, and audit it; False
    when there is no such login."""
    from bot.cli_participants import opened
    from bot.web.dashboard.auth import normalise_email

    address = normalise_email(email)
    async with opened(cfg) as store:
        now = SystemClock().now()
        found = await store.get_coordinator(address)
        if found is None:
            return False
        if action == "remove":
            await store.delete_coordinator(address)
        else:
            found.disabled = action == "disable"
            await store.save_coordinator(found)
            await store.delete_dashboard_sessions_of(address)
        await store.audit_add(AuditEntry(at=now, actor="cli", action=f"coordinator.{action}",
                                         subject=address, detail={"via": "cli"}))
        return True


def _run_change(email: str, action: str, done: str, config: Path | None) -> None:
    from bot.cli_common import config_or_exit, fail, out, run

    cfg = config_or_exit(config)
    try:
        changed = run(_change(cfg, email, action))
    except ValueError as exc:
        fail(str(exc))
        return
    if not changed:
        fail(f"no dashboard login for {email} (see: parley coordinators list)")
    out.print(f"{escape(email.strip().lower())} {done}")


@coordinators_app.command("disable")
def disable(email: Annotated[str, typer.Argument(help="the coordinator's email")],
            config: ConfigOpt = None) -> None:
    """Stop a login working (logged out everywhere now); `enable` undoes it."""
    _run_change(email, "disable", "disabled and logged out everywhere", config)


@coordinators_app.command("enable")
def enable(email: Annotated[str, typer.Argument(help="the coordinator's email")],
           config: ConfigOpt = None) -> None:
    """Let a disabled login work again (with its old password)."""
    _run_change(email, "enable", "enabled", config)


@coordinators_app.command("remove")
def remove(email: Annotated[str, typer.Argument(help="the coordinator's email")],
           config: ConfigOpt = None) -> None:
    """Delete a login for good (their past actions stay in the audit log)."""
    _run_change(email, "remove", "removed (their actions stay in the audit log)", config)
