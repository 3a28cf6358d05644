"""``MemoryStore.apply``: a unit of work applied to plain dicts with SQLite's semantics
(values normalised as a trip through SQLite would leave them, all or nothing, the same
constraint errors)."""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from bot.engine.session import Session
from bot.errors import AlreadyProcessed, StoreError
from bot.store.records import (
    Address,
    AnswerRow,
    Changes,
    ConsentRecord,
    EventRow,
    InboxItem,
    OutboxItem,
    Participant,
    QueuedFlow,
    Timer,
)
from bot.store.sqlite_codec import (
    check_new,
    json_copy,
    opt_utc,
    safe_text,
    sessions_of,
    to_utc,
)

T = TypeVar("T")


# -- normalisation: what the object would look like after a trip through SQLite -----------

def _participant(p: Participant) -> Participant:
    return dataclasses.replace(
        p, created_at=to_utc(p.created_at), tags=tuple(json_copy(list(p.tags))),
        name=safe_text(p.name), profile=json_copy(p.profile), erased_at=opt_utc(p.erased_at))


def _address(a: Address) -> Address:
    return dataclasses.replace(a, created_at=to_utc(a.created_at),
                               opted_out_at=opt_utc(a.opted_out_at),
                               unreachable_reason=safe_text(a.unreachable_reason))


def _session(s: Session) -> Session:
    return dataclasses.replace(s, started_at=to_utc(s.started_at),
                               updated_at=to_utc(s.updated_at), fields=json_copy(s.fields),
                               vars=json_copy(s.vars))


def _answer(a: AnswerRow) -> AnswerRow:
    return dataclasses.replace(a, value=json_copy(a.value), at=to_utc(a.at))


def _event(e: EventRow) -> EventRow:
    return dataclasses.replace(e, payload=json_copy(e.payload), at=to_utc(e.at))


def _consent(c: ConsentRecord) -> ConsentRecord:
    return dataclasses.replace(c, at=to_utc(c.at))


def _inbox(i: InboxItem) -> InboxItem:
    return dataclasses.replace(i, payload=json_copy(i.payload),
                               received_at=to_utc(i.received_at),
                               processed_at=opt_utc(i.processed_at))


def _outbox(o: OutboxItem) -> OutboxItem:
    return dataclasses.replace(
        o, payload=json_copy(o.payload), created_at=to_utc(o.created_at),
        not_before=to_utc(o.not_before), next_attempt_at=opt_utc(o.next_attempt_at),
        last_error=safe_text(o.last_error), sent_at=opt_utc(o.sent_at))


def _queued(q: QueuedFlow) -> QueuedFlow:
    return dataclasses.replace(q, vars=json_copy(q.vars), queued_at=to_utc(q.queued_at))


def _timer(t: Timer) -> Timer:
    return dataclasses.replace(t, due_at=to_utc(t.due_at))


def _copies(items: Iterable[T]) -> list[T]:
    return [copy.deepcopy(item) for item in items]


def _sorted(items: Iterable[T], key: Callable[[T], Any]) -> list[T]:
    return _copies(sorted(items, key=key))


