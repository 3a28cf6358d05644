"""``parley tokens …``: bearer tokens for the HTTP API (``/api/v1``).

``create`` prints the token once, alone on stdout (so ``TOKEN=$(parley tokens create …)``
works); only its SHA-256 is kept. ``list`` never shows a token. ``revoke`` takes effect
on the next request. All three are in the audit log (``parley audit``).
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from bot.cli_rounds import ActorOpt, actor_of
from bot.clock import SystemClock
from bot.config import Config
from bot.store.api_tokens import SCOPES, ApiStore, ApiToken, Scope, api_store
from bot.store.base import Store
from bot.store.round_records import AuditEntry
from bot.web.api.tokens import hash_token, new_token

tokens_app = typer.Typer(help="Bearer tokens for the HTTP API (/api/v1).",
                         no_args_is_help=True)
ConfigOpt = Annotated[Path | None, typer.Option("--config", help="config.toml to use")]


@asynccontextmanager
async def _opened(cfg: Config) -> AsyncIterator[tuple[Store, ApiStore]]:
    from bot.cli_participants import opened

    async with opened(cfg) as store:
        yield store, api_store(store)


@tokens_app.command("create")
def create(name: Annotated[str, typer.Option(help="who or what uses it, e.g. pipeline")],
           scope: Annotated[str, typer.Option(help="read (masked contact details) or "
                                              "write (also create and start rounds)")],
           actor: ActorOpt = None, config: ConfigOpt = None) -> None:
    """Make a token and print it once (it cannot be shown again)."""
    from bot.cli_common import config_or_exit, err, fail, run

    cfg = config_or_exit(config)
    clean = name.strip()
    if not clean or len(clean) > 100 or clean.isdigit() or not clean.isprintable():
        fail("--name: 1 to 100 printable characters, not only digits (ids are numbers)")
    if scope not in SCOPES:
        fail(f"--scope: '{scope}' is not one of {', '.join(SCOPES)}")
    chosen: Scope = "write" if scope == "write" else "read"
    token = new_token()
    who = actor_of(actor)

    async def go() -> ApiToken:
        async with _opened(cfg) as (store, tokens):
            now = SystemClock().now()
            made = await tokens.api_token_add(ApiToken(clean, chosen, hash_token(token), now,
                                                       created_by=who))
            await store.audit_add(AuditEntry(now, who, "api_token.create", clean,
                                             {"id": made.id, "scope": chosen}))
            return made

    made = run(go())
    err.print(f"API token {made.id} '{escape(clean)}' ({chosen}) created. It is shown "
              "once, below: keep it somewhere safe. Use it as 'Authorization: Bearer "
              "<token>'.")
    sys.stdout.write(token + "\n")


@tokens_app.command("list")
def list_(config: ConfigOpt = None) -> None:
    """Every token: name, scope, created, last used, revoked (never the token)."""
    from bot.cli_common import config_or_exit, out, run

    cfg = config_or_exit(config)

    async def go() -> list[ApiToken]:
        async with _opened(cfg) as (_, tokens):
            return await tokens.api_tokens()

    rows = run(go())
    table = Table(title=f"API tokens ({len(rows)})")
    for col in ("id", "name", "scope", "created", "by", "last used", "revoked"):
        table.add_column(col)
    for t in rows:
        table.add_row(str(t.id), escape(t.name), t.scope, f"{t.created_at:%Y-%m-%d %H:%M}",
                      escape(t.created_by),
                      f"{t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "never",
                      f"{t.revoked_at:%Y-%m-%d %H:%M}" if t.revoked_at else "no")
    out.print(table)


@tokens_app.command("revoke")
def revoke(token: Annotated[str, typer.Argument(help="the token's name or id")],
           actor: ActorOpt = None, config: ConfigOpt = None) -> None:
    """Revoke a token: its next request gets 401."""
    from bot.cli_common import config_or_exit, fail, out, run

    cfg = config_or_exit(config)
    who = actor_of(actor)

    async def go() -> tuple[ApiToken | None, bool]:
        async with _opened(cfg) as (store, tokens):
            now = SystemClock().now()
            found = await tokens.api_token_revoke(token, now)
            fresh = found is not None and found.revoked_at == now
            if found is not None and fresh:
                await store.audit_add(AuditEntry(now, who, "api_token.revoke", found.name,
                                                 {"id": found.id}))
            return found, fresh

    found, fresh = run(go())
    if found is None:
        fail(f"no API token '{token}' (see: parley tokens list)")
        return
    out.print(f"API token {found.id} '{escape(found.name)}' "
              + ("revoked." if fresh else f"was already revoked on {found.revoked_at:%Y-%m-%d}."))
