"""What a channel uses of the running service that owns it.

``bot.service.ParleyService`` builds the channels and starts them with itself; typing
them against this small Protocol instead of the service class keeps the layers
pointing down (the service imports channels, never the reverse).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from bot.delivery.inbox import InboxProcessor
from bot.delivery.outbox import OutboxSender
from bot.delivery.supervisor import Supervisor
from bot.metrics import Metrics
from bot.runtime import Runtime


class ServiceHost(Protocol):
    """The running service, as a channel sees it."""

    @property
    def runtime(self) -> Runtime: ...

    @property
    def metrics(self) -> Metrics: ...

    @property
    def inbox(self) -> InboxProcessor: ...

    @property
    def senders(self) -> Mapping[str, OutboxSender]: ...

    @property
    def supervisor(self) -> Supervisor: ...

    def wake_senders(self) -> None:
        """New outbox rows may be due: senders look now instead of at their next poll."""
