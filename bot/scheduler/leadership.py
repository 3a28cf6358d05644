"""Which ``parley serve`` process runs the scheduler when several share one database.

Every process serves webhooks and sends its share of the outbox, but the scheduler's
``due(now)`` pass (round sends, reminders, timers, escalations, the retention purge) must
run in one process at a time, or two of them would plan the same reminder. The one that
holds the ``scheduler`` lease (``bot/store/leases.py``) leads; it renews the lease every
third of its length. A leader that dies or hangs stops renewing, its lease runs out and the
next process to ask takes over — within one lease length plus one renewal period. A
database that cannot be reached means "not leader": doing nothing is safe, doing twice is
not.
"""

from __future__ import annotations

import datetime as dt
import logging

from bot.clock import Clock
from bot.errors import StoreError
from bot.store.leases import LeasesStore, process_name

log = logging.getLogger("parley.scheduler")
SCHEDULER_LEASE = "scheduler"


class Leadership:
    """Asks the store, each time, whether this process leads; remembers the answer only
    to log changes and for ``/healthz``."""

    def __init__(self, store: LeasesStore, clock: Clock, *, ttl: dt.timedelta,
                 name: str = SCHEDULER_LEASE, holder: str | None = None) -> None:
        if ttl <= dt.timedelta(0):
            raise ValueError("a lease must last longer than zero")
        self.store, self.clock, self.ttl, self.name = store, clock, ttl, name
        self.holder = holder or process_name()
        self.leading = False

    @property
    def renew_every(self) -> float:
        """Seconds between renewals: a third of the lease, so two can fail in a row."""
        return self.ttl.total_seconds() / 3

    async def check(self) -> bool:
        """Take or renew the lease; True while this process leads."""
        try:
            held = await self.store.lease_hold(self.name, self.holder, self.clock.now(),
                                               self.ttl)
        except StoreError as exc:
            if self.leading:
                log.warning("scheduler: cannot renew the leader lease (%s); "
                            "standing down until the store answers", exc)
            held = False
        if held != self.leading:
            log.info("scheduler: this process (%s) %s", self.holder,
                     "now leads" if held else "no longer leads")
        self.leading = held
        return held

    async def release(self) -> None:
        """Hand over at once on a clean shutdown rather than after the lease runs out."""
        if not self.leading:
            return
        self.leading = False
        try:
            await self.store.lease_release(self.name, self.holder)
        except StoreError as exc:
            log.warning("scheduler: could not release the leader lease (%s); "
                        "it runs out by itself", exc)
