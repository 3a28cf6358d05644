"""Rows for rounds, findings, credits and the coordinators' audit log.

Kept beside ``records.py`` (the conversation rows) so each file stays about one thing.
Amounts of credit are integers in hundredths, so sums are exact and a payout CSV adds
up to the ledger to the penny.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Literal

Channel = Literal["telegram", "sms", "whatsapp", "console"]

RoundStatus = Literal["draft", "running", "paused", "closed", "cancelled"]
TargetStatus = Literal[
    "planned",     # waiting for its send time
    "sent",        # the round's flow began (messages written to the outbox)
    "queued",      # waiting behind another active conversation
    "consenting",  # an imported person: introduction and consent come first
    "completed",   # finished the flow
    "no_reply",    # the flow ended itself for want of a reply
    "closed",      # the close time passed without completion
    "opted_out",   # every address has said STOP
    "unreachable",  # no address that can be messaged
    "declined",    # said no to taking part
    "skipped",     # erased, or otherwise no longer someone to message
    "cancelled",   # the round was cancelled first
]
ACTIVE_TARGET_STATUSES: tuple[TargetStatus, ...] = ("planned", "sent", "queued", "consenting")
"""Targets the scheduler still has work for (a send, a reminder or the close)."""

CENTS = 100
"""Credit amounts are stored in hundredths."""


@dataclass(slots=True)
class Round:
    """One sending of a flow to an audience. A repeating round (``every``) is a series:
    the first occurrence's id is the series id and later ones are ``<series>-<n>``."""

    id: str
    flow_id: str
    audience: str
    """``all``, ``cohort:NAME``, ``tag:T`` or ``ids:FILE`` (the ids are in ``audience_ids``)."""
    created_at: dt.datetime
    start_at: dt.datetime
    status: RoundStatus = "draft"
    label: str | None = None
    finding_id: str | None = None
    vars: dict[str, str] = field(default_factory=dict)
    every: str | None = None
    until: dt.datetime | None = None
    remind_after: tuple[str, ...] = ()
    close_after: str | None = None
    series_id: str | None = None
    occurrence: int = 1
    audience_ids: tuple[str, ...] = ()
    created_by: str = ""
    started_at: dt.datetime | None = None
    closed_at: dt.datetime | None = None
    version: int = 0
    """Bumped by every save; a save from a stale copy raises ``StaleWrite``."""


@dataclass(slots=True)
class RoundTarget:
    """One person in one round, with the step the scheduler will take next.

    ``step`` 0 is the first send, 1..k the reminders, k+1 the close. The row is written in
    the same transaction as the outbox rows of the step it records, and only if its
    ``version`` is still the one read, so no step is ever taken twice.
    """

    round_id: str
    participant_id: str
    send_at: dt.datetime
    channel: Channel | None = None
    address: str | None = None
    status: TargetStatus = "planned"
    step: int = 0
    next_at: dt.datetime | None = None
    sent_at: dt.datetime | None = None
    closes_at: dt.datetime | None = None
    started_at: dt.datetime | None = None
    completed_at: dt.datetime | None = None
    late: bool = False
    segments_estimated: int = 0
    vars: dict[str, str] = field(default_factory=dict)
    """Per-person flow variables (e.g. ``you_said`` in a revision round)."""
    version: int = 0

    @property
    def key(self) -> tuple[str, str]:
        return (self.round_id, self.participant_id)


@dataclass(slots=True)
class Candidate:
    """What planning needs to know about one person, read in bulk."""

    id: str
    status: str
    locale: str
    timezone: str | None
    preferred_channel: str | None
    cohort: str | None
    tags: tuple[str, ...]
    pathway_done: bool
    quiet_hours: str | None
    contact_time: str | None
    addresses: list[tuple[str, Channel, bool, bool]] = field(default_factory=list)
    """``(address, channel, opted_out, unreachable)`` oldest first."""


@dataclass(slots=True)
class DeliveryRow:
    """One outbox row of a round, without its text (for progress counts)."""

    participant_id: str
    channel: Channel
    status: str
    delivery_status: str | None
    segments: int | None
    kind: str | None = None


@dataclass(slots=True)
class Finding:
    """One version of a draft finding. Versions of the same finding share ``lineage``."""

    id: str
    title: str
    text: str
    created_at: dt.datetime
    lineage: str
    version: int = 1
    replaces: str | None = None
    changes: str = ""
    """What changed since the version it replaces ("we did", in "you said, we did")."""
    source: str = ""
    created_by: str = ""


LedgerKind = Literal["earned", "adjustment"]


@dataclass(slots=True)
class LedgerEntry:
    """Append-only. ``key`` makes an entry idempotent (``completion:<session id>``)."""

    participant_id: str
    at: dt.datetime
    amount: int
    """Hundredths of a credit; negative for a deduction."""
    kind: LedgerKind = "earned"
    payable: bool = True
    """False when the person declined payment: participation is recorded, nothing paid."""
    key: str | None = None
    flow_id: str | None = None
    session_id: str | None = None
    round_id: str | None = None
    note: str = ""
    actor: str = ""
    id: int | None = None


PayoutStatus = Literal["exported", "paid"]


@dataclass(slots=True)
class PayoutBatch:
    id: str
    period: str
    created_at: dt.datetime
    total: int
    rows: int
    file: str = ""
    status: PayoutStatus = "exported"
    actor: str = ""
    paid_at: dt.datetime | None = None
    paid_by: str = ""


@dataclass(slots=True)
class AuditEntry:
    """A coordinator's action, from the CLI, Telegram or SMS (and later the dashboard)."""

    at: dt.datetime
    actor: str
    action: str
    subject: str = ""
    detail: dict[str, Any] = field(default_factory=dict)
    id: int | None = None
