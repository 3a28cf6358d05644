"""Simulated phones: talk to the real engine and store without sending anything.

Used by ``parley demo``, ``parley chat``, ``parley simulate`` and tests. A simulated phone
posts inbound messages to ``Conversations`` exactly as a channel would and collects the
outbox rows addressed to it, marking them sent, so everything but the provider is real.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.conversations import Inbound, channel_of
from bot.runtime import Runtime
from bot.store.records import Address, Changes, OutboxItem, Participant


@dataclass(frozen=True)
class Received:
    """One message as the phone shows it."""

    payload: dict[str, Any]
    channel: str

    @property
    def text(self) -> str:
        return str(self.payload["text"] if self.channel == "telegram" else self.payload["plain"])

    @property
    def choices(self) -> list[dict[str, Any]]:
        return list(self.payload.get("choices", []))


class SimulatedPhone:
    def __init__(self, runtime: Runtime, address: str) -> None:
        self.runtime = runtime
        self.address = address
        self.channel = channel_of(address)
        self.inbox: list[Received] = []

    async def say(self, text: str) -> list[Received]:
        """Send a text message and return what came back."""
        await self.runtime.conversations.handle(Inbound(
            channel=self.channel, address=self.address, text=text,
            received_at=self.runtime.clock.now()))
        return await self.collect()

    async def press(self, label_or_key: str) -> list[Received]:
        """Press a button of the latest message that has buttons (by label or key)."""
        latest = next((m for m in reversed(self.inbox) if m.choices), None)
        if latest is None:
            raise ValueError("no message with buttons to press")
        choice = next((c for c in latest.choices
                       if label_or_key in (c["label"], c["key"])), None)
        if choice is None:
            raise ValueError(f"no button '{label_or_key}'")
        await self.runtime.conversations.handle(Inbound(
            channel=self.channel, address=self.address, kind="press", press=choice["token"],
            received_at=self.runtime.clock.now()))
        return await self.collect()

    async def collect(self) -> list[Received]:
        """Outbox rows for this phone, marked sent (nothing leaves the machine)."""
        store, now = self.runtime.store, self.runtime.clock.now()
        due = await store.outbox_due(self.channel, now, 10_000)
        mine: list[OutboxItem] = [item for item in due if item.address == self.address]
        got = []
        for item in mine:
            item.status, item.sent_at, item.attempts = "sent", now, item.attempts + 1
            await store.outbox_update(item)
            got.append(Received(item.payload, self.channel))
        self.inbox.extend(got)
        return got


async def enrolled_phone(runtime: Runtime, address: str, locale: str = "en",
                         name: str = "Sim") -> tuple[SimulatedPhone, str]:
    """A phone whose owner has already consented and finished enrolment."""
    now = runtime.clock.now()
    pid = runtime.conversations.ids.new("p")
    consent = runtime.library.get("consent") if "consent" in runtime.library else None
    participant = Participant(
        id=pid, created_at=now, status="consented", locale=locale, pathway_done=True,
        consent_version=(consent.consent_version or consent.version) if consent else None,
        profile={"preferred_name": name})
    channel = channel_of(address)
    await runtime.store.apply(Changes(participant=participant,
                                      addresses=[Address(address, pid, channel, now)]))
    return SimulatedPhone(runtime, address), pid
