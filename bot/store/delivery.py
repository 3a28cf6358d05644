"""Store methods for delivery order and ambiguous resends, for both stores (mixed in).

DESIGN §3: a person's outbound messages leave per address in the order they were queued,
across retries and restarts. The due query itself keeps that (``held_back``): a row is
not due while an older row to the same address is waiting to be retried or is being
sent. This module adds what the outbox sender needs besides: a record of the ambiguous
sends it resent once (so none is resent twice and rounds can count them), and when a
person last wrote (an ambiguous message is not resent once they have written since).
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Iterable
from typing import Any, Protocol

from bot.store.records import InboxItem, OutboxItem

OPEN_STATUSES = ("retry", "sending")
"""An older row in one of these holds back the later rows to its address."""

HELD_BACK_SQL = (
    "NOT EXISTS (SELECT 1 FROM outbox AS older WHERE older.address = outbox.address "
    "AND older.status IN ('retry', 'sending') AND older.channel = outbox.channel "
    "AND (older.created_at < outbox.created_at OR "
    "(older.created_at = outbox.created_at AND older.id < outbox.id)))")
"""The SQL condition (on a row of ``outbox``) that no older row to its address is open."""


def order_key(item: OutboxItem) -> tuple[dt.datetime, int]:
    return (item.created_at, item.id or 0)


def not_held_back(candidates: list[OutboxItem], rows: Iterable[OutboxItem]) -> list[OutboxItem]:
    """``candidates`` without those queued after an open row to the same address (the
    in-memory twin of ``HELD_BACK_SQL``)."""
    oldest_open: dict[tuple[str, str], tuple[dt.datetime, int]] = {}
    for row in rows:
        if row.status in OPEN_STATUSES:
            key = (row.channel, row.address)
            if key not in oldest_open or order_key(row) < oldest_open[key]:
                oldest_open[key] = order_key(row)
    return [c for c in candidates
            if (blocker := oldest_open.get((c.channel, c.address))) is None
            or not blocker < order_key(c)]


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


class SqliteDelivery:
    """Mixed into SqliteStore (which provides ``_write``, ``_all`` and ``_one``)."""

    async def outbox_resend_add(self: Any, outbox_id: int, at: dt.datetime) -> bool:
        from bot.store.sqlite_codec import dt_text

        async with self._write() as db:
            cursor = await db.execute(
                "INSERT INTO outbox_resends (outbox_id, resent_at) VALUES (?, ?) "
                "ON CONFLICT (outbox_id) DO NOTHING", (outbox_id, dt_text(at)))
            return bool(cursor.rowcount)

    async def outbox_resent(self: Any, outbox_ids: Iterable[int]) -> set[int]:
        ids = list(outbox_ids)
        found: set[int] = set()
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            marks = ", ".join("?" * len(chunk))
            rows = await self._all(
                f"SELECT outbox_id FROM outbox_resends WHERE outbox_id IN ({marks})", chunk)
            found.update(int(r[0]) for r in rows)
        return found

    async def inbox_last_received(self: Any, address: str) -> dt.datetime | None:
        from bot.store.sqlite_codec import parse_dt

        row = await self._one("SELECT max(received_at) FROM inbox WHERE address = ?",
                              (address,))
        return None if row is None or row[0] is None else parse_dt(row[0])

    async def inbox_pending_before(self: Any, address: str, item_id: int) -> list[InboxItem]:
        from bot.store.sqlite_codec import _inbox

        rows = await self._all("SELECT * FROM inbox WHERE address = ? AND status = 'pending' "
                               "AND id < ? ORDER BY id", (address, item_id))
        return [_inbox(r) for r in rows]

    async def round_resent_count(self: Any, round_id: str) -> int:
        row = await self._one("SELECT count(*) FROM outbox_resends AS r JOIN outbox AS o "
                              "ON o.id = r.outbox_id WHERE o.round_id = ?", (round_id,))
        return 0 if row is None else int(row[0])


class MemoryDelivery:
    """Mixed into MemoryStore."""

    def _resends(self: Any) -> dict[int, dt.datetime]:
        resends: dict[int, dt.datetime] = self.__dict__.setdefault("_outbox_resends", {})
        return resends

    async def outbox_resend_add(self: Any, outbox_id: int, at: dt.datetime) -> bool:
        self._check()
        resends = self._resends()
        if outbox_id in resends:
            return False
        resends[outbox_id] = at
        return True

    async def outbox_resent(self: Any, outbox_ids: Iterable[int]) -> set[int]:
        self._check()
        resends = self._resends()
        return {i for i in outbox_ids if i in resends}

    async def inbox_last_received(self: Any, address: str) -> dt.datetime | None:
        self._check()
        times = [i.received_at for i in self._inbox.values() if i.address == address]
        return max(times) if times else None

    async def round_resent_count(self: Any, round_id: str) -> int:
        self._check()
        resends = self._resends()
        return sum(1 for i in resends
                   if (row := self._outbox.get(i)) is not None and row.round_id == round_id)

    async def inbox_pending_before(self: Any, address: str, item_id: int) -> list[InboxItem]:
        self._check()
        return [copy.deepcopy(i) for i in sorted(self._inbox.values(), key=lambda i: i.id or 0)
                if i.address == address and i.status == "pending" and (i.id or 0) < item_id]
