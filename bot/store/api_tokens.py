"""API bearer tokens (``parley tokens …``, ``/api/v1``) and the answers' pages the API
reads: a narrow store slice of its own, implemented for ``SqliteStore``.

Only the hex SHA-256 digest of a token is stored (``bot.web.api.tokens`` makes and hashes
them). The slice is not part of ``Store``: a consumer asks for it with ``api_store``,
which says plainly when a store does not keep API tokens (the in-memory store).
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

from bot.errors import StoreError
from bot.store.records import Address, AnswerRow, Participant
from bot.store.sql_runner import SqlRow, SqlRunner
from bot.store.sqlite_codec import (
    _address,
    _answer,
    _participant,
    dt_text,
    opt_dt_text,
    opt_parse_dt,
    parse_dt,
)

Scope = Literal["read", "write"]
SCOPES: tuple[Scope, ...] = ("read", "write")


@dataclass
class ApiToken:
    """One API token as stored: never the token itself, only its digest."""

    name: str
    scope: Scope
    token_hash: str
    created_at: dt.datetime
    created_by: str = ""
    last_used_at: dt.datetime | None = None
    revoked_at: dt.datetime | None = None
    id: int | None = None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None


@runtime_checkable
class ApiStore(Protocol):
    """What the HTTP API and ``parley tokens`` need of a store."""

    async def api_token_add(self, token: ApiToken) -> ApiToken:
        """Insert; the token comes back with its id. StoreError when the name is taken."""

    async def api_tokens(self) -> list[ApiToken]:
        """Every token, revoked ones included, oldest first."""

    async def api_token_by_hash(self, token_hash: str) -> ApiToken | None:
        """The token with this digest, revoked or not."""

    async def api_token_used(self, token_id: int, at: dt.datetime) -> None:
        """Record when a token was last used (not durable: losing it in a crash is fine)."""

    async def api_token_revoke(self, name_or_id: str, at: dt.datetime) -> ApiToken | None:
        """Revoke the token with this name (or numeric id); it is returned as it now is.
        None when there is no such token; a token revoked before keeps its first date."""

    async def answers_page(self, *, after_id: int, limit: int, flow_id: str | None = None,
                           round_id: str | None = None) -> list[AnswerRow]:
        """Up to ``limit`` answers with ids above ``after_id``, in id order: a cursor that
        returns every answer exactly once, however many are added between pages."""

    async def participants_page(self, *, after_id: str, limit: int
                                ) -> list[tuple[Participant, list[Address]]]:
        """Up to ``limit`` participants not erased with ids above ``after_id``, in id
        order, each with its addresses (oldest first): two queries a page."""


def api_store(store: object) -> ApiStore:
    """``store`` as an ``ApiStore``; StoreError saying so when it keeps no API tokens."""
    if not isinstance(store, ApiStore):
        raise StoreError(f"{store!r} does not keep API tokens; use a SQLite store "
                         "([store] url = \"sqlite:///parley.db\")")
    return store


def _token(row: SqlRow) -> ApiToken:
    scope: Scope = "write" if row["scope"] == "write" else "read"
    return ApiToken(name=str(row["name"]), scope=scope, token_hash=str(row["token_hash"]),
                    created_at=parse_dt(row["created_at"]), created_by=str(row["created_by"]),
                    last_used_at=opt_parse_dt(row["last_used_at"]),
                    revoked_at=opt_parse_dt(row["revoked_at"]), id=int(row["id"]))


class SqliteApiTokens(SqlRunner):
    """Mixed into SqliteStore."""

    async def api_token_add(self, token: ApiToken) -> ApiToken:
        async with self._write() as db:
            try:
                cursor = await db.execute(
                    "INSERT INTO api_tokens (name, scope, token_hash, created_at, created_by, "
                    "last_used_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (token.name, token.scope, token.token_hash, dt_text(token.created_at),
                     token.created_by, opt_dt_text(token.last_used_at),
                     opt_dt_text(token.revoked_at)))
            except sqlite3.IntegrityError as exc:
                raise StoreError(f"an API token called '{token.name}' already exists "
                                 "(names stay taken after revoking; choose another)") from exc
            token.id = cursor.lastrowid
        return token

    async def api_tokens(self) -> list[ApiToken]:
        return [_token(r) for r in await self._all("SELECT * FROM api_tokens ORDER BY id")]

    async def api_token_by_hash(self, token_hash: str) -> ApiToken | None:
        rows = await self._all("SELECT * FROM api_tokens WHERE token_hash = ?", (token_hash,))
        return _token(rows[0]) if rows else None

    async def api_token_used(self, token_id: int, at: dt.datetime) -> None:
        async with self._write(durable=False) as db:
            await db.execute("UPDATE api_tokens SET last_used_at = ? WHERE id = ?",
                             (dt_text(at), token_id))

    async def api_token_revoke(self, name_or_id: str,
                               at: dt.datetime) -> ApiToken | None:
        async with self._write() as db:  # a name wins over an id that reads the same
            rows = list(await db.execute_fetchall(
                "SELECT *, 0 AS pick FROM api_tokens WHERE name = ? UNION ALL "
                "SELECT *, 1 AS pick FROM api_tokens WHERE id = ? ORDER BY pick",
                (name_or_id, int(name_or_id) if name_or_id.isdigit() else -1)))
            if not rows:
                return None
            found = _token(rows[0])
            if found.revoked_at is None:
                found.revoked_at = at
                await db.execute("UPDATE api_tokens SET revoked_at = ? WHERE id = ?",
                                 (dt_text(at), found.id))
        return found

    async def answers_page(self, *, after_id: int, limit: int,
                           flow_id: str | None = None,
                           round_id: str | None = None) -> list[AnswerRow]:
        sql, params = "SELECT * FROM answers WHERE id > ?", list[object]([after_id])
        for column, value in (("flow_id", flow_id), ("round_id", round_id)):
            if value is not None:
                sql += f" AND {column} = ?"
                params.append(value)
        rows = await self._all(sql + " ORDER BY id LIMIT ?", (*params, limit))
        return [_answer(r) for r in rows]

    async def participants_page(self, *, after_id: str, limit: int
                                ) -> list[tuple[Participant, list[Address]]]:
        people = [_participant(r) for r in await self._all(
            "SELECT * FROM participants WHERE id > ? AND status != 'erased' "
            "ORDER BY id LIMIT ?", (after_id, limit))]
        if not people:
            return []
        marks = ", ".join("?" for _ in people)
        rows = await self._all(f"SELECT * FROM addresses WHERE participant_id IN ({marks}) "
                               "ORDER BY created_at, rowid", [p.id for p in people])
        found: dict[str, list[Address]] = {p.id: [] for p in people}
        for row in rows:
            address = _address(row)
            found[address.participant_id].append(address)
        return [(p, found[p.id]) for p in people]
