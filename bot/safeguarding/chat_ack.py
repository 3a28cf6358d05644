"""Acknowledging a safeguarding alert from the chat it arrived in.

A coordinator listed in ``[coordinators]`` replies ``/ack 12`` on Telegram or ``ACK 12``
by SMS; the item is acknowledged in their name (their address, as every chat-side
command is audited) and its escalation stops. Wired into the chat-side coordinator
commands by ``bot.wiring``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from bot.people import mask_phone
from bot.safeguarding.desk import AttentionError, Desk

if TYPE_CHECKING:
    from bot.conversations import Inbound

ACK = re.compile(r"^\s*/?ack(?:@\w+)?\s+#?(\d+)\s*[.!]?\s*$", re.IGNORECASE)


class ChatAck:
    def __init__(self, desk: Desk) -> None:
        self.desk = desk

    async def __call__(self, inbound: Inbound) -> str | None:
        """The reply to an ACK command, or None when ``inbound`` is not one."""
        found = ACK.match(inbound.text or "") if inbound.kind == "text" else None
        if found is None:
            return None
        item_id = int(found.group(1))
        try:
            item = await self.desk.ack(item_id, inbound.address, via=inbound.channel)
        except AttentionError as exc:
            return f"{exc}."
        if item.acked_by == inbound.address:
            return f"#{item_id} acknowledged: thank you. It will not be escalated."
        assert item.acked_at is not None
        return (f"#{item_id} was already acknowledged by {mask_phone(item.acked_by or '')} "
                f"at {item.acked_at:%H:%M} UTC.")
