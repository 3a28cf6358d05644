"""Sends that may or may not have gone out (DESIGN §3), for the outbox sender.

A request that was written but never answered is *ambiguous*. An SMS is looked up at
Twilio (To + date + body); Telegram has no idempotency key and no look-up, and a lost
question stalls a person for good while a duplicate is a nuisance, so with
``[telegram] ambiguous = "resend_once"`` the message is queued once more after a short
delay — unless the person has written since it was queued, or it was resent before
(``outbox_resends``). Rows a crash left ``sending`` are treated the same way at start.
"""

from __future__ import annotations

import datetime as dt
import logging

from bot.clock import Clock
from bot.delivery.pacing import PerChat
from bot.delivery.transport import SendResult, Transport
from bot.errors import AmbiguousSend, TransientError
from bot.metrics import Metrics
from bot.store.queues import OutboxQueue
from bot.store.records import OutboxItem

log = logging.getLogger("parley.outbox")
CANNOT_BE_CHECKED = "cannot be checked"
RESEND_DELAY = 10.0
"""Seconds before an ambiguous send is resent once: long enough for a connection that
was dropping to recover, short enough that the person is still in the conversation."""


class AmbiguousSends:
    """Mixed into ``OutboxSender`` (which provides these attributes and methods)."""

    store: OutboxQueue
    transport: Transport
    clock: Clock
    metrics: Metrics
    channel: str
    per_chat: PerChat
    resend_ambiguous: bool
    resend_delay: float

    def _retry(self, item: OutboxItem, now: dt.datetime, seconds: float, why: str) -> None:
        raise NotImplementedError

    def _sent(self, item: OutboxItem, result: SendResult, now: dt.datetime) -> None:
        raise NotImplementedError

    async def _maybe_resend(self, item: OutboxItem, now: dt.datetime) -> None:
        """An ambiguous row (``status`` already so) is queued once more, after a short
        delay, when the channel resends ambiguous sends (Telegram's default: a lost
        question stalls a person for good, a duplicate is a nuisance) — unless the
        person has written since it was queued, or it was resent before."""
        if not self.resend_ambiguous or item.id is None or not item.address:
            return
        last = await self.store.inbox_last_received(item.address)
        if last is not None and last > item.created_at:
            item.last_error = f"{item.last_error}; not resent: the person has written since"
            return
        if not await self.store.outbox_resend_add(item.id, now):
            item.last_error = f"{item.last_error}; already resent once"
            return
        self._retry(item, now, self.resend_delay, f"ambiguous ({item.last_error}); "
                    "resending once")
        self.per_chat.pause(item.address, self.resend_delay)
        self.metrics.inc("parley_outbound_resent_total", channel=self.channel)
        log.warning("outbox %s: row %s may not have arrived; resending it once in %.0fs",
                    self.channel, item.id, self.resend_delay)

    async def resolve_ambiguous(self) -> None:
        """At start-up: rows a crash left mid-send become ambiguous; ask the provider about
        each (SMS can be looked up; Telegram cannot, so those stay ambiguous)."""
        recovered = await self.store.outbox_recover(self.clock.now())
        if recovered:
            log.warning("outbox: %d send(s) interrupted by a restart are ambiguous", recovered)
        await self.recheck_ambiguous()

    async def recheck_ambiguous(self) -> int:
        """Ask the provider about this channel's sends still marked ambiguous: at start-up,
        and every few minutes for SMS (the look-up may have failed when the send was
        made). The one place this rule lives. Returns how many were settled (sent, or
        queued to send again)."""
        settled = 0
        for item in await self.store.outbox_all(status="ambiguous"):
            if item.channel != self.channel or (item.last_error or "").startswith(
                    CANNOT_BE_CHECKED):
                continue
            outcome = await self._check(item)
            if outcome is None:
                continue  # the provider cannot be asked now: next time
            settled += outcome
            await self.store.outbox_update(item)
        return settled

    async def _check(self, item: OutboxItem) -> int | None:
        """1 when settled, 0 when it can never be checked, None when not now."""
        try:
            found = await self.transport.resolve_ambiguous(item)
        except AmbiguousSend:
            item.last_error = CANNOT_BE_CHECKED
            await self._maybe_resend(item, self.clock.now())
            return 0
        except TransientError as exc:
            log.warning("outbox %s: could not check an ambiguous send now: %s",
                        self.channel, exc)
            return None
        if found is not None:
            self._sent(item, found, self.clock.now())
        else:  # the provider certainly never got it: safe to send
            item.status, item.next_attempt_at = "retry", self.clock.now()
            item.last_error = "not found at the provider; sending again"
        return 1
