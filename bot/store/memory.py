"""``MemoryStore``: the SQLite store's in-memory twin, for fast tests and the simulator.

It keeps the same contract, down to the details tests can see: values are normalised
the way SQLite stores them (UTC datetimes, JSON-shaped dicts, lone surrogates in free
text replaced), ids count up from 1 per table, an address must belong to a known
participant, and ``apply`` is all or nothing. Objects are copied in and out, so a caller
mutating what it passed or got back never changes stored state.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Sequence
from typing import TypeVar, cast

from bot.clock import Clock, SystemClock
from bot.engine.session import Session
from bot.errors import StoreError
from bot.store.attention import MemoryAttention
from bot.store.burden import MemoryBurden
from bot.store.dashboard import MemoryDashboard
from bot.store.delivery import MemoryDelivery, not_held_back
from bot.store.erasure import erase_memory, forgotten_key, memory_scope, new_secret
from bot.store.erasure_files import scrub_files
from bot.store.events import MemoryEvents
from bot.store.leases import MemoryLeases, process_name
from bot.store.login_limits import MemoryLoginLimits
from bot.store.logins import MemoryLogins
from bot.store.media import MemoryMedia
from bot.store.memory_apply import (
    MemoryApply,
    _copies,
    _inbox,
    _outbox,
    _sorted,
)
from bot.store.memory_rounds import MemoryRounds
from bot.store.participation import MemoryParticipation
from bot.store.people import MemoryPeople
from bot.store.records import (
    Address,
    AnswerRow,
    Changes,
    ConsentRecord,
    EventRow,
    InboxItem,
    InboxStatus,
    OutboxItem,
    OutboxStatus,
    Participant,
    QueuedFlow,
    Timer,
)
from bot.store.sms import MemorySms
from bot.store.sqlite_codec import (
    ACTIVE_STATUSES,
    DUE_STATUSES,
    safe_text,
    to_utc,
)
from bot.store.targets import MemoryTargets
from bot.store.themes import MemoryThemes
from bot.store.timebank import MemoryTimebank
from bot.store.webhooks import MemoryWebhooks
from bot.store.window import MemoryWindow

T = TypeVar("T")


class MemoryStore(MemoryApply, MemoryPeople, MemorySms, MemoryDashboard, MemoryRounds,
                  MemoryWindow, MemoryMedia, MemoryAttention, MemoryLogins, MemoryParticipation,
                  MemoryBurden, MemoryTimebank, MemoryEvents, MemoryThemes, MemoryTargets,
                  MemoryDelivery, MemoryLeases, MemoryLoginLimits, MemoryWebhooks):
    """``Store`` in plain dicts and lists; nothing survives the process."""

    def __init__(self, *, clock: Clock | None = None) -> None:
        self._clock: Clock = clock or SystemClock()
        self._open = False
        self._participants: dict[str, Participant] = {}
        self._addresses: dict[str, Address] = {}
        self._consents: list[ConsentRecord] = []
        self._sessions: dict[str, Session] = {}
        self._flows: dict[tuple[str, str], str] = {}
        self._answers: dict[int, AnswerRow] = {}
        self._events: dict[int, EventRow] = {}
        self._inbox: dict[int, InboxItem] = {}
        self._inbox_keys: set[tuple[str, str]] = set()
        self._outbox: dict[int, OutboxItem] = {}
        self._queue: dict[int, QueuedFlow] = {}
        self._timers: dict[int, Timer] = {}
        self._meta: dict[str, str] = {}
        self._last_id: dict[str, int] = {}
        self._erasure_secret = new_secret()
        self.holder = process_name()

    def __repr__(self) -> str:
        return "MemoryStore()"

    def _check(self) -> None:
        if not self._open:
            raise StoreError("store memory:// is not open")

    def _next_id(self, table: str) -> int:
        self._last_id[table] = self._last_id.get(table, 0) + 1
        return self._last_id[table]

    # -- lifecycle ----------------------------------------------------------------------
    async def open(self) -> None:
        self._open = True

    async def close(self) -> None:
        self._open = False

    async def health(self) -> None:
        self._check()

    # -- participants and addresses -----------------------------------------------------
    async def get_participant(self, participant_id: str) -> Participant | None:
        self._check()
        return copy.deepcopy(self._participants.get(participant_id))

    async def participant_for_address(self, address: str) -> Participant | None:
        self._check()
        found = self._addresses.get(address)
        return None if found is None else await self.get_participant(found.participant_id)

    async def get_address(self, address: str) -> Address | None:
        self._check()
        return copy.deepcopy(self._addresses.get(address))

    async def addresses_of(self, participant_id: str) -> list[Address]:
        self._check()
        rows = list(self._addresses.values())
        mine = [(a.created_at, i, a) for i, a in enumerate(rows)
                if a.participant_id == participant_id]
        return _copies(a for _, _, a in sorted(mine, key=lambda x: (x[0], x[1])))

    async def list_participants(self) -> list[Participant]:
        self._check()
        rows = [(p.created_at, i, p) for i, p in enumerate(self._participants.values())
                if p.status != "erased"]
        return _copies(p for _, _, p in sorted(rows, key=lambda x: (x[0], x[1])))

    async def _erase(self, erase: tuple[str, dt.datetime] | None) -> None:
        """The unit's erasure, last (``bot/store/erasure.py``), then its files."""
        if erase is not None:
            erase_memory(self, memory_scope(self, *erase, self._erasure_secret))
            await scrub_files(self, erase[0])

    async def erase_participant(self, participant_id: str, at: dt.datetime) -> None:
        """As ``SqliteStore.erase_participant``: raises KeyError for an unknown id."""
        await self.apply(Changes(erase=(participant_id, to_utc(at))))

    # -- sessions -----------------------------------------------------------------------
    async def get_session(self, session_id: str) -> Session | None:
        self._check()
        return copy.deepcopy(self._sessions.get(session_id))

    async def active_session(self, participant_id: str) -> Session | None:
        self._check()
        rows = [(s.updated_at, i, s) for i, s in enumerate(self._sessions.values())
                if s.participant_id == participant_id and s.status in ACTIVE_STATUSES]
        if not rows:
            return None
        return copy.deepcopy(max(rows, key=lambda x: (x[0], x[1]))[2])

    async def sessions_of(self, participant_id: str) -> list[Session]:
        self._check()
        rows = [(s.started_at, i, s) for i, s in enumerate(self._sessions.values())
                if s.participant_id == participant_id]
        return _copies(s for _, _, s in sorted(rows, key=lambda x: (x[0], x[1])))

    # -- flow versions ------------------------------------------------------------------
    async def save_flow_source(self, flow_id: str, version: str, source: str) -> None:
        """Idempotent: the first source saved for a version is kept."""
        self._check()
        self._flows.setdefault((flow_id, version), safe_text(source) or "")

    async def flow_source(self, flow_id: str, version: str) -> str | None:
        self._check()
        return self._flows.get((flow_id, version))

    # -- answers, events, consents ------------------------------------------------------
    async def answers(self, *, participant_id: str | None = None, flow_id: str | None = None,
                      round_id: str | None = None) -> list[AnswerRow]:
        self._check()
        return _copies(
            a for a in self._answers.values()
            if (participant_id is None or a.participant_id == participant_id)
            and (flow_id is None or a.flow_id == flow_id)
            and (round_id is None or a.round_id == round_id))

    async def events(self, *, participant_id: str | None = None,
                     name: str | None = None) -> list[EventRow]:
        self._check()
        return _copies(e for e in self._events.values()
                       if (participant_id is None or e.participant_id == participant_id)
                       and (name is None or e.name == name))

    async def consents_of(self, participant_id: str) -> list[ConsentRecord]:
        self._check()
        return _copies(c for c in self._consents if c.participant_id == participant_id)

    # -- inbox --------------------------------------------------------------------------
    async def inbox_put(self, item: InboxItem) -> bool:
        self._check()
        stored = _inbox(item)
        key = (item.channel, item.dedupe_key)
        forgotten = forgotten_key(self._erasure_secret, item.channel, item.dedupe_key)
        if key in self._inbox_keys or (item.channel, forgotten) in self._inbox_keys:
            return False
        stored.id = item.id = self._next_id("inbox")
        self._inbox[stored.id] = stored
        self._inbox_keys.add(key)
        return True

    async def inbox_pending(self, limit: int = 100) -> list[InboxItem]:
        self._check()
        return _copies([i for i in self._inbox.values() if i.status == "pending"][:limit])

    async def inbox_mark(self, item_id: int, status: str, at: dt.datetime) -> None:
        """Set the status, ``processed_at = at``, and count one more processing attempt."""
        self._check()
        at = to_utc(at)
        item = self._inbox.get(item_id)
        if item is not None:
            item.status = cast(InboxStatus, status)
            item.processed_at = at
            item.attempts += 1

    # -- outbox -------------------------------------------------------------------------
    async def outbox_due(self, channel: str, now: dt.datetime, limit: int) -> list[OutboxItem]:
        self._check()
        now = to_utc(now)
        due = [o for o in self._outbox.values()
               if o.channel == channel and o.status in DUE_STATUSES and o.not_before <= now
               and (o.next_attempt_at is None or o.next_attempt_at <= now)]
        due = not_held_back(due, self._outbox.values())  # per-address order kept
        due.sort(key=lambda o: (o.created_at, o.id or 0))
        return _copies(due[:limit])

    async def outbox_due_ids(self, channel: str, now: dt.datetime, limit: int) -> list[int]:
        return [o.id for o in await self.outbox_due(channel, now, limit) if o.id is not None]

    async def outbox_rows(self, ids: Sequence[int]) -> list[OutboxItem]:
        self._check()
        return _copies([self._outbox[i] for i in ids if i in self._outbox])

    async def outbox_update(self, item: OutboxItem) -> None:
        """Raises KeyError when the row does not exist."""
        self._check()
        if item.id is None:
            raise KeyError("outbox item has no id; it was never stored")
        stored = self._outbox.get(item.id)
        if stored is None:
            raise KeyError(f"no outbox row {item.id}")
        new = _outbox(item)  # validates before changing anything
        stored.status, stored.attempts = new.status, new.attempts
        stored.next_attempt_at, stored.provider_id = new.next_attempt_at, new.provider_id
        stored.last_error, stored.delivery_status = new.last_error, new.delivery_status
        stored.segments, stored.sent_at = new.segments, new.sent_at

    async def outbox_mark_sending(self, items: Sequence[OutboxItem]) -> list[OutboxItem]:
        self._check()
        for item in items:
            if item.id is None:
                raise KeyError("outbox item has no id; it was never stored")
        marked: list[OutboxItem] = []
        for item in items:
            assert item.id is not None
            stored = self._outbox.get(item.id)
            if stored is None or stored.status not in DUE_STATUSES:
                continue
            stored.status, stored.attempts = "sending", stored.attempts + 1
            item.status, item.attempts = "sending", stored.attempts
            marked.append(item)
        return marked

    async def outbox_by_provider_id(self, provider_id: str) -> OutboxItem | None:
        self._check()
        found = [o for o in self._outbox.values() if o.provider_id == provider_id]
        return copy.deepcopy(found[-1]) if found else None

    async def outbox_of(self, participant_id: str) -> list[OutboxItem]:
        self._check()
        return _copies(o for o in self._outbox.values() if o.participant_id == participant_id)

    async def outbox_all(self, *, round_id: str | None = None,
                         status: OutboxStatus | None = None) -> list[OutboxItem]:
        self._check()
        return _copies(o for o in self._outbox.values()
                       if (round_id is None or o.round_id == round_id)
                       and (status is None or o.status == status))

    async def outbox_recover(self, now: dt.datetime | None = None) -> int:
        self._check()
        count = 0
        for item in self._outbox.values():
            if item.status == "sending":
                item.status = "ambiguous"
                count += 1
        return count

    # -- queued flows and timers --------------------------------------------------------
    async def queued_flows(self, participant_id: str) -> list[QueuedFlow]:
        self._check()
        return _copies(q for q in self._queue.values() if q.participant_id == participant_id)

    async def timers_due(self, now: dt.datetime, limit: int = 500) -> list[Timer]:
        self._check()
        now = to_utc(now)
        due = [t for t in self._timers.values() if t.due_at <= now]
        return _sorted(due, key=lambda t: (t.due_at, t.id or 0))[:limit]

    async def timers_of(self, session_id: str) -> list[Timer]:
        self._check()
        mine = [t for t in self._timers.values() if t.session_id == session_id]
        return _sorted(mine, key=lambda t: (t.due_at, t.id or 0))

    # -- meta ---------------------------------------------------------------------------
    async def get_meta(self, key: str) -> str | None:
        self._check()
        return self._meta.get(key)

    async def set_meta(self, key: str, value: str) -> None:
        self._check()
        self._meta[key] = safe_text(value) or ""
