"""When a person last wrote from an address: WhatsApp's 24-hour customer-service window.

WhatsApp lets a business send free-form messages only within 24 hours of the person's
last message; outside it, only approved templates. The inbox already holds every
inbound message with its arrival time (kept, blanked, after processing, and deleted
with the person), so the window is read from there rather than kept twice.
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol

from bot.store.sql_runner import SqlRunner


class WindowStore(Protocol):
    async def last_inbound_at(self, address: str) -> dt.datetime | None:
        """When the newest inbound message from ``address`` arrived (None: never)."""


class SqliteWindow(SqlRunner):
    """Mixed into SqliteStore."""

    async def last_inbound_at(self, address: str) -> dt.datetime | None:
        from bot.store.sqlite_codec import parse_dt

        row = await self._one("SELECT max(received_at) AS at FROM inbox WHERE address = ?",
                              (address,))
        return None if row is None or row["at"] is None else parse_dt(row["at"])
