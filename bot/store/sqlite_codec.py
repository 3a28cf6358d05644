"""How the SQLite store writes values and reads rows. The storage rules are in
``bot/store/sqlite.py``'s docstring; this module is the codec, the row mappers and the
write statements."""

from __future__ import annotations

import datetime as dt
import json
import re
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from bot.engine.session import FieldValue, Session, SessionStatus
from bot.errors import StoreError
from bot.json_codec import dumps_text, loads, utf8_ok
from bot.store.records import (
    Address,
    AnswerRow,
    Changes,
    Channel,
    ConsentRecord,
    EventRow,
    InboxItem,
    InboxStatus,
    OutboxItem,
    OutboxStatus,
    Participant,
    ParticipantStatus,
    QueuedFlow,
    Timer,
)
from bot.store.sql_runner import SqlRow

UTC = dt.UTC
T = TypeVar("T")
Params = tuple[Any, ...]

ACTIVE_STATUSES = ("active", "waiting")
DUE_STATUSES = ("pending", "retry")

_SURROGATE = re.compile("[\ud800-\udfff]")


# -- codec -------------------------------------------------------------------------------

def to_utc(value: dt.datetime) -> dt.datetime:
    """The same instant in UTC; naive datetimes are refused."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value.isoformat()} given to the store; "
                         "use timezone-aware datetimes")
    return value.astimezone(UTC)


def dt_text(value: dt.datetime) -> str:
    if value.tzinfo is not UTC:  # the clock's own times are UTC already
        value = to_utc(value)
    return value.isoformat(timespec="microseconds")


def opt_dt_text(value: dt.datetime | None) -> str | None:
    return None if value is None else dt_text(value)


def parse_dt(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).astimezone(UTC)


def opt_parse_dt(text: str | None) -> dt.datetime | None:
    return None if text is None else parse_dt(text)


def dumps(value: Any) -> str:
    """JSON text for a column; raises TypeError for values JSON cannot hold."""
    return dumps_text(value)


def safe_text(text: str | None) -> str | None:
    """Free text made UTF-8 encodable: lone surrogates become U+FFFD."""
    if text is None or utf8_ok(text):
        return text
    return _SURROGATE.sub("\ufffd", text)


def encode_raw(raw: str | None) -> tuple[str | None, int]:
    # NUL too: PostgreSQL's text cannot hold it (the escaped form is portable)
    if raw is None or ("\x00" not in raw and utf8_ok(raw)):
        return raw, 0
    return json.dumps(raw, ensure_ascii=True), 1


def decode_raw(text: str | None, escaped: int) -> str | None:
    if text is None or not escaped:
        return text
    return cast(str, json.loads(text))


def store_error(exc: sqlite3.Error) -> StoreError:
    """A StoreError saying in plain words why SQLite refused."""
    detail = str(exc) or type(exc).__name__
    low = detail.lower()
    if "locked" in low or "busy" in low:
        reason = "store is locked by another process"
    elif "full" in low:
        reason = "store is full (disk full or size limit reached)"
    elif "readonly" in low or "read-only" in low:
        reason = "store is read-only"
    elif "no such table" in low or "no such column" in low:
        reason = "store has the wrong schema"
    elif "malformed" in low or "not a database" in low:
        reason = "store file is corrupt or not a Parley database"
    elif "unable to open" in low:
        reason = "cannot open the store file"
    elif isinstance(exc, sqlite3.IntegrityError):
        reason = "store refused inconsistent data"
    else:
        reason = "store error"
    return StoreError(f"{reason}: {detail}")


# -- rows --------------------------------------------------------------------------------

def _participant_params(p: Participant) -> Params:
    return (p.id, dt_text(p.created_at), p.status, p.locale, p.timezone, p.preferred_channel,
            p.cohort, dumps(list(p.tags)), safe_text(p.name), dumps(p.profile),
            p.consent_version, int(p.imported), int(p.pathway_done), opt_dt_text(p.erased_at))


def _participant(row: SqlRow) -> Participant:
    return Participant(
        id=row["id"], created_at=parse_dt(row["created_at"]),
        status=cast(ParticipantStatus, row["status"]), locale=row["locale"],
        timezone=row["timezone"], preferred_channel=cast(Channel | None,
                                                         row["preferred_channel"]),
        cohort=row["cohort"], tags=tuple(loads(row["tags"])), name=row["name"],
        profile=loads(row["profile"]), consent_version=row["consent_version"],
        imported=bool(row["imported"]), pathway_done=bool(row["pathway_done"]),
        erased_at=opt_parse_dt(row["erased_at"]))


def _address_params(a: Address) -> Params:
    return (a.address, a.participant_id, a.channel, dt_text(a.created_at), int(a.opted_out),
            opt_dt_text(a.opted_out_at), int(a.unreachable), safe_text(a.unreachable_reason))


def _address(row: SqlRow, prefix: str = "") -> Address:
    """``prefix``: the columns' alias prefix when read beside a participant's."""
    p = prefix
    return Address(
        address=row[p + "address"], participant_id=row[p + "participant_id"],
        channel=cast(Channel, row[p + "channel"]), created_at=parse_dt(row[p + "created_at"]),
        opted_out=bool(row[p + "opted_out"]), opted_out_at=opt_parse_dt(row[p + "opted_out_at"]),
        unreachable=bool(row[p + "unreachable"]),
        unreachable_reason=row[p + "unreachable_reason"])


def _session_params(s: Session) -> Params:
    return (s.id, s.participant_id, s.flow_id, s.flow_version, s.node, s.status, s.locale,
            dt_text(s.started_at), dt_text(s.updated_at), dumps(s.fields), dumps(s.vars),
            s.asked, s.retries, s.round_id)


def _session(row: SqlRow) -> Session:
    return Session(
        id=row["id"], participant_id=row["participant_id"], flow_id=row["flow_id"],
        flow_version=row["flow_version"], node=row["node"],
        status=cast(SessionStatus, row["status"]), locale=row["locale"],
        started_at=parse_dt(row["started_at"]), updated_at=parse_dt(row["updated_at"]),
        fields=loads(row["fields"]), vars=loads(row["vars"]), asked=row["asked"],
        retries=row["retries"], round_id=row["round_id"])


def _answer_params(a: AnswerRow) -> Params:
    raw, escaped = encode_raw(a.raw)
    return (a.participant_id, a.session_id, a.flow_id, a.flow_version, a.node, a.field,
            dumps(a.value), raw, escaped, dt_text(a.at), a.round_id, int(a.skipped),
            int(a.late))


def _answer(row: SqlRow) -> AnswerRow:
    value: FieldValue = None if row["value"] is None else loads(row["value"])
    return AnswerRow(
        participant_id=row["participant_id"], session_id=row["session_id"],
        flow_id=row["flow_id"], flow_version=row["flow_version"], node=row["node"],
        field=row["field"], value=value, raw=decode_raw(row["raw"], row["raw_escaped"]),
        at=parse_dt(row["at"]), round_id=row["round_id"], skipped=bool(row["skipped"]),
        late=bool(row["late"]), id=row["id"])


def _event_params(e: EventRow) -> Params:
    return (e.participant_id, e.session_id, e.name, dumps(e.payload), dt_text(e.at))


def _event(row: SqlRow) -> EventRow:
    return EventRow(participant_id=row["participant_id"], session_id=row["session_id"],
                    name=row["name"], payload=loads(row["payload"]),
                    at=parse_dt(row["at"]), id=row["id"])


def _consent(row: SqlRow) -> ConsentRecord:
    return ConsentRecord(participant_id=row["participant_id"], version=row["version"],
                         decision=cast(Any, row["decision"]), at=parse_dt(row["at"]))


def _inbox(row: SqlRow) -> InboxItem:
    return InboxItem(
        channel=cast(Channel, row["channel"]), dedupe_key=row["dedupe_key"],
        address=row["address"], payload=loads(row["payload"]),
        received_at=parse_dt(row["received_at"]), status=cast(InboxStatus, row["status"]),
        attempts=row["attempts"], processed_at=opt_parse_dt(row["processed_at"]),
        id=row["id"])


def _outbox_params(o: OutboxItem) -> Params:
    return (o.participant_id, o.address, o.channel, dumps(o.payload), dt_text(o.created_at),
            dt_text(o.not_before), o.status, o.attempts, opt_dt_text(o.next_attempt_at),
            o.provider_id, safe_text(o.last_error), o.round_id, o.delivery_status, o.segments,
            opt_dt_text(o.sent_at))


def _outbox(row: SqlRow) -> OutboxItem:
    return OutboxItem(
        participant_id=row["participant_id"], address=row["address"],
        channel=cast(Channel, row["channel"]), payload=loads(row["payload"]),
        created_at=parse_dt(row["created_at"]), not_before=parse_dt(row["not_before"]),
        status=cast(OutboxStatus, row["status"]), attempts=row["attempts"],
        next_attempt_at=opt_parse_dt(row["next_attempt_at"]),
        provider_id=row["provider_id"], last_error=row["last_error"],
        round_id=row["round_id"], delivery_status=row["delivery_status"],
        segments=row["segments"], sent_at=opt_parse_dt(row["sent_at"]), id=row["id"])


def _queued(row: SqlRow) -> QueuedFlow:
    return QueuedFlow(participant_id=row["participant_id"], flow_id=row["flow_id"],
                      vars=loads(row["vars"]), queued_at=parse_dt(row["queued_at"]),
                      round_id=row["round_id"], id=row["id"])


def _timer(row: SqlRow) -> Timer:
    return Timer(session_id=row["session_id"], participant_id=row["participant_id"],
                 node=row["node"], asked=row["asked"], due_at=parse_dt(row["due_at"]),
                 kind=row["kind"], id=row["id"])


def sessions_of(changes: Changes) -> list[Session]:
    """``session`` then ``more_sessions``, upserted in that order."""
    first = [] if changes.session is None else [changes.session]
    return [*first, *changes.more_sessions]


def check_new(kind: str, items: Iterable[Any]) -> None:
    """Rows ``apply`` inserts must not carry an id yet (a retried, already stored row)."""
    for item in items:
        if item.id is not None:
            raise ValueError(f"{kind} already has id {item.id}; apply inserts new rows only")


# -- SQL ---------------------------------------------------------------------------------

_UPSERT_PARTICIPANT = """
INSERT INTO participants (id, created_at, status, locale, timezone, preferred_channel, cohort,
    tags, name, profile, consent_version, imported, pathway_done, erased_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (id) DO UPDATE SET created_at = excluded.created_at, status = excluded.status,
    locale = excluded.locale, timezone = excluded.timezone,
    preferred_channel = excluded.preferred_channel, cohort = excluded.cohort,
    tags = excluded.tags, name = excluded.name, profile = excluded.profile,
    consent_version = excluded.consent_version, imported = excluded.imported,
    pathway_done = excluded.pathway_done, erased_at = excluded.erased_at"""

_UPSERT_ADDRESS = """
INSERT INTO addresses (address, participant_id, channel, created_at, opted_out, opted_out_at,
    unreachable, unreachable_reason)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (address) DO UPDATE SET participant_id = excluded.participant_id,
    channel = excluded.channel, created_at = excluded.created_at,
    opted_out = excluded.opted_out, opted_out_at = excluded.opted_out_at,
    unreachable = excluded.unreachable, unreachable_reason = excluded.unreachable_reason"""

_UPSERT_SESSION = """
INSERT INTO sessions (id, participant_id, flow_id, flow_version, node, status, locale,
    started_at, updated_at, fields, vars, asked, retries, round_id)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (id) DO UPDATE SET participant_id = excluded.participant_id,
    flow_id = excluded.flow_id, flow_version = excluded.flow_version, node = excluded.node,
    status = excluded.status, locale = excluded.locale, started_at = excluded.started_at,
    updated_at = excluded.updated_at, fields = excluded.fields, vars = excluded.vars,
    asked = excluded.asked, retries = excluded.retries, round_id = excluded.round_id"""

_INSERT_ANSWER = """
INSERT INTO answers (participant_id, session_id, flow_id, flow_version, node, field, value,
    raw, raw_escaped, at, round_id, skipped, late)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"""

_INSERT_EVENT = """
INSERT INTO events (participant_id, session_id, name, payload, at) VALUES (?, ?, ?, ?, ?)"""

_INSERT_CONSENT = """
INSERT INTO consents (participant_id, version, decision, at) VALUES (?, ?, ?, ?)"""

_INSERT_OUTBOX = """
INSERT INTO outbox (participant_id, address, channel, payload, created_at, not_before, status,
    attempts, next_attempt_at, provider_id, last_error, round_id, delivery_status, segments,
    sent_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"""

_INSERT_QUEUED = """
INSERT INTO queued_flows (participant_id, flow_id, vars, queued_at, round_id)
VALUES (?, ?, ?, ?, ?)"""

_INSERT_TIMER = """
INSERT INTO timers (session_id, participant_id, node, asked, due_at, kind)
VALUES (?, ?, ?, ?, ?, ?)"""

_INSERT_INBOX = """
INSERT INTO inbox (channel, dedupe_key, address, payload, received_at, status, attempts,
    processed_at)
SELECT ?, ?, ?, ?, ?, ?, ?, ?
WHERE NOT EXISTS (SELECT 1 FROM inbox WHERE channel = ? AND dedupe_key = ?)
ON CONFLICT (channel, dedupe_key) DO NOTHING"""
"""The last two parameters: the channel and the key the row would keep had its sender
been erased (``erasure.forgotten_key``), so a replay after an erasure is a duplicate."""


@dataclass
class _Encoded:
    """A ``Changes`` turned into statement parameters before the transaction starts, so
    encoding problems (naive datetimes, values JSON cannot hold) fail before any write."""

    participant: Params | None
    addresses: list[Params]
    sessions: list[Params]
    answers: list[Params]
    events: list[Params]
    consents: list[Params]
    outbox: list[Params]
    queue_push: list[Params]
    timers_set: list[Params]
    inbox_done_at: str | None

    @classmethod
    def of(cls, changes: Changes, now: dt.datetime) -> _Encoded:
        check_new("answer", changes.answers)
        check_new("event", changes.events)
        check_new("outbox item", changes.outbox)
        check_new("queued flow", changes.queue_push)
        check_new("timer", changes.timers_set)
        done_at = max((to_utc(e.at) for e in changes.events), default=to_utc(now))
        return cls(
            participant=(None if changes.participant is None
                         else _participant_params(changes.participant)),
            addresses=[_address_params(a) for a in changes.addresses],
            sessions=[_session_params(s) for s in sessions_of(changes)],
            answers=[_answer_params(a) for a in changes.answers],
            events=[_event_params(e) for e in changes.events],
            consents=[(c.participant_id, c.version, c.decision, dt_text(c.at))
                      for c in changes.consents],
            outbox=[_outbox_params(o) for o in changes.outbox],
            queue_push=[(q.participant_id, q.flow_id, dumps(q.vars), dt_text(q.queued_at),
                         q.round_id) for q in changes.queue_push],
            timers_set=[(t.session_id, t.participant_id, t.node, t.asked, dt_text(t.due_at),
                         t.kind) for t in changes.timers_set],
            inbox_done_at=dt_text(done_at) if changes.inbox_done else None)


def _filters(**conditions: str | None) -> tuple[str, list[str]]:
    """`` WHERE a = ? AND b = ?`` for the conditions that are not None (names are ours)."""
    names = [name for name, value in conditions.items() if value is not None]
    if not names:
        return "", []
    clause = " WHERE " + " AND ".join(f"{name} = ?" for name in names)
    return clause, [v for v in conditions.values() if v is not None]
