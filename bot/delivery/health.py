"""What ``/healthz`` checks beyond the store: tasks that are down, and sending that lags.

A sender can stall without any task dying (a provider that never answers, a pacing bug),
so health also looks at the outbox itself: when the oldest due row of any channel has
been due for longer than ``[server] health_max_send_lag``, monitoring must hear of it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from bot.clock import Clock
from bot.delivery.supervisor import Supervisor
from bot.durations import parse_duration
from bot.store.queues import OutboxStore
from bot.store.records import OutboxItem

SAMPLE = 50
"""Due rows looked at per channel: the oldest are first, so a handful finds the worst."""


def due_since(item: OutboxItem) -> dt.datetime:
    """When a row became due: its ``not_before``, or its retry time if later."""
    if item.next_attempt_at is not None and item.next_attempt_at > item.not_before:
        return item.next_attempt_at
    return item.not_before


async def send_lag(store: OutboxStore, channels: Iterable[str], now: dt.datetime,
                   ) -> tuple[str, dt.timedelta] | None:
    """The channel whose due rows wait longest, and how long; None when nothing is due."""
    worst: tuple[str, dt.timedelta] | None = None
    for channel in channels:
        for item in await store.outbox_due(channel, now, SAMPLE):
            lag = now - due_since(item)
            if worst is None or lag > worst[1]:
                worst = (channel, lag)
    return worst


class HealthCheck:
    """The supervisor's down tasks and the send lag, as one reason (empty when fine)."""

    def __init__(self, store: OutboxStore, clock: Clock, supervisor: Supervisor,
                 max_send_lag: str) -> None:
        self.store, self.clock, self.supervisor = store, clock, supervisor
        self.max_send_lag = parse_duration(max_send_lag)

    async def problem(self, channels: Iterable[str]) -> str:
        down = self.supervisor.problems()
        if down:
            return "; ".join(down)
        lag = await send_lag(self.store, channels, self.clock.now())
        if lag is not None and lag[1] > self.max_send_lag:
            channel, late = lag
            return (f"{channel} sending lags: a message due {int(late.total_seconds())}s ago "
                    f"is not sent (limit [server] health_max_send_lag = "
                    f"{int(self.max_send_lag.total_seconds())}s)")
        return ""
