"""Store methods for the coordinator dashboard (the SQL mixin): logins, browser
sessions and the target cohort mix (migration ``0006_dashboard.sql``).

Kept apart from the core store modules like ``people.py``: nothing here touches
participants' data, and the conversation engine never needs it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from bot.store.records import Address
from bot.store.sql_runner import SqlRow, SqlRunner


@dataclass
class Coordinator:
    """A dashboard login. ``email`` is lower case; ``password_hash`` is argon2id."""

    email: str
    password_hash: str
    created_at: dt.datetime
    disabled: bool = False
    last_login_at: dt.datetime | None = None


@dataclass
class DashboardSession:
    """A logged-in browser. The cookie carries a token; only its hash is stored."""

    token_hash: str
    email: str
    csrf_token: str
    created_at: dt.datetime
    expires_at: dt.datetime


class DashboardStore(Protocol):
    async def save_coordinator(self, coordinator: Coordinator) -> None:
        """Insert, or replace the coordinator with the same email."""

    async def get_coordinator(self, email: str) -> Coordinator | None: ...
    async def list_coordinators(self) -> list[Coordinator]:
        """Every coordinator, by email."""

    async def record_login(self, email: str, at: dt.datetime) -> None: ...

    async def create_dashboard_session(self, session: DashboardSession) -> None:
        """Store a new session and drop every session expired by ``session.created_at``."""

    async def get_dashboard_session(self, token_hash: str,
                                    now: dt.datetime) -> DashboardSession | None:
        """The session, unless it is unknown or expired at ``now``."""

    async def delete_dashboard_session(self, token_hash: str) -> None: ...
    async def delete_dashboard_sessions_of(self, email: str) -> None:
        """Log a coordinator out everywhere (after a password change)."""

    async def cohort_targets(self) -> dict[str, float]:
        """Target share (percent) per cohort, by cohort name."""

    async def set_cohort_targets(self, targets: Mapping[str, float]) -> None:
        """Replace every target."""

    # bulk reads for overview pages
    async def addresses_all(self) -> list[Address]:
        """Every address (erased people have none), oldest first."""

    async def outbox_usage(self, channel: str,
                           since: dt.datetime | None = None) -> tuple[int, int]:
        """``(messages, segments)`` sent on ``channel`` (status ``sent``), since ``since``
        (by ``sent_at``) when given; rows with no segment count count as 0."""


def _iso(value: dt.datetime | None) -> str | None:
    from bot.store.sqlite_codec import opt_dt_text

    return opt_dt_text(value)


def _coordinator(row: SqlRow) -> Coordinator:
    from bot.store.sqlite_codec import opt_parse_dt, parse_dt

    return Coordinator(email=row["email"], password_hash=row["password_hash"],
                       created_at=parse_dt(row["created_at"]), disabled=bool(row["disabled"]),
                       last_login_at=opt_parse_dt(row["last_login_at"]))


def _session(row: SqlRow) -> DashboardSession:
    from bot.store.sqlite_codec import parse_dt

    return DashboardSession(token_hash=row["token_hash"], email=row["email"],
                            csrf_token=row["csrf_token"],
                            created_at=parse_dt(row["created_at"]),
                            expires_at=parse_dt(row["expires_at"]))


class SqliteDashboard(SqlRunner):
    """Mixed into SqliteStore."""

    async def save_coordinator(self, coordinator: Coordinator) -> None:
        c = coordinator
        async with self._write() as db:
            await db.execute(
                "INSERT INTO coordinators (email, password_hash, created_at, disabled, "
                "last_login_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (email) DO UPDATE SET "
                "password_hash = excluded.password_hash, disabled = excluded.disabled, "
                "last_login_at = excluded.last_login_at",
                (c.email, c.password_hash, _iso(c.created_at), int(c.disabled),
                 _iso(c.last_login_at)))

    async def get_coordinator(self, email: str) -> Coordinator | None:
        row = await self._one("SELECT * FROM coordinators WHERE email = ?", (email,))
        return None if row is None else _coordinator(row)

    async def list_coordinators(self) -> list[Coordinator]:
        return [_coordinator(r) for r in
                await self._all("SELECT * FROM coordinators ORDER BY email")]

    async def record_login(self, email: str, at: dt.datetime) -> None:
        async with self._write() as db:
            await db.execute("UPDATE coordinators SET last_login_at = ? WHERE email = ?",
                             (_iso(at), email))

    async def create_dashboard_session(self, session: DashboardSession) -> None:
        s = session
        async with self._write() as db:
            await db.execute("DELETE FROM dashboard_sessions WHERE expires_at <= ?",
                             (_iso(s.created_at),))
            await db.execute(
                "INSERT INTO dashboard_sessions (token_hash, email, csrf_token, created_at, "
                "expires_at) VALUES (?, ?, ?, ?, ?)",
                (s.token_hash, s.email, s.csrf_token, _iso(s.created_at), _iso(s.expires_at)))

    async def get_dashboard_session(self, token_hash: str,
                                    now: dt.datetime) -> DashboardSession | None:
        row = await self._one("SELECT * FROM dashboard_sessions WHERE token_hash = ? AND "
                              "expires_at > ?", (token_hash, _iso(now)))
        return None if row is None else _session(row)

    async def delete_dashboard_session(self, token_hash: str) -> None:
        async with self._write() as db:
            await db.execute("DELETE FROM dashboard_sessions WHERE token_hash = ?",
                             (token_hash,))

    async def delete_dashboard_sessions_of(self, email: str) -> None:
        async with self._write() as db:
            await db.execute("DELETE FROM dashboard_sessions WHERE email = ?", (email,))

    async def cohort_targets(self) -> dict[str, float]:
        rows = await self._all("SELECT cohort, share FROM cohort_targets ORDER BY cohort")
        return {str(r["cohort"]): float(r["share"]) for r in rows}

    async def set_cohort_targets(self, targets: Mapping[str, float]) -> None:
        async with self._write() as db:
            await db.execute("DELETE FROM cohort_targets")
            await db.executemany("INSERT INTO cohort_targets (cohort, share) VALUES (?, ?)",
                                 [(k, float(v)) for k, v in targets.items()])

    async def addresses_all(self) -> list[Address]:
        from bot.store.sqlite_codec import _address

        rows = await self._all("SELECT * FROM addresses ORDER BY created_at, rowid")
        return [_address(r) for r in rows]

    async def outbox_usage(self, channel: str,
                           since: dt.datetime | None = None) -> tuple[int, int]:
        sql = ("SELECT count(*), coalesce(sum(segments), 0) FROM outbox WHERE channel = ? "
               "AND status = 'sent'")
        params: list[Any] = [channel]
        if since is not None:
            sql += " AND sent_at >= ?"
            params.append(_iso(since))
        row = await self._one(sql, params)
        return (int(row[0]), int(row[1])) if row is not None else (0, 0)