class MemoryApply:
    """Mixed into MemoryStore: ``apply``, all or nothing like SQLite's transaction."""

    async def apply(self: Any, changes: Changes) -> None:
        self._check()
        for kind, items in (("answer", changes.answers), ("event", changes.events),
                            ("outbox item", changes.outbox),
                            ("queued flow", changes.queue_push), ("timer", changes.timers_set)):
            check_new(kind, items)
        # Copy and validate everything first: nothing after this line can fail.
        copied = _Copied.of(changes, to_utc(self._clock.now()))
        targets, ledger = self._rounds_check(changes.targets, changes.ledger)
        self._timebank_check(changes)
        self._events_check(changes)
        self._check_consistent(changes, copied)
        self._write_rows(changes, copied)
        self._rounds_write(targets, changes.targets, ledger, changes.ledger)
        self._timebank_write(changes)
        self._events_write(changes)
        self._use_invites(changes.invites_used)
        self._finish_inbox(changes.inbox_done, copied.done_at)
        await self._erase(changes.erase)

    def _check_consistent(self: Any, changes: Changes, copied: _Copied) -> None:
        """What SQLite's constraints would refuse: an inbox row processed twice, an
        erasure of nobody, an address of an unknown participant."""
        for inbox_id in changes.inbox_done:
            pending = self._inbox.get(inbox_id)
            if pending is not None and pending.status != "pending":
                raise AlreadyProcessed(inbox_id)
        participant = copied.participant
        known = set(self._participants) | ({participant.id} if participant else set())
        if changes.erase is not None and changes.erase[0] not in known:
            raise KeyError(changes.erase[0])
        for address in copied.addresses:
            if address.participant_id not in known:
                raise StoreError(f"store refused inconsistent data: address "
                                 f"{address.address!r} names unknown participant "
                                 f"{address.participant_id!r} (FOREIGN KEY constraint failed)")

    def _write_rows(self: Any, changes: Changes, copied: _Copied) -> None:
        if copied.participant is not None:
            self._participants[copied.participant.id] = copied.participant
        for session in copied.sessions:
            self._sessions[session.id] = session
        self._insert("answers", self._answers, copied.answers, changes.answers)
        self._insert("events", self._events, copied.events, changes.events)
        self._consents.extend(copied.consents)
        self._insert("outbox", self._outbox, copied.outbox, changes.outbox)
        for queue_id in changes.queue_remove:
            self._queue.pop(queue_id, None)
        self._insert("queued_flows", self._queue, copied.queue_push, changes.queue_push)
        clear = set(changes.timers_clear_session)
        self._timers = {k: t for k, t in self._timers.items() if t.session_id not in clear}
        self._insert("timers", self._timers, copied.timers_set, changes.timers_set)
        for address in copied.addresses:
            self._addresses[address.address] = address

    def _insert(self: Any, table: str, rows: dict[int, Any], copies: list[Any],
                originals: list[Any]) -> None:
        """New rows get the next id, on the stored copy and on the caller's object."""
        for row, original in zip(copies, originals, strict=True):
            row.id = original.id = self._next_id(table)
            rows[row.id] = row

    def _use_invites(self: Any, codes: list[str]) -> None:
        for code in codes:
            invite = self._invites().get(code)
            if invite is not None:
                invite.uses += 1
                invite.used_at = invite.used_at or to_utc(self._clock.now())

    def _finish_inbox(self: Any, inbox_ids: list[int], done_at: dt.datetime) -> None:
        for inbox_id in inbox_ids:
            inbox = self._inbox.get(inbox_id)
            if inbox is not None:
                inbox.status, inbox.processed_at = "done", done_at
                inbox.attempts += 1
                inbox.payload = {}  # processed: its effects are stored; keep only the key


@dataclass
class _Copied:
    """A ``Changes`` normalised as SQLite would store it, before anything is written."""

    participant: Participant | None
    sessions: list[Session]
    addresses: list[Address]
    answers: list[AnswerRow]
    events: list[EventRow]
    consents: list[ConsentRecord]
    outbox: list[OutboxItem]
    queue_push: list[QueuedFlow]
    timers_set: list[Timer]
    done_at: dt.datetime

    @classmethod
    def of(cls, changes: Changes, now: dt.datetime) -> _Copied:
        events = [_event(e) for e in changes.events]
        return cls(
            participant=(None if changes.participant is None
                         else _participant(changes.participant)),
            sessions=[_session(s) for s in sessions_of(changes)],
            addresses=[_address(a) for a in changes.addresses],
            answers=[_answer(a) for a in changes.answers],
            events=events,
            consents=[_consent(c) for c in changes.consents],
            outbox=[_outbox(o) for o in changes.outbox],
            queue_push=[_queued(q) for q in changes.queue_push],
            timers_set=[_timer(t) for t in changes.timers_set],
            done_at=max((e.at for e in events), default=now))
