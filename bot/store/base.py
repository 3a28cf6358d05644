"""The repository interface every store implements.

``SqliteStore`` implements it (``ScratchStore``, a ``SqliteStore`` on a temporary file,
serves ``memory://``, the simulator and the tests). ``tests/test_store_contract.py`` is
the one suite every implementation passes, so a PostgreSQL store is added by passing it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import Protocol

from bot.engine.session import Session
from bot.store.attention import AttentionStore
from bot.store.burden import BurdenStore
from bot.store.dashboard import DashboardStore
from bot.store.delivery import DeliveryStore
from bot.store.events import EventsStore
from bot.store.leases import LeasesStore
from bot.store.login_limits import LoginLimitsStore
from bot.store.logins import LoginsStore
from bot.store.media import MediaStore
from bot.store.participation import ParticipationStore
from bot.store.people import PeopleStore
from bot.store.queues import InboxStore, OutboxStore
from bot.store.records import (
    Address,
    AnswerRow,
    Changes,
    ConsentRecord,
    EventRow,
    Participant,
    QueuedFlow,
    Timer,
)
from bot.store.rounds_base import RoundsStore
from bot.store.sms import SmsStore
from bot.store.targets import TargetsStore
from bot.store.themes import ThemesStore
from bot.store.timebank import TimebankStore
from bot.store.webhooks import WebhooksStore
from bot.store.window import WindowStore


class Store(PeopleStore, SmsStore, DashboardStore, RoundsStore, WindowStore, MediaStore,
            AttentionStore, LoginsStore, ParticipationStore, BurdenStore, TimebankStore,
            EventsStore, ThemesStore, TargetsStore, DeliveryStore, LeasesStore,
            LoginLimitsStore, InboxStore, OutboxStore, WebhooksStore, Protocol):
    """Async persistence. Every method raises StoreError when the database is unusable."""

    async def open(self) -> None:
        """Connect and run pending migrations."""

    async def close(self) -> None: ...

    async def health(self) -> None:
        """Raise StoreError with the reason when the store cannot be read and written."""

    async def apply(self, changes: Changes) -> None:
        """Commit every change in ``changes`` in one transaction (all or nothing).

        Participants, addresses and sessions are upserted; answers, events, consents,
        outbox rows, queued flows and timers are inserted (ids assigned to the objects);
        ``timers_clear_session`` deletes timers first; ``inbox_done`` marks inbox rows
        done with ``processed_at``= the latest event time or now, and empties their
        payload (only the dedupe key is kept once a message has been processed).
        """

    # participants and addresses
    async def get_participant(self, participant_id: str) -> Participant | None: ...
    async def participant_for_address(self, address: str) -> Participant | None: ...
    async def get_address(self, address: str) -> Address | None: ...
    async def addresses_named(self, names: Collection[str]) -> dict[str, Address]:
        """The stored addresses among ``names``, by name (one read for a batch)."""

    async def addresses_of(self, participant_id: str) -> list[Address]: ...
    async def list_participants(self) -> list[Participant]:
        """Every participant not erased, oldest first."""

    async def erase_participant(self, participant_id: str, at: dt.datetime) -> None:
        """Blank personal data everywhere (answers' values and raw text, profile, name,
        addresses, events' payloads, outbox text) keeping an anonymised participant row
        with status ``erased`` so totals stay consistent; make the text unrecoverable
        from the database file. What each table keeps is listed, table by table, in
        ``bot/store/erasure.py``; ``Changes.erase`` does the same inside a unit of work.
        KeyError for an unknown id."""

    # sessions
    async def get_session(self, session_id: str) -> Session | None: ...
    async def active_session(self, participant_id: str) -> Session | None:
        """The participant's session in status active or waiting, if any."""

    async def sessions_of(self, participant_id: str) -> list[Session]: ...

    # flow versions, so sessions keep the flow text they started with
    async def save_flow_source(self, flow_id: str, version: str, source: str) -> None:
        """Idempotent."""

    async def flow_source(self, flow_id: str, version: str) -> str | None: ...

    # answers, events, consents
    async def answers(
        self, *, participant_id: str | None = None, flow_id: str | None = None,
        round_id: str | None = None,
    ) -> list[AnswerRow]: ...
    async def events(self, *, participant_id: str | None = None,
                     name: str | None = None) -> list[EventRow]: ...
    async def consents_of(self, participant_id: str) -> list[ConsentRecord]: ...

    # queued flows and timers
    async def queued_flows(self, participant_id: str) -> list[QueuedFlow]: ...
    async def timers_due(self, now: dt.datetime, limit: int = 500) -> list[Timer]: ...
    async def timers_of(self, session_id: str) -> list[Timer]: ...

    # small key/value settings (e.g. the Telegram bot's username)
    async def get_meta(self, key: str) -> str | None: ...
    async def set_meta(self, key: str, value: str) -> None: ...
