"""Rows the store keeps, as plain dataclasses shared by every store implementation."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Literal

from bot.engine.session import FieldValue, Session
from bot.store.events import Event, Rsvp
from bot.store.round_records import LedgerEntry, RoundTarget
from bot.store.timebank import HourEntry, SpendDecision, SpendRequest

Channel = Literal["telegram", "sms", "whatsapp", "console", "webhook"]
ParticipantStatus = Literal["new", "consented", "declined", "erased"]
OutboxStatus = Literal["pending", "sending", "sent", "retry", "failed", "ambiguous", "cancelled"]
InboxStatus = Literal["pending", "done", "failed"]


@dataclass
class Participant:
    """One person, whatever channels they use. Before consent only the address is kept."""

    id: str
    created_at: dt.datetime
    status: ParticipantStatus = "new"
    locale: str = "en"
    timezone: str | None = None
    preferred_channel: Channel | None = None
    cohort: str | None = None
    tags: tuple[str, ...] = ()
    name: str | None = None
    profile: dict[str, FieldValue] = field(default_factory=dict)
    consent_version: str | None = None
    imported: bool = False
    pathway_done: bool = False
    """True once the enrolment pathway (language, consent, onboarding) has finished."""
    erased_at: dt.datetime | None = None


@dataclass
class Address:
    """``telegram:<chat id>`` or ``tel:<E.164>``, with its own opt-out state."""

    address: str
    participant_id: str
    channel: Channel
    created_at: dt.datetime
    opted_out: bool = False
    opted_out_at: dt.datetime | None = None
    unreachable: bool = False
    unreachable_reason: str | None = None


@dataclass
class ConsentRecord:
    participant_id: str
    version: str
    decision: Literal["given", "declined", "withdrawn"]
    at: dt.datetime


@dataclass
class AnswerRow:
    """An answer, append-only. ``raw`` is exactly what the person sent."""

    participant_id: str
    session_id: str
    flow_id: str
    flow_version: str
    node: str
    field: str | None
    value: FieldValue
    raw: str | None
    at: dt.datetime
    round_id: str | None = None
    skipped: bool = False
    late: bool = False
    id: int | None = None


@dataclass
class EventRow:
    participant_id: str | None
    session_id: str | None
    name: str
    payload: dict[str, Any]
    at: dt.datetime
    id: int | None = None


@dataclass
class InboxItem:
    """An inbound update, stored before the webhook is acknowledged."""

    channel: Channel
    dedupe_key: str
    address: str
    payload: dict[str, Any]
    received_at: dt.datetime
    status: InboxStatus = "pending"
    attempts: int = 0
    processed_at: dt.datetime | None = None
    id: int | None = None


@dataclass
class OutboxItem:
    """A message to send. Written in the same transaction as the change that caused it."""

    participant_id: str
    address: str
    channel: Channel
    payload: dict[str, Any]
    """Rendered message: ``text``, ``plain``, ``choices``, ``layout``, ``kind``, ``node``."""
    created_at: dt.datetime
    not_before: dt.datetime
    status: OutboxStatus = "pending"
    attempts: int = 0
    next_attempt_at: dt.datetime | None = None
    provider_id: str | None = None
    last_error: str | None = None
    round_id: str | None = None
    delivery_status: str | None = None
    segments: int | None = None
    sent_at: dt.datetime | None = None
    id: int | None = None


@dataclass
class QueuedFlow:
    """A flow waiting for the participant's active session to end."""

    participant_id: str
    flow_id: str
    vars: dict[str, str]
    queued_at: dt.datetime
    round_id: str | None = None
    id: int | None = None


@dataclass
class Timer:
    """A no-reply timeout or reminder, carrying the version (``asked``) that set it."""

    session_id: str
    participant_id: str
    node: str
    asked: int
    due_at: dt.datetime
    kind: Literal["timeout", "expiry"] = "timeout"
    id: int | None = None


@dataclass
class Changes:
    """One unit of work, committed atomically by ``Store.apply``.

    Keeping the session change, the answers, the events and the outbox rows in one
    transaction is what makes "persisted, then acknowledged" and "no lost, no duplicate
    message" hold across crashes.
    """

    participant: Participant | None = None
    addresses: list[Address] = field(default_factory=list)
    session: Session | None = None
    more_sessions: list[Session] = field(default_factory=list)
    """Further sessions changed in the same unit (a flow ends and the next begins)."""
    answers: list[AnswerRow] = field(default_factory=list)
    events: list[EventRow] = field(default_factory=list)
    consents: list[ConsentRecord] = field(default_factory=list)
    outbox: list[OutboxItem] = field(default_factory=list)
    queue_push: list[QueuedFlow] = field(default_factory=list)
    queue_remove: list[int] = field(default_factory=list)
    timers_set: list[Timer] = field(default_factory=list)
    timers_clear_session: list[str] = field(default_factory=list)
    """Delete every timer of these session ids (before ``timers_set`` is applied)."""
    inbox_done: list[int] = field(default_factory=list)
    targets: list[RoundTarget] = field(default_factory=list)
    """Round targets to write back, each only if its stored ``version`` is unchanged
    (else ``StaleWrite`` and nothing in the unit is kept); see ``rounds_base.py``."""
    ledger: list[LedgerEntry] = field(default_factory=list)
    """Credit ledger entries; one whose ``key`` is already recorded is not added again."""
    invites_used: list[str] = field(default_factory=list)
    """Invite codes this unit used (one more use each): counted with the enrolment they
    made, so a crash in between cannot use up someone's single-use link."""
    hours: list[HourEntry] = field(default_factory=list)
    """Time-bank ledger entries (``bot/store/timebank.py``); a known ``key`` is skipped."""
    spend_requests: list[SpendRequest] = field(default_factory=list)
    spend_decisions: list[SpendDecision] = field(default_factory=list)
    """Each applies only to a request still pending, else StaleWrite (nothing kept)."""
    rsvps: list[Rsvp] = field(default_factory=list)
    event_versions: list[tuple[str, int]] = field(default_factory=list)
    """``(event id, version read)``: the unit commits only if the event is unchanged
    (``bot/store/events.py``), so two replies cannot both take the last place."""
    event_edits: list[Event] = field(default_factory=list)
    """Events whose time, place, capacity or status a coordinator changed; each must be
    in ``event_versions`` too (``bot/events/changes.py``)."""
    erase: tuple[str, dt.datetime] | None = None
    """Erase this participant at this time, last, in the same transaction (``erasure``):
    a goodbye queued in the unit is sent only if the erasure is kept, and vice versa."""


@dataclass
class Invite:
    """An invite code: links a new chat to an imported person, or enrols into a cohort."""

    code: str
    created_at: dt.datetime
    cohort: str | None = None
    participant_id: str | None = None
    used_at: dt.datetime | None = None
    uses: int = 0
    max_uses: int = 1
