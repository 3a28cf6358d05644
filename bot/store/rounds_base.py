"""The store interface for rounds, findings, credits and the audit log.

Part of ``Store`` (``bot/store/base.py``); implemented by ``SqliteRounds`` and covered by
the one contract suite in ``tests/test_store_contract.py``.

Round targets and ledger entries are also written through ``Store.apply`` (fields
``Changes.targets`` and ``Changes.ledger``), so that a step of a round, a credit and the
messages or session change that caused them commit together:

- a target in ``Changes.targets`` is written only if the stored row still has the
  ``version`` the caller read; its version is then bumped. Otherwise ``apply`` raises
  ``StaleWrite`` and nothing in the unit is kept.
- a ledger entry with a ``key`` that is already in the ledger is silently not added
  again (one completion, one credit).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Protocol

from bot.errors import StoreError
from bot.store.round_records import (
    AuditEntry,
    Candidate,
    DeliveryRow,
    Finding,
    LedgerEntry,
    PayoutBatch,
    Round,
    RoundTarget,
)


class StaleWrite(StoreError):
    """Someone else changed the row since it was read; the whole unit was rolled back."""


class RoundsStore(Protocol):
    # rounds ----------------------------------------------------------------------------
    async def round_add(self, item: Round) -> None:
        """Insert a new round; StoreError if the id exists."""

    async def round_get(self, round_id: str) -> Round | None: ...
    async def rounds_all(self) -> list[Round]:
        """Every round, oldest first."""

    async def round_save(self, item: Round) -> None:
        """Write back a round read earlier (compare-and-set on ``version``, then bumped);
        StaleWrite if it changed meanwhile."""

    async def round_plan(self, item: Round, targets: Iterable[RoundTarget]) -> int:
        """Save ``item`` (compare-and-set) and insert its targets, all in one transaction.
        Targets already present for the round are left as they are. Returns how many
        rows were inserted."""

    async def round_cancel(self, item: Round, at: dt.datetime) -> int:
        """Save ``item`` (compare-and-set) and, in the same transaction, mark its
        unfinished targets cancelled, drop its queued flows and cancel its unsent outbox
        rows. Returns how many targets were cancelled."""

    async def candidates(self, *, cohort: str | None = None, tag: str | None = None,
                         ids: Sequence[str] | None = None) -> list[Candidate]:
        """People who may be sent a round (not erased, not declined), with their
        addresses (oldest first), filtered by cohort, tag or ids; in enrolment order."""

    # targets ----------------------------------------------------------------------------
    async def target_get(self, round_id: str, participant_id: str) -> RoundTarget | None: ...
    async def targets_of(self, round_id: str) -> list[RoundTarget]: ...
    async def targets_due(self, now: dt.datetime, limit: int = 500) -> list[RoundTarget]:
        """Targets with work due (``next_at <= now``) in rounds that are running, the
        earliest first."""

    async def targets_open(self, round_id: str) -> int:
        """How many of the round's targets still have a step to take."""

    async def next_target_at(self) -> dt.datetime | None:
        """The earliest ``next_at`` of any target of a running round."""

    async def round_delivery(self, round_id: str) -> list[DeliveryRow]:
        """The round's outbox rows without their text (prefix ``round_id`` matches only
        the round itself)."""

    # findings -------------------------------------------------------------------------
    async def finding_add(self, item: Finding) -> None: ...
    async def finding_get(self, finding_id: str) -> Finding | None: ...
    async def findings_all(self) -> list[Finding]:
        """Every version of every finding, oldest first."""

    # credits ----------------------------------------------------------------------------
    async def ledger(self, *, participant_id: str | None = None) -> list[LedgerEntry]:
        """Ledger entries in order of entry."""

    async def payout_pending(self, before: dt.datetime) -> list[LedgerEntry]:
        """Payable entries dated before ``before`` that no payout batch holds yet."""

    async def payout_create(self, batch: PayoutBatch, ledger_ids: Sequence[int]) -> None:
        """Record the batch and the entries it pays, in one transaction; StoreError (and
        nothing kept) if any entry is already in a batch."""

    async def payout_get(self, batch_id: str) -> PayoutBatch | None: ...
    async def payout_batches(self) -> list[PayoutBatch]: ...
    async def payout_paid(self, batch_id: str, at: dt.datetime, by: str) -> None:
        """Mark a batch paid (once: a second call keeps the first time)."""

    async def payout_of_entries(self) -> dict[int, str]:
        """Ledger entry id → the batch that pays it."""

    # audit ----------------------------------------------------------------------------
    async def audit_add(self, entry: AuditEntry) -> None: ...
    async def audit_log(self, limit: int = 100) -> list[AuditEntry]:
        """The latest entries, newest first."""


__all__ = ["RoundsStore", "StaleWrite"]

