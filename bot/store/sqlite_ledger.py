"""``SqliteStore``'s findings, credits ledger, payouts and audit log (mixed into the
store); their row codecs live beside the rounds' in ``sqlite_rounds``."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Sequence

from bot.errors import StoreError
from bot.store.round_records import (
    AuditEntry,
    Finding,
    LedgerEntry,
    PayoutBatch,
)
from bot.store.sql_runner import SqlRunner
from bot.store.sqlite_rounds import (
    _batch,
    _dd,
    _finding,
    _json,
    _ledger,
    _t,
)


class SqliteLedger(SqlRunner):
    """Mixed into SqliteStore (which provides ``_write``, ``_all`` and ``_one``)."""

    # findings ---------------------------------------------------------------------------
    async def finding_add(self, item: Finding) -> None:
        async with self._write() as db:
            try:
                await db.execute(
                    "INSERT INTO findings (id, title, text, created_at, lineage, version, "
                    "replaces, changes, source, created_by) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (item.id, item.title, item.text, _t(item.created_at), item.lineage,
                     item.version, item.replaces, item.changes, item.source,
                     item.created_by))
            except sqlite3.IntegrityError as exc:
                raise StoreError(f"finding {item.id} already exists") from exc

    async def finding_get(self, finding_id: str) -> Finding | None:
        row = await self._one("SELECT * FROM findings WHERE id = ?", (finding_id,))
        return None if row is None else _finding(row)

    async def findings_all(self) -> list[Finding]:
        rows = await self._all("SELECT * FROM findings ORDER BY created_at, rowid")
        return [_finding(r) for r in rows]

    # credits ----------------------------------------------------------------------------
    async def ledger(self, *, participant_id: str | None = None) -> list[LedgerEntry]:
        if participant_id is None:
            rows = await self._all("SELECT * FROM ledger ORDER BY id")
        else:
            rows = await self._all("SELECT * FROM ledger WHERE participant_id = ? ORDER BY id",
                                   (participant_id,))
        return [_ledger(r) for r in rows]

    async def payout_pending(self, before: dt.datetime) -> list[LedgerEntry]:
        rows = await self._all(
            "SELECT * FROM ledger WHERE payable = 1 AND at < ? AND id NOT IN "
            "(SELECT ledger_id FROM payout_items) ORDER BY id", (_t(before),))
        return [_ledger(r) for r in rows]

    async def payout_create(self, batch: PayoutBatch, ledger_ids: Sequence[int]) -> None:
        async with self._write() as db:
            try:
                await db.execute(
                    "INSERT INTO payout_batches (id, period, created_at, total, rows, file, "
                    "status, actor, paid_at, paid_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (batch.id, batch.period, _t(batch.created_at), batch.total, batch.rows,
                     batch.file, batch.status, batch.actor, _t(batch.paid_at), batch.paid_by))
                await db.executemany("INSERT INTO payout_items (batch_id, ledger_id) "
                                     "VALUES (?, ?)", [(batch.id, i) for i in ledger_ids])
            except sqlite3.IntegrityError as exc:
                raise StoreError(f"payout {batch.id}: an entry is already in a batch, or "
                                 "the batch exists") from exc

    async def payout_get(self, batch_id: str) -> PayoutBatch | None:
        row = await self._one("SELECT * FROM payout_batches WHERE id = ?", (batch_id,))
        return None if row is None else _batch(row)

    async def payout_batches(self) -> list[PayoutBatch]:
        rows = await self._all("SELECT * FROM payout_batches ORDER BY created_at, rowid")
        return [_batch(r) for r in rows]

    async def payout_paid(self, batch_id: str, at: dt.datetime, by: str) -> None:
        async with self._write() as db:
            await db.execute("UPDATE payout_batches SET status = 'paid', "
                             "paid_at = COALESCE(paid_at, ?), paid_by = CASE WHEN paid_at IS "
                             "NULL THEN ? ELSE paid_by END WHERE id = ?",
                             (_t(at), by, batch_id))

    async def payout_of_entries(self) -> dict[int, str]:
        rows = await self._all("SELECT ledger_id, batch_id FROM payout_items")
        return {int(r[0]): str(r[1]) for r in rows}

    # audit ----------------------------------------------------------------------------
    async def audit_add(self, entry: AuditEntry) -> None:
        async with self._write() as db:
            cursor = await db.execute(
                "INSERT INTO audit_log (at, actor, action, subject, detail) "
                "VALUES (?, ?, ?, ?, ?)",
                (_t(entry.at), entry.actor, entry.action, entry.subject, _json(entry.detail)))
        entry.id = cursor.lastrowid

    async def audit_log(self, limit: int = 100) -> list[AuditEntry]:
        rows = await self._all("SELECT * FROM audit_log ORDER BY id DESC LIMIT ?", (limit,))
        return [AuditEntry(at=_dd(r["at"]), actor=r["actor"], action=r["action"],
                           subject=r["subject"], detail=json.loads(r["detail"]), id=r["id"])
                for r in rows]
