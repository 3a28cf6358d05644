"""Removing a dashboard login (``parley coordinators remove``; the SQL mixin).

Disabling needs nothing new (``save_coordinator`` with ``disabled``); removal deletes
the login and its browser sessions in one transaction. The audit log keeps the
coordinator's past actions under their email: that is the record of who did what.
"""

from __future__ import annotations

from typing import Protocol

from bot.store.sql_runner import SqlRunner


class LoginsStore(Protocol):
    async def delete_coordinator(self, email: str) -> bool:
        """Delete the login and its sessions; False when there was no such login."""


class SqliteLogins(SqlRunner):
    """Mixed into SqliteStore."""

    async def delete_coordinator(self, email: str) -> bool:
        async with self._write() as db:
            await db.execute("DELETE FROM dashboard_sessions WHERE email = ?", (email,))
            cursor = await db.execute("DELETE FROM coordinators WHERE email = ?", (email,))
            return bool(cursor.rowcount)
