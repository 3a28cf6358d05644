"""Store methods for named leases (who runs the scheduler when several processes share
one database). One statement each, so taking, renewing and handing over a lease is atomic
on every backend: an upsert that only overwrites a row held by the same process or one
whose time has run out."""

from __future__ import annotations

import datetime as dt
import os
import secrets
import socket
from dataclasses import dataclass
from typing import Protocol

from bot.store.sql_runner import SqlRunner

MEMBER = "member:"
"""Leases named ``member:<process>``: the processes alive now (bot/delivery/membership.py)."""


def process_name() -> str:
    """This process, recognisably (host and pid) and uniquely (a restarted process with
    a reused pid is someone else)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


@dataclass(frozen=True)
class Lease:
    name: str
    holder: str
    acquired_at: dt.datetime
    expires_at: dt.datetime


class LeasesStore(Protocol):
    holder: str
    """This process's name in leases and in the outbox rows it claims."""

    async def lease_hold(self, name: str, holder: str, now: dt.datetime,
                         ttl: dt.timedelta) -> bool:
        """Take or renew lease ``name`` for ``holder`` until ``now + ttl``. True if
        ``holder`` holds it now: it was free, expired at or before ``now``, or already
        ``holder``'s. False if another holder's lease is still running."""

    async def lease_release(self, name: str, holder: str) -> None:
        """Give the lease up at once (a clean shutdown), if ``holder`` has it."""

    async def lease_get(self, name: str) -> Lease | None: ...

    async def lease_holders(self, prefix: str, now: dt.datetime) -> list[str]:
        """The holders of the leases whose name starts with ``prefix`` and that run past
        ``now``, sorted (every process sees the same order)."""


class SqliteLeases(SqlRunner):
    """Mixed into SqliteStore (portable SQL: SQLite 3.35+ and PostgreSQL)."""

    async def lease_hold(self, name: str, holder: str, now: dt.datetime,
                         ttl: dt.timedelta) -> bool:
        from bot.store.sqlite_codec import dt_text

        rows = await self._write_one(
            "INSERT INTO leases (name, holder, acquired_at, expires_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (name) DO UPDATE SET "
            "acquired_at = CASE WHEN leases.holder = excluded.holder "
            "THEN leases.acquired_at ELSE excluded.acquired_at END, "
            "holder = excluded.holder, expires_at = excluded.expires_at "
            "WHERE leases.holder = excluded.holder OR leases.expires_at <= ? "
            "RETURNING holder",
            (name, holder, dt_text(now), dt_text(now + ttl), dt_text(now)), durable=False)
        return bool(rows) and rows[0][0] == holder

    async def lease_release(self, name: str, holder: str) -> None:
        await self._write_one("DELETE FROM leases WHERE name = ? AND holder = ?",
                              (name, holder), durable=False)

    async def lease_get(self, name: str) -> Lease | None:
        from bot.store.sqlite_codec import parse_dt

        row = await self._one("SELECT name, holder, acquired_at, expires_at FROM leases "
                              "WHERE name = ?", (name,))
        if row is None:
            return None
        return Lease(row[0], row[1], parse_dt(row[2]), parse_dt(row[3]))

    async def lease_holders(self, prefix: str, now: dt.datetime) -> list[str]:
        from bot.store.sqlite_codec import dt_text

        pattern = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        rows = await self._all("SELECT holder FROM leases WHERE name LIKE ? ESCAPE '\\' "
                               "AND expires_at > ?", (pattern, dt_text(now)))
        return sorted(str(row[0]) for row in rows)
