"""What a channel's sending side must provide: one small interface, one per provider.

The outbox senders pace and retry; a transport only turns one outbox row into one
provider request and reports the outcome by returning or by raising one of the
``ChannelError`` subclasses (``RateLimited``, ``Unreachable``, ``TransientError``,
``AmbiguousSend``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bot.store.records import Channel, OutboxItem


@dataclass(frozen=True)
class SendResult:
    """The provider accepted the message."""

    provider_id: str | None = None
    segments: int | None = None


@dataclass(frozen=True)
class Pacing:
    """How fast a channel may send: overall, and to any one chat."""

    per_second: float
    per_chat_per_second: float | None = None
    per_chat_burst: int = 1
    """Messages one chat may get back to back before the per-chat pace applies (a
    platform that tolerates short bursts: a question and its follow-up need not drip)."""


class Transport(Protocol):
    channel: Channel
    pacing: Pacing

    async def start(self) -> None:
        """Connect (e.g. ``Bot.initialize``); called once before the first send."""

    async def stop(self) -> None: ...

    async def send(self, item: OutboxItem) -> SendResult:
        """Send one message or raise a ChannelError subclass saying what happened."""

    async def resolve_ambiguous(self, item: OutboxItem) -> SendResult | None:
        """For a send that may have gone out: ask the provider. ``SendResult`` if it
        did, None if it certainly did not, raise AmbiguousSend if it cannot tell."""
