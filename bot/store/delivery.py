"""Store methods for delivery order and ambiguous resends (the SQL mixin) (mixed in).

DESIGN §3: a person's outbound messages leave per address in the order they were queued,
across retries and restarts. The due query itself keeps that (``held_back``): a row is
not due while an older row to the same address is waiting to be retried or is being
sent. This module adds what the outbox sender needs besides: a record of the ambiguous
sends it resent once (so none is resent twice and rounds can count them), and when a
person last wrote (an ambiguous message is not resent once they have written since).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Protocol

from bot.store.records import InboxItem
from bot.store.sql_runner import SqlRunner

OPEN_STATUSES = ("retry", "sending")
"""An older row in one of these holds back the later rows to its address."""

HELD_BACK_SQL = (
    "NOT EXISTS (SELECT 1 FROM outbox AS older WHERE older.address = outbox.address "
    "AND older.status IN ('retry', 'sending') AND older.channel = outbox.channel "
    "AND (older.created_at < outbox.created_at OR "
    "(older.created_at = outbox.created_at AND older.id < outbox.id)))")
"""The SQL condition (on a row of ``outbox``) that no older row to its address is open."""


class DeliveryStore(Protocol):
    async def outbox_resend_add(self, outbox_id: int, at: dt.datetime) -> bool:
        """Record that an ambiguous row is being resent; False if it already was once."""

    async def outbox_resent(self, outbox_ids: Iterable[int]) -> set[int]:
        """Which of these rows were resent after an ambiguous send."""

    async def inbox_last_received(self, address: str) -> dt.datetime | None:
        """When the newest inbound message from ``address`` arrived (None: never)."""

    async def round_resent_count(self, round_id: str) -> int:
        """How many of the round's messages were resent after an ambiguous send."""

    async def inbox_pending_before(self, address: str, item_id: int) -> list[InboxItem]:
        """``address``'s messages still pending that arrived before ``item_id``, oldest
        first: they must be processed first (per-person order, kept in the store)."""


class SqliteDelivery(SqlRunner):
    """Mixed into SqliteStore (which provides ``_write``, ``_all`` and ``_one``)."""

    async def outbox_resend_add(self, outbox_id: int, at: dt.datetime) -> bool:
        from bot.store.sqlite_codec import dt_text

        async with self._write() as db:
            cursor = await db.execute(
                "INSERT INTO outbox_resends (outbox_id, resent_at) VALUES (?, ?) "
                "ON CONFLICT (outbox_id) DO NOTHING", (outbox_id, dt_text(at)))
            return bool(cursor.rowcount)

    async def outbox_resent(self, outbox_ids: Iterable[int]) -> set[int]:
        ids = list(outbox_ids)
        found: set[int] = set()
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            marks = ", ".join("?" * len(chunk))
            rows = await self._all(
                f"SELECT outbox_id FROM outbox_resends WHERE outbox_id IN ({marks})", chunk)
            found.update(int(r[0]) for r in rows)
        return found

    async def inbox_last_received(self, address: str) -> dt.datetime | None:
        from bot.store.sqlite_codec import parse_dt

        row = await self._one("SELECT max(received_at) FROM inbox WHERE address = ?",
                              (address,))
        return None if row is None or row[0] is None else parse_dt(row[0])

    async def inbox_pending_before(self, address: str, item_id: int) -> list[InboxItem]:
        from bot.store.sqlite_codec import _inbox

        rows = await self._all("SELECT * FROM inbox WHERE address = ? AND status = 'pending' "
                               "AND id < ? ORDER BY id", (address, item_id), quick=True)
        return [_inbox(r) for r in rows]

    async def round_resent_count(self, round_id: str) -> int:
        row = await self._one("SELECT count(*) FROM outbox_resends AS r JOIN outbox AS o "
                              "ON o.id = r.outbox_id WHERE o.round_id = ?", (round_id,))
        return 0 if row is None else int(row[0])
