"""Sharing a provider's rate limit among several ``parley serve`` processes.

Telegram allows about 30 messages a second per *bot* and about one a second per *chat*,
Twilio a rate per *number*: two processes each sending at the full rate would earn 429s.
Each process keeps a short membership lease (``member:<process>``) in the shared
database, renewed every ``every`` seconds, and reads the live members (sorted, so every
process sees the same list). Every sender then keeps to ``rate / members``, and sends only
to the addresses whose hash falls in its part (index among members), so each person's
messages leave from one process and its per-chat pacing holds. A process that dies stops
renewing; within one lease length the others count one fewer and take up its share and
its people. A process joining sends nothing for one and a half beats, the time the others
take to count it, so together they stay under the limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Protocol

from bot.clock import Clock
from bot.delivery.pacing import SlidingWindow
from bot.delivery.supervisor import Supervisor
from bot.errors import StoreError
from bot.metrics import Metrics
from bot.store.leases import MEMBER, LeasesStore


class Members(LeasesStore, Protocol):
    async def outbox_recover(self, now: dt.datetime) -> int: ...


class Paced(Protocol):
    partition: tuple[int, int]
    """``(index, count)``: this sender sends to the addresses whose hash falls in its
    part (see ``OutboxSender.mine``)."""

    @property
    def window(self) -> SlidingWindow: ...


class Service(Protocol):
    """The running service, as far as membership needs it (a Protocol: delivery sits
    below the service)."""

    @property
    def senders(self) -> Mapping[str, Paced]: ...

    @property
    def supervisor(self) -> Supervisor: ...

    @property
    def metrics(self) -> Metrics: ...

log = logging.getLogger("parley.delivery")
RECOVER_EVERY = 15


class Membership:
    """A ``BackgroundJob``: this process's membership, and the share it sends at."""

    def __init__(self, store: Members, clock: Clock, holder: str, *,
                 every: float = 2.0, senders: Callable[[], Iterable[Paced]] = tuple
                 ) -> None:
        self.store, self.clock, self.holder = store, clock, holder
        self.every = every
        self.ttl = dt.timedelta(seconds=every * 3)
        self.senders = senders
        self.members = 1
        self._beats = 0
        self._service: Service | None = None

    async def beat(self) -> int:
        """Renew this process's lease and share the rate among the live members. The
        count stays as it was when the store cannot be read (the last known share)."""
        now = self.clock.now()
        try:
            await self.store.lease_hold(MEMBER + self.holder, self.holder, now, self.ttl)
            holders = await self.store.lease_holders(MEMBER, now)
        except StoreError as exc:
            log.warning("delivery: membership not renewed (%s); keeping a 1/%d share",
                        exc, self.members)
            return self.members
        members = max(1, len(holders))
        index = holders.index(self.holder) if self.holder in holders else 0
        self._beats += 1
        # one died: its sends in flight are ambiguous now (and, now and then, in case a
        # death and a start fell between two beats)
        if members < self.members or self._beats % RECOVER_EVERY == 0:
            await self._recover(now)
        if members != self.members:
            log.info("delivery: %d process(es) share the send rate", members)
        self.members = members
        for sender in self.senders():  # each person's messages from one process only
            sender.window.share(members)
            sender.partition = (index, members)
        return members

    async def _recover(self, now: dt.datetime) -> None:
        try:
            recovered = await self.store.outbox_recover(now)
        except StoreError as exc:
            log.warning("delivery: could not recover a stopped process's sends (%s)", exc)
            return
        if recovered:
            log.warning("delivery: %d send(s) of a stopped process are ambiguous", recovered)

    async def start(self, service: Service) -> None:
        """Before the senders start: join, then send nothing for one beat, the time the
        others take to count this process and lower their share."""
        self._service = service
        self.senders = lambda: service.senders.values()
        service.metrics.gauge("parley_processes", lambda: {(): float(self.members)})
        await self.beat()
        for sender in self.senders():
            sender.window.hold(self.every * 1.5)
        service.supervisor.spawn("membership", self._run)  # restarted if it ever dies

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.every)
            await self.beat()

    async def stop(self) -> None:
        if self._service is not None:
            await self._service.supervisor.cancel("membership")
            self._service = None
        with contextlib.suppress(StoreError):  # the others take up the share at once
            await self.store.lease_release(MEMBER + self.holder, self.holder)
