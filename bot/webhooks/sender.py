"""The webhook outbox channel running beside the web app: its sender, and its queue.

Webhook rows go through the ordinary ``OutboxSender`` (pacing, durable ``sending`` mark,
retries with back-off, give-up after ``MAX_ATTEMPTS``, counted in
``parley_outbound_total{channel="webhook"}``), with two differences: a row is never
held back for an opted-out or erased address (it has none; an erasure cancels the
rows about that person itself), and a POST a crash interrupted (``ambiguous`` at the
next start) is simply sent again (``WebhookTransport.resolve_ambiguous``).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from typing import Any, Protocol

from bot.clock import Clock
from bot.delivery.outbox import OutboxSender
from bot.delivery.pacing import PerChat
from bot.delivery.supervisor import Supervisor
from bot.metrics import Metrics
from bot.store.base import Store
from bot.store.records import OutboxItem
from bot.webhook_config import WebhookConfig
from bot.webhooks.queue import WebhookQueue
from bot.webhooks.transport import WebhookTransport

log = logging.getLogger("parley.webhooks")
MAX_ATTEMPTS = 12
"""Back-off 1, 2, 4 … 256, 300, 300 s: a receiver may be down for about 18 minutes
before an event is given up (recorded ``failed``)."""


class WebhookSender(OutboxSender):
    """``OutboxSender`` for the ``webhook`` channel."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # a receiver's back-off pause runs on the injected clock, like ``next_attempt_at``
        self.per_chat = PerChat(None, clock=lambda: self.clock.now().timestamp())

    async def _suppressed(self, item: OutboxItem) -> bool:
        return False  # not a person's address: opt-outs and erasure do not apply here


class Host(Protocol):
    """The running service, as far as webhooks need it (a Protocol: below the service)."""

    @property
    def supervisor(self) -> Supervisor: ...

    @property
    def metrics(self) -> Metrics: ...


class WebhookJob:
    """A ``BackgroundJob`` (see ``bot/service.py``): the webhook channel's sender."""

    def __init__(self, store: Store, hooks: list[WebhookConfig], clock: Clock, *,
                 max_attempts: int = MAX_ATTEMPTS, workers: int = 2) -> None:
        self.store, self.hooks, self.clock = store, hooks, clock
        self.max_attempts, self.workers = max_attempts, workers
        self.queue = WebhookQueue(store, hooks)
        self.sender: WebhookSender | None = None

    async def sync(self, now: dt.datetime) -> None:
        """The scheduler's periodic call: queue what happened, then send it now."""
        if await self.queue.sync(now) and self.sender is not None:
            self.sender.wake()

    async def start(self, service: Host) -> None:
        self.sender = WebhookSender(
            self.store, WebhookTransport(self.hooks), self.clock, service.metrics,
            workers=self.workers, max_attempts=self.max_attempts,
            supervisor=service.supervisor)
        await self.sender.start()
        log.info("webhooks: %d receiver(s)", len(self.hooks))

    async def stop(self) -> None:
        sender, self.sender = self.sender, None
        if sender is not None:
            await sender.stop()


def webhook_interval() -> float:
    """Seconds between scheduler passes that queue webhooks (``PARLEY_WEBHOOK_INTERVAL``)."""
    return float(os.environ.get("PARLEY_WEBHOOK_INTERVAL", "5"))
