"""Payout batches: ``credits export --period`` and ``credits mark-paid``.

An export takes every payable ledger entry dated before the end of the period that no
batch holds yet (so entries carried over from earlier months are included), groups them
per person, writes a CSV and records the batch with its entries in one transaction. The
store refuses an entry that is already in a batch, so a second export of the same period
pays nothing new. Someone whose total is zero or below is carried over to the next
export. Payment details are never in Parley: the CSV says how each person prefers to be
paid, and the team pays from its own records.

Beside the payout, a participation CSV lists everyone with a completion in the period,
including people who declined payment (their time is recorded, nothing is paid).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from bot.config import Config
from bot.credits.ledger import credits_text, money_text, month_bounds
from bot.csv_safe import write_csv_file
from bot.errors import ParleyError
from bot.store.base import Store
from bot.store.round_records import AuditEntry, LedgerEntry, PayoutBatch
from bot.store.rounds_base import RoundsStore

PAYOUT_COLUMNS = ("batch", "period", "participant_id", "name", "payment_preference",
                  "credits", "value", "unit", "entries")
PARTICIPATION_COLUMNS = ("period", "participant_id", "name", "completions", "flows",
                         "credits_recorded", "payable")


@dataclass
class Export:
    batch: PayoutBatch | None
    rows: list[dict[str, str]] = field(default_factory=list)
    carried_over: int = 0
    participation_file: Path | None = None


async def _names(store: Store) -> dict[str, tuple[str, str]]:
    return {p.id: (p.name or str(p.profile.get("preferred_name") or ""),
                   str(p.profile.get("payment_preference") or ""))
            for p in await store.list_participants()}


async def participation(store: Store, config: Config, period: str) -> list[dict[str, str]]:
    """Everyone with ledger activity in the period, payable or not."""
    start, end = month_bounds(period, config.schedule.timezone)
    names = await _names(store)
    per: dict[str, list[LedgerEntry]] = defaultdict(list)
    for e in await store.ledger():
        if start <= e.at < end:
            per[e.participant_id].append(e)
    rows = []
    for pid, entries in per.items():
        earned = [e for e in entries if e.kind == "earned"]
        rows.append({
            "period": period, "participant_id": pid, "name": names.get(pid, ("", ""))[0],
            "completions": str(len(earned)),
            "flows": ";".join(sorted({e.flow_id or "" for e in earned} - {""})),
            "credits_recorded": credits_text(sum(e.amount for e in entries)),
            "payable": "yes" if any(e.payable for e in entries) else "no"})
    return rows


async def export(store: Store, config: Config, period: str, out: Path, *, actor: str,
                 now: dt.datetime) -> Export:
    """Write the payout CSV to ``out`` and record the batch; ``Export.batch`` is None
    when there is nothing new to pay."""
    _, end = month_bounds(period, config.schedule.timezone)
    pending = await store.payout_pending(end)
    per: dict[str, list[LedgerEntry]] = defaultdict(list)
    for e in pending:
        per[e.participant_id].append(e)
    names = await _names(store)
    existing = {b.id for b in await store.payout_batches()}
    n = 1
    while f"B{period}-{n}" in existing:
        n += 1
    batch_id = f"B{period}-{n}"
    rows: list[dict[str, str]] = []
    ids: list[int] = []
    carried = total = 0
    for pid, entries in per.items():
        cents = sum(e.amount for e in entries)
        if cents <= 0:
            carried += 1
            continue
        name, preference = names.get(pid, ("", ""))
        rows.append({"batch": batch_id, "period": period, "participant_id": pid,
                     "name": name, "payment_preference": preference,
                     "credits": credits_text(cents), "value": money_text(cents, config),
                     "unit": config.credits.unit, "entries": str(len(entries))})
        ids.extend(e.id for e in entries if e.id is not None)
        total += cents
    result = Export(None, rows, carried)
    part_file = out.with_name(out.stem + "-participation" + (out.suffix or ".csv"))
    write_csv_file(part_file, PARTICIPATION_COLUMNS, await participation(store, config, period))
    result.participation_file = part_file
    if not rows:  # recorded all the same: erasure rewrites every file that names people
        await store.audit_add(AuditEntry(now, actor, "credits.participation", period,
                                         {"period": period, "file": str(part_file)}))
        return result
    batch = PayoutBatch(id=batch_id, period=period, created_at=now, total=total,
                        rows=len(rows), file=str(out), actor=actor)
    write_csv_file(out, PAYOUT_COLUMNS, rows)
    try:
        await store.payout_create(batch, ids)
    except ParleyError:
        out.unlink(missing_ok=True)
        raise
    await store.audit_add(AuditEntry(now, actor, "credits.export", batch_id,
                                     {"period": period, "rows": len(rows),
                                      "total": credits_text(total), "file": str(out)}))
    result.batch = batch
    return result


async def mark_paid(store: RoundsStore, batch_id: str, *, actor: str,
                    now: dt.datetime) -> PayoutBatch:
    batch = await store.payout_get(batch_id)
    if batch is None:
        known = [b.id for b in await store.payout_batches()]
        raise ParleyError(f"no payout batch '{batch_id}' (known: {', '.join(known) or 'none'})")
    if batch.status == "paid":
        raise ParleyError(f"batch {batch_id} was already marked paid on "
                          f"{batch.paid_at:%Y-%m-%d} by {batch.paid_by or 'unknown'}")
    await store.payout_paid(batch_id, now, actor)
    await store.audit_add(AuditEntry(now, actor, "credits.mark_paid", batch_id, {}))
    found = await store.payout_get(batch_id)
    assert found is not None
    return found
