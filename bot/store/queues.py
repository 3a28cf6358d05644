"""The store's two queues as slices of their own: what the inbox processor and the
outbox senders may ask of it (``bot/delivery``), typed apart from the rest of ``Store``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from typing import Protocol

from bot.store.delivery import DeliveryStore
from bot.store.records import Address, Changes, InboxItem, OutboxItem, OutboxStatus, Participant


class InboxStore(Protocol):
    async def inbox_put(self, item: InboxItem) -> bool:
        """Insert and commit durably; False (and nothing written) when the dedupe key
        ``(channel, dedupe_key)`` was already received."""

    async def inbox_pending(self, limit: int = 100) -> list[InboxItem]:
        """Pending items in arrival order."""

    async def inbox_mark(self, item_id: int, status: str, at: dt.datetime) -> None: ...


class OutboxStore(Protocol):
    async def outbox_due(self, channel: str, now: dt.datetime, limit: int) -> list[OutboxItem]:
        """Rows with status pending or retry whose ``not_before`` and ``next_attempt_at``
        have passed, oldest first."""

    async def outbox_due_ids(self, channel: str, now: dt.datetime, limit: int) -> list[int]:
        """The ids of ``outbox_due``'s rows, in its order: cheap to read often, for a
        sender that keeps the rows it has already read."""

    async def outbox_rows(self, ids: Sequence[int]) -> list[OutboxItem]:
        """The rows with these ids that exist, in the order of ``ids``."""

    async def outbox_update(self, item: OutboxItem) -> None:
        """Write back status, attempts, next_attempt_at, provider_id, last_error,
        delivery_status, segments, sent_at."""

    async def outbox_mark_sending(self, items: Sequence[OutboxItem]) -> list[OutboxItem]:
        """Mark rows ``sending`` with one more attempt, durably, in one commit: done
        just before their requests, so a crash leaves them ``sending`` (-> ambiguous).

        Only rows still pending or retry are marked; the ones returned are those (a row
        cancelled, sent or erased since it was read is left alone and not returned), so
        a sender working from a slightly old list can never send a row twice."""

    async def outbox_by_provider_id(self, provider_id: str) -> OutboxItem | None: ...
    async def outbox_of(self, participant_id: str) -> list[OutboxItem]: ...
    async def outbox_all(self, *, round_id: str | None = None,
                         status: OutboxStatus | None = None) -> list[OutboxItem]: ...
    async def outbox_recover(self, now: dt.datetime) -> int:
        """Rows left ``sending`` by a crash become ``ambiguous`` (the request may have
        reached the provider) — at start-up, and when a process sharing the database has
        died. Returns how many. Rows claimed by this process (another channel's sender)
        or by a process whose membership lease runs past ``now`` (alive, still sending
        them) are left alone."""

    async def outbox_forget(self, outbox_id: int) -> None:
        """Blank a row's address, text and error once it has been sent (``SmsStore``)."""


class InboxQueue(InboxStore, DeliveryStore, Protocol):
    """What ``InboxProcessor`` uses: the inbox, and a person's older pending rows."""


class AddressBook(Protocol):
    """An address, its person, and committing a change to them (a send that finds the
    address unreachable marks it, and may record the person's opt-out)."""

    async def get_address(self, address: str) -> Address | None: ...
    async def addresses_named(self, names: Collection[str]) -> dict[str, Address]: ...
    async def get_participant(self, participant_id: str) -> Participant | None: ...
    async def apply(self, changes: Changes) -> None: ...


class OutboxQueue(OutboxStore, DeliveryStore, AddressBook, Protocol):
    """What an ``OutboxSender`` (with its ambiguity checks) uses."""
