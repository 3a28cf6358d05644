"""The SQLite store's queues: the inbox (inbound persisted before the webhook is
acknowledged), the outbox (every send), queued flows and timers."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Collection, Sequence
from typing import Any

from bot.errors import StoreError
from bot.store.delivery import HELD_BACK_SQL
from bot.store.erasure import forgotten_key
from bot.store.records import (
    Address,
    InboxItem,
    OutboxItem,
    OutboxStatus,
    QueuedFlow,
    Timer,
)
from bot.store.sql_runner import SqlConnection, SqlRow, SqlRunner
from bot.store.sqlite_codec import (
    _INSERT_INBOX,
    DUE_STATUSES,
    Params,
    _filters,
    _inbox,
    _outbox,
    _queued,
    _timer,
    dt_text,
    dumps,
    opt_dt_text,
    safe_text,
)
from bot.store.sqlite_lane import SMALL_UNIT


class SqliteQueues(SqlRunner):
    """Mixed into SqliteStore."""

    _inbox_batch: list[tuple[InboxItem, Params, asyncio.Future[bool]]]
    _inbox_flusher: asyncio.Task[None] | None
    _secret: str | None

    # -- inbox --------------------------------------------------------------------------
    async def inbox_put(self, item: InboxItem) -> bool:
        """Durable before it returns. Concurrent callers share one FULL commit (group
        commit): while one transaction is being synced the next batch gathers, so a
        burst of webhooks costs a few fsyncs rather than one each."""
        params = (item.channel, item.dedupe_key, item.address, dumps(item.payload),
                  dt_text(item.received_at), item.status, item.attempts,
                  opt_dt_text(item.processed_at))
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._inbox_batch.append((item, params, future))
        if self._inbox_flusher is None or self._inbox_flusher.done():
            self._inbox_flusher = asyncio.create_task(self._flush_inbox())
        return await asyncio.shield(future)

    async def _flush_inbox(self) -> None:
        while self._inbox_batch:
            batch, self._inbox_batch = self._inbox_batch[:500], self._inbox_batch[500:]
            try:
                if len(batch) == 1 and self._secret is not None:
                    results = [await self._put_one(batch[0][0], batch[0][1], self._secret)]
                else:
                    results = await self._put_many(batch)
            except BaseException as exc:
                for _, _, future in batch:
                    if not future.done():
                        future.set_exception(exc if isinstance(exc, Exception)
                                             else StoreError("store closed"))
                if not isinstance(exc, Exception):
                    raise
                continue
            for (item, _, future), (inserted, new_id) in zip(batch, results, strict=True):
                if inserted:
                    item.id = new_id
                if not future.done():
                    future.set_result(inserted)

    async def _put_one(self, item: InboxItem, params: Params,
                       secret: str) -> tuple[bool, int | None]:
        """A lone webhook's row: one autocommitted, durable statement (one round trip)."""
        rows = await self._write_one(_INSERT_INBOX + " RETURNING id", (
            *params, item.channel, forgotten_key(secret, item.channel,
                                                 item.dedupe_key)), durable=True)
        return (True, int(rows[0][0])) if rows else (False, None)

    async def _put_many(self, batch: list[tuple[InboxItem, Params, Any]]
                        ) -> list[tuple[bool, int | None]]:
        """Rows that arrived together: one transaction, one durable commit; for each,
        whether it was new and its id."""
        async def work(db: SqlConnection) -> list[tuple[bool, int | None]]:
            done: list[tuple[bool, int | None]] = []
            secret = await self._erasure_secret(db)
            for item, params, _ in batch:
                cursor = await db.execute(_INSERT_INBOX, (*params, item.channel, (
                    forgotten_key(secret, item.channel, item.dedupe_key))))
                done.append((cursor.rowcount == 1, cursor.lastrowid))
            return done

        return await self._unit(work, small=len(batch) <= SMALL_UNIT, durable=True)

    async def inbox_pending(self, limit: int = 100) -> list[InboxItem]:
        rows = await self._all("SELECT * FROM inbox WHERE status = 'pending' ORDER BY id "
                               "LIMIT ?", (limit,))
        return [_inbox(r) for r in rows]

    async def inbox_mark(self, item_id: int, status: str, at: dt.datetime) -> None:
        """Set the status, ``processed_at = at``, and count one more processing attempt."""
        at_text = dt_text(at)
        async with self._write() as db:
            await db.execute("UPDATE inbox SET status = ?, processed_at = ?, "
                             "attempts = attempts + 1 WHERE id = ?", (status, at_text, item_id))

    # -- outbox -------------------------------------------------------------------------
    async def outbox_due(self, channel: str, now: dt.datetime, limit: int) -> list[OutboxItem]:
        return [_outbox(r) for r in await self._due("*", channel, now, limit)]

    async def outbox_due_ids(self, channel: str, now: dt.datetime, limit: int) -> list[int]:
        return [int(r[0]) for r in await self._due("id", channel, now, limit)]

    async def _due(self, columns: str, channel: str, now: dt.datetime,
                   limit: int) -> list[SqlRow]:
        now_text = dt_text(now)
        rows: list[SqlRow] = await self._all(
            f"SELECT {columns} FROM outbox WHERE channel = ? AND status IN (?, ?) "
            "AND not_before <= ? AND (next_attempt_at IS NULL OR next_attempt_at <= ?) "
            f"AND {HELD_BACK_SQL} "  # per-address order across retries and restarts
            "ORDER BY created_at, id LIMIT ?",
            (channel, *DUE_STATUSES, now_text, now_text, limit))
        return rows

    async def outbox_rows(self, ids: Sequence[int]) -> list[OutboxItem]:
        found: dict[int, OutboxItem] = {}
        for start in range(0, len(ids), 500):
            chunk = list(ids[start:start + 500])
            marks = ", ".join("?" * len(chunk))
            for row in await self._all(f"SELECT * FROM outbox WHERE id IN ({marks})", chunk,
                                       quick=True):
                item = _outbox(row)
                assert item.id is not None
                found[item.id] = item
        return [found[i] for i in ids if i in found]

    async def addresses_named(self, names: Collection[str]) -> dict[str, Address]:
        from bot.store.sqlite_codec import _address

        wanted, found = list(names), {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start:start + 500]
            marks = ", ".join("?" * len(chunk))
            for row in await self._all(
                    f"SELECT * FROM addresses WHERE address IN ({marks})", chunk, quick=True):
                found[row["address"]] = _address(row)
        return found

    async def outbox_update(self, item: OutboxItem) -> None:
        """Raises KeyError when the row does not exist."""
        if item.id is None:
            raise KeyError("outbox item has no id; it was never stored")
        params = (item.status, item.attempts, opt_dt_text(item.next_attempt_at),
                  item.provider_id, safe_text(item.last_error), item.delivery_status,
                  item.segments, opt_dt_text(item.sent_at), item.id)
        # 'sending' must be on disk before the request; an outcome may be lost only with
        # the machine's power, and then the row reads 'sending' -> ambiguous: never resent
        changed = await self._write_one(
            "UPDATE outbox SET status = ?, attempts = ?, next_attempt_at = ?, "
            "provider_id = ?, last_error = ?, delivery_status = ?, segments = ?, "
            "sent_at = ? WHERE id = ? RETURNING id", params, durable=item.status == "sending")
        if len(changed) != 1:
            raise KeyError(f"no outbox row {item.id}")

    async def outbox_mark_sending(self, items: Sequence[OutboxItem]) -> list[OutboxItem]:
        """Mark several rows ``sending`` (attempts + 1) in one durable commit (per 500);
        only rows still due-able are marked, and those are returned."""
        if not items:
            return []
        for item in items:
            if item.id is None:
                raise KeyError("outbox item has no id; it was never stored")
        done: set[int] = set()
        for start in range(0, len(items), 500):  # far below SQLite's parameter limit
            ids = [item.id for item in items[start:start + 500]]
            rows = await self._write_one(  # one statement, one durable commit
                "UPDATE outbox SET status = 'sending', attempts = attempts + 1, "
                f"claimed_by = ? WHERE id IN ({', '.join('?' * len(ids))}) "
                "AND status IN (?, ?) RETURNING id",
                (self.holder, *ids, *DUE_STATUSES), durable=True)
            done.update(int(row[0]) for row in rows)
        marked = [item for item in items if item.id in done]
        for item in marked:
            item.status, item.attempts = "sending", item.attempts + 1
        return marked

    async def outbox_by_provider_id(self, provider_id: str) -> OutboxItem | None:
        row = await self._one("SELECT * FROM outbox WHERE provider_id = ? "
                              "ORDER BY id DESC LIMIT 1", (provider_id,))
        return None if row is None else _outbox(row)

    async def outbox_of(self, participant_id: str) -> list[OutboxItem]:
        rows = await self._all("SELECT * FROM outbox WHERE participant_id = ? ORDER BY id",
                               (participant_id,))
        return [_outbox(r) for r in rows]

    async def outbox_all(self, *, round_id: str | None = None,
                         status: OutboxStatus | None = None) -> list[OutboxItem]:
        where, params = _filters(round_id=round_id, status=status)
        rows = await self._all(f"SELECT * FROM outbox{where} ORDER BY id", params)
        return [_outbox(r) for r in rows]

    async def outbox_recover(self, now: dt.datetime) -> int:
        from bot.store.leases import MEMBER

        # rows this process is sending (another channel's sender, started earlier) and
        # rows of live processes (another `parley serve` on a shared database) are theirs
        async with self._write() as db:
            cursor = await db.execute(
                "UPDATE outbox SET status = 'ambiguous' WHERE status = 'sending' "
                "AND (claimed_by IS NULL OR (claimed_by != ? AND claimed_by NOT IN "
                "(SELECT holder FROM leases WHERE name LIKE ? AND expires_at > ?)))",
                (self.holder, MEMBER + "%", dt_text(now)))
            recovered: int = cursor.rowcount
            return recovered

    # -- queued flows and timers --------------------------------------------------------
    async def queued_flows(self, participant_id: str) -> list[QueuedFlow]:
        rows = await self._all("SELECT * FROM queued_flows WHERE participant_id = ? "
                               "ORDER BY id", (participant_id,))
        return [_queued(r) for r in rows]

    async def timers_due(self, now: dt.datetime, limit: int = 500) -> list[Timer]:
        rows = await self._all("SELECT * FROM timers WHERE due_at <= ? ORDER BY due_at, id "
                               "LIMIT ?", (dt_text(now), limit))
        return [_timer(r) for r in rows]

    async def timers_of(self, session_id: str) -> list[Timer]:
        rows = await self._all("SELECT * FROM timers WHERE session_id = ? "
                               "ORDER BY due_at, id", (session_id,))
        return [_timer(r) for r in rows]
