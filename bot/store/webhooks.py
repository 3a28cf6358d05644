"""Store methods for outbound webhooks, for both stores (mixed in).

Webhook rows are outbox rows (channel ``webhook``) projected from committed rows, never
written by the code that made the change: a cursor over ``events.id`` moves in the same
transaction as the rows it queues (a compare-and-set, so two processes never queue one
event twice), and a closed round is marked once its ``round.completed`` is queued.
The first use starts the cursor at the newest event and marks the rounds already
closed: configuring a webhook does not replay a project's history.

A cursor over ids is exact when ids commit in order, as on SQLite (one writer at a
time). A PostgreSQL store must keep that promise its own way: a sequence hands out ids
before commit, so a row with a lower id may commit after a higher one was read; read
only below the oldest transaction still running (``pg_snapshot_xmin``), or take the
events table's write lock in the transactions that insert events.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.store.records import EventRow, OutboxItem
from bot.store.sql_runner import SqlRow, SqlRunner

CURSOR = "events"


@dataclass(frozen=True)
class WebhookSource:
    """A committed event, with the flow and round of its session (if any)."""

    event: EventRow
    flow_id: str | None = None
    round_id: str | None = None


class WebhooksStore(Protocol):
    async def webhook_cursor_start(self, at: dt.datetime) -> int:
        """The events cursor. The first call sets it to the newest event id and marks
        every round already closed, so nothing from before webhooks is sent."""

    async def webhook_events_after(self, after: int, names: Sequence[str], limit: int,
                                   ) -> tuple[list[WebhookSource], int]:
        """Events named one of ``names`` with an id above ``after``, oldest first (at most
        ``limit``), and the id the cursor may move to: the last one returned when the
        limit was reached, else the newest event id there was when the read began."""

    async def webhook_advance(self, after: int, upto: int, items: Sequence[OutboxItem]) -> bool:
        """Move the cursor from ``after`` to ``upto`` and insert ``items`` together;
        False (nothing written) when the cursor is no longer at ``after``."""

    async def webhook_forget_done(self) -> int:
        """Blank the bodies of webhook rows delivered or given up (one statement for
        all, rather than a write and a WAL checkpoint per row); how many."""

    async def webhook_rounds_marked(self) -> set[str]:
        """Rounds whose ``round.completed`` is queued (or that closed before webhooks)."""

    async def webhook_round_queue(self, round_id: str, at: dt.datetime,
                                  items: Sequence[OutboxItem]) -> bool:
        """Mark the round and insert ``items`` together; False (nothing written) when it
        was marked already."""


def _source(row: SqlRow) -> WebhookSource:
    from bot.store.sqlite_codec import _event

    return WebhookSource(_event(row), row["flow_id"], row["round_id"])


class SqliteWebhooks(SqlRunner):
    """Mixed into SqliteStore (which provides ``_write``, ``_all`` and ``_one``)."""

    async def webhook_cursor_start(self, at: dt.datetime) -> int:
        from bot.store.sqlite_codec import dt_text

        row = await self._one("SELECT event_id FROM webhook_cursor WHERE name = ?", (CURSOR,))
        if row is not None:
            return int(row[0])
        async with self._write() as db:
            # "WHERE 1 = 1": SQLite needs a WHERE before ON CONFLICT in INSERT … SELECT
            await db.execute(
                "INSERT INTO webhook_cursor (name, event_id) SELECT ?, COALESCE(MAX(id), 0) "
                "FROM events WHERE 1 = 1 ON CONFLICT (name) DO NOTHING", (CURSOR,))
            await db.execute(
                "INSERT INTO webhook_rounds (round_id, queued_at) SELECT id, ? FROM rounds "
                "WHERE status = 'closed' ON CONFLICT (round_id) DO NOTHING", (dt_text(at),))
        row = await self._one("SELECT event_id FROM webhook_cursor WHERE name = ?", (CURSOR,))
        assert row is not None
        return int(row[0])

    async def webhook_events_after(self, after: int, names: Sequence[str], limit: int,
                                   ) -> tuple[list[WebhookSource], int]:
        newest = await self._one("SELECT COALESCE(MAX(id), 0) FROM events")
        upto = int(newest[0]) if newest is not None else 0
        marks = ", ".join("?" * len(names))
        rows = await self._all(
            "SELECT e.*, s.flow_id AS flow_id, s.round_id AS round_id FROM events AS e "
            "LEFT JOIN sessions AS s ON s.id = e.session_id "
            f"WHERE e.id > ? AND e.id <= ? AND e.name IN ({marks}) ORDER BY e.id LIMIT ?",
            (after, upto, *names, limit))
        found = [_source(r) for r in rows]
        if len(found) == limit:
            last = found[-1].event.id
            assert last is not None
            upto = last
        return found, max(upto, after)

    async def webhook_advance(self, after: int, upto: int,
                              items: Sequence[OutboxItem]) -> bool:
        from bot.store.sqlite_codec import _INSERT_OUTBOX, _outbox_params

        async with self._write() as db:
            cursor = await db.execute(
                "UPDATE webhook_cursor SET event_id = ? WHERE name = ? AND event_id = ?",
                (upto, CURSOR, after))
            if cursor.rowcount == 0:
                return False
            await db.executemany(_INSERT_OUTBOX, [_outbox_params(i) for i in items])
        return True

    async def webhook_forget_done(self) -> int:
        done = ("WHERE channel = 'webhook' AND status IN ('sent', 'failed', 'cancelled') "
                "AND payload != '{}'")
        if await self._one(f"SELECT 1 FROM outbox {done} LIMIT 1") is None:
            return 0  # most passes: no write transaction at all
        async with self._write(durable=False) as db:
            cursor = await db.execute(
                f"UPDATE outbox SET payload = '{{}}', last_error = NULL {done}")
            forgotten = int(cursor.rowcount)
        if forgotten:
            await self.checkpoint()  # no older copy of an answer left in the -wal file
        return forgotten

    async def webhook_rounds_marked(self) -> set[str]:
        return {str(r[0]) for r in await self._all("SELECT round_id FROM webhook_rounds")}

    async def webhook_round_queue(self, round_id: str, at: dt.datetime,
                                  items: Sequence[OutboxItem]) -> bool:
        from bot.store.sqlite_codec import _INSERT_OUTBOX, _outbox_params, dt_text

        async with self._write() as db:
            cursor = await db.execute(
                "INSERT INTO webhook_rounds (round_id, queued_at) VALUES (?, ?) "
                "ON CONFLICT (round_id) DO NOTHING", (round_id, dt_text(at)))
            if cursor.rowcount == 0:
                return False
            await db.executemany(_INSERT_OUTBOX, [_outbox_params(i) for i in items])
        return True
