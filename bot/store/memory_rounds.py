"""``MemoryStore``'s rounds, findings, credits and audit log: the SQLite twin in dicts.

Same contract as ``sqlite_rounds.py`` (see ``rounds_base.py``), checked by the same suite.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from bot.errors import StoreError
from bot.store.round_records import (
    ACTIVE_TARGET_STATUSES,
    AuditEntry,
    Candidate,
    DeliveryRow,
    Finding,
    LedgerEntry,
    PayoutBatch,
    Round,
    RoundTarget,
)
from bot.store.rounds_base import StaleWrite

UTC = dt.UTC


def _u(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value.isoformat()} given to the store")
    return value.astimezone(UTC)


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    return None if value is None else _u(value)


def _norm_round(r: Round) -> Round:
    return dataclasses.replace(
        r, created_at=_u(r.created_at), start_at=_u(r.start_at), until=_utc(r.until),
        started_at=_utc(r.started_at), closed_at=_utc(r.closed_at),
        vars=dict(r.vars), remind_after=tuple(r.remind_after),
        audience_ids=tuple(r.audience_ids))


def _norm_target(t: RoundTarget) -> RoundTarget:
    return dataclasses.replace(
        t, send_at=_u(t.send_at), next_at=_utc(t.next_at), sent_at=_utc(t.sent_at),
        closes_at=_utc(t.closes_at), started_at=_utc(t.started_at),
        completed_at=_utc(t.completed_at), vars=dict(t.vars))


class _Tables:
    def __init__(self) -> None:
        self.rounds: dict[str, Round] = {}
        self.targets: dict[tuple[str, str], RoundTarget] = {}
        self.findings: dict[str, Finding] = {}
        self.ledger: dict[int, LedgerEntry] = {}
        self.ledger_keys: set[str] = set()
        self.batches: dict[str, PayoutBatch] = {}
        self.items: dict[int, str] = {}
        self.audit: list[AuditEntry] = []


class MemoryRounds:
    """Mixed into MemoryStore."""

    def _rt(self: Any) -> _Tables:
        tables: _Tables = self.__dict__.setdefault("_round_tables", _Tables())
        return tables

    # used by MemoryStore.apply: check first (may raise), then write (cannot fail)
    def _rounds_check(self: Any, targets: Sequence[RoundTarget],
                      ledger: Sequence[LedgerEntry]) -> tuple[list[RoundTarget],
                                                             list[LedgerEntry]]:
        rt = self._rt()
        new_targets = [_norm_target(t) for t in targets]
        for t in new_targets:
            stored = rt.targets.get(t.key)
            if stored is None or stored.version != t.version:
                raise StaleWrite(f"round target {t.round_id}/{t.participant_id} changed "
                                 "since it was read")
        entries = [dataclasses.replace(e, at=_u(e.at)) for e in ledger]
        return new_targets, entries

    def _rounds_write(self: Any, targets: list[RoundTarget], originals: Sequence[RoundTarget],
                      entries: list[LedgerEntry], original_entries: Sequence[LedgerEntry]
                      ) -> None:
        rt = self._rt()
        for t, original in zip(targets, originals, strict=True):
            t.version += 1
            original.version = t.version
            rt.targets[t.key] = t
        for e, original_entry in zip(entries, original_entries, strict=True):
            if e.key is not None and e.key in rt.ledger_keys:
                continue
            e.id = original_entry.id = self._next_id("ledger")
            rt.ledger[e.id] = e
            if e.key is not None:
                rt.ledger_keys.add(e.key)

    # rounds ----------------------------------------------------------------------------
    async def round_add(self: Any, item: Round) -> None:
        self._check()
        rt = self._rt()
        if item.id in rt.rounds:
            raise StoreError(f"round {item.id} already exists")
        rt.rounds[item.id] = _norm_round(item)

    async def round_get(self: Any, round_id: str) -> Round | None:
        self._check()
        found: Round | None = self._rt().rounds.get(round_id)
        return copy.deepcopy(found)

    async def rounds_all(self: Any) -> list[Round]:
        self._check()
        rows = list(self._rt().rounds.values())
        return [copy.deepcopy(r) for r in sorted(rows, key=lambda r: r.created_at)]

    def _save(self: Any, item: Round) -> None:
        rt = self._rt()
        stored = rt.rounds.get(item.id)
        if stored is None or stored.version != item.version:
            raise StaleWrite(f"round {item.id} changed since it was read")
        new = _norm_round(item)
        new.version += 1
        rt.rounds[item.id] = new
        item.version = new.version

    async def round_save(self: Any, item: Round) -> None:
        self._check()
        self._save(item)

    async def round_plan(self: Any, item: Round, targets: Iterable[RoundTarget]) -> int:
        self._check()
        rt = self._rt()
        rows = [_norm_target(t) for t in targets]
        self._save(item)
        inserted = 0
        for t in rows:
            if t.key not in rt.targets:
                rt.targets[t.key] = t
                inserted += 1
        return inserted

    async def round_cancel(self: Any, item: Round, at: dt.datetime) -> int:
        self._check()
        self._save(item)
        count = 0
        for t in self._rt().targets.values():
            if t.round_id == item.id and t.status in ACTIVE_TARGET_STATUSES:
                t.status, t.next_at = "cancelled", None
                t.version += 1
                count += 1
        self._queue = {k: q for k, q in self._queue.items() if q.round_id != item.id}
        for o in self._outbox.values():
            if o.round_id == item.id and o.status in ("pending", "retry"):
                o.status, o.last_error = "cancelled", f"round cancelled {_utc(at)}"
        return count

    async def candidates(self: Any, *, cohort: str | None = None, tag: str | None = None,
                         ids: Sequence[str] | None = None) -> list[Candidate]:
        self._check()
        wanted = None if ids is None else set(ids)
        people = [p for p in await self.list_participants()
                  if p.status not in ("erased", "declined")
                  and (cohort is None or p.cohort == cohort)
                  and (tag is None or tag in p.tags)
                  and (wanted is None or p.id in wanted)]
        out = []
        for p in people:
            quiet, contact = p.profile.get("quiet_hours"), p.profile.get("contact_time")
            c = Candidate(p.id, p.status, p.locale, p.timezone, p.preferred_channel, p.cohort,
                          tuple(p.tags), p.pathway_done,
                          None if quiet is None else str(quiet),
                          None if contact is None else str(contact))
            c.addresses = [(a.address, a.channel, a.opted_out, a.unreachable)
                           for a in await self.addresses_of(p.id)]
            out.append(c)
        return out

    # targets ----------------------------------------------------------------------------
    async def target_get(self: Any, round_id: str, participant_id: str) -> RoundTarget | None:
        self._check()
        found: RoundTarget | None = self._rt().targets.get((round_id, participant_id))
        return copy.deepcopy(found)

    async def targets_of(self: Any, round_id: str) -> list[RoundTarget]:
        self._check()
        rows = [t for t in self._rt().targets.values() if t.round_id == round_id]
        return [copy.deepcopy(t) for t in sorted(rows, key=lambda t: (t.send_at,
                                                                      t.participant_id))]

    def _due_rows(self: Any) -> list[RoundTarget]:
        rt = self._rt()
        running = {r.id for r in rt.rounds.values() if r.status == "running"}
        return [t for t in rt.targets.values() if t.next_at is not None
                and t.round_id in running]

    async def targets_due(self: Any, now: dt.datetime, limit: int = 500) -> list[RoundTarget]:
        self._check()
        now_utc = _u(now)
        rows = [t for t in self._due_rows() if t.next_at is not None and t.next_at <= now_utc]
        rows.sort(key=lambda t: (t.next_at, t.round_id, t.participant_id))
        return [copy.deepcopy(t) for t in rows[:limit]]

    async def targets_open(self: Any, round_id: str) -> int:
        self._check()
        return sum(1 for t in self._rt().targets.values()
                   if t.round_id == round_id and t.next_at is not None)

    async def next_target_at(self: Any) -> dt.datetime | None:
        self._check()
        times = [t.next_at for t in self._due_rows() if t.next_at is not None]
        return min(times, default=None)

    async def round_delivery(self: Any, round_id: str) -> list[DeliveryRow]:
        self._check()
        return [DeliveryRow(o.participant_id, o.channel, o.status, o.delivery_status,
                            o.segments, o.payload.get("kind"))
                for _, o in sorted(self._outbox.items()) if o.round_id == round_id]

    # findings ---------------------------------------------------------------------------
    async def finding_add(self: Any, item: Finding) -> None:
        self._check()
        rt = self._rt()
        if item.id in rt.findings:
            raise StoreError(f"finding {item.id} already exists")
        rt.findings[item.id] = dataclasses.replace(item, created_at=_u(item.created_at))

    async def finding_get(self: Any, finding_id: str) -> Finding | None:
        self._check()
        found: Finding | None = self._rt().findings.get(finding_id)
        return copy.deepcopy(found)

    async def findings_all(self: Any) -> list[Finding]:
        self._check()
        rows = list(self._rt().findings.values())
        return [copy.deepcopy(f) for f in sorted(rows, key=lambda f: f.created_at)]

    # credits ----------------------------------------------------------------------------
    async def ledger(self: Any, *, participant_id: str | None = None) -> list[LedgerEntry]:
        self._check()
        return [copy.deepcopy(e) for _, e in sorted(self._rt().ledger.items())
                if participant_id is None or e.participant_id == participant_id]

    async def payout_pending(self: Any, before: dt.datetime) -> list[LedgerEntry]:
        self._check()
        rt = self._rt()
        limit = _u(before)
        return [copy.deepcopy(e) for i, e in sorted(rt.ledger.items())
                if e.payable and e.at < limit and i not in rt.items]

    async def payout_create(self: Any, batch: PayoutBatch, ledger_ids: Sequence[int]) -> None:
        self._check()
        rt = self._rt()
        if batch.id in rt.batches or any(i in rt.items for i in ledger_ids) \
                or len(set(ledger_ids)) != len(ledger_ids):
            raise StoreError(f"payout {batch.id}: an entry is already in a batch, or the "
                             "batch exists")
        rt.batches[batch.id] = dataclasses.replace(batch, created_at=_u(batch.created_at),
                                                   paid_at=_utc(batch.paid_at))
        for i in ledger_ids:
            rt.items[i] = batch.id

    async def payout_get(self: Any, batch_id: str) -> PayoutBatch | None:
        self._check()
        found: PayoutBatch | None = self._rt().batches.get(batch_id)
        return copy.deepcopy(found)

    async def payout_batches(self: Any) -> list[PayoutBatch]:
        self._check()
        rows = list(self._rt().batches.values())
        return [copy.deepcopy(b) for b in sorted(rows, key=lambda b: b.created_at)]

    async def payout_paid(self: Any, batch_id: str, at: dt.datetime, by: str) -> None:
        self._check()
        batch = self._rt().batches.get(batch_id)
        if batch is not None and batch.paid_at is None:
            batch.status, batch.paid_at, batch.paid_by = "paid", _utc(at), by

    async def payout_of_entries(self: Any) -> dict[int, str]:
        self._check()
        return dict(self._rt().items)

    # audit ----------------------------------------------------------------------------
    async def audit_add(self: Any, entry: AuditEntry) -> None:
        self._check()
        stored = dataclasses.replace(entry, at=_u(entry.at), detail=copy.deepcopy(
            entry.detail))
        stored.id = entry.id = self._next_id("audit_log")
        self._rt().audit.append(stored)

    async def audit_log(self: Any, limit: int = 100) -> list[AuditEntry]:
        self._check()
        return [copy.deepcopy(e) for e in reversed(self._rt().audit[-limit:])]
