"""Chat-side coordinator commands, channel-neutral.

Only addresses listed in ``[coordinators]`` get these; everyone else (and any other
text from a coordinator) has the participant experience. The channels pass text and
button presses through unchanged.

- Telegram (``telegram_ids``): ``/rounds`` lists rounds, ``/round_status <id>`` shows
  one, ``/send_round <id>`` asks for confirmation with two buttons, and only the
  confirming press (once) starts the round.
- SMS (``phones``): ``STATUS`` answers with a one-line summary of the current round.

Every action is written to the audit log with the coordinator's address as the actor.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from bot.config import Config
from bot.errors import ParleyError
from bot.store.base import Store
from bot.store.records import Changes, OutboxItem

if TYPE_CHECKING:
    from bot.conversations import Inbound
    from bot.rounds.service import RoundService

ChatCommand = Callable[["Inbound"], Awaitable[str | None]]
"""A chat-side command: its reply, or None when the message is not that command."""
PREFIX = "coord:"
CONFIRM_KEY = "coordinator.confirm."


def _line(status: dict[str, Any]) -> str:
    label = f" ({status['label']})" if status["label"] else ""
    return (f"{status['id']} {status['flow']}{label}: "
            f"{status['targeted']} targeted, {status['sent']} sent, "
            f"{status['completed']} completed, {status['opted_out']} opted out, "
            f"{status['unreachable']} unreachable")


class CoordinatorChat:
    def __init__(self, *, store: Store, config: Config, rounds: RoundService) -> None:
        self.store, self.config, self.rounds = store, config, rounds
        self.addresses = set(rounds.coordinator_addresses())
        self.more: list[ChatCommand] = []
        """Further commands (``ACK 12`` from ``bot.safeguarding``), tried first."""

    def is_coordinator(self, address: str) -> bool:
        return address in self.addresses

    async def handle(self, inbound: Inbound) -> bool:
        """True when ``inbound`` was a coordinator command (answered and recorded)."""
        if not self.is_coordinator(inbound.address):
            return False
        if await self._more(inbound):
            return True
        text = inbound.text.strip()
        word = text.split()[0].split("@")[0].lower() if text else ""
        arg = text.split()[1] if len(text.split()) > 1 else ""
        if inbound.kind == "press" and (inbound.press or "").startswith(PREFIX):
            await self._confirmed(inbound, inbound.press or "")
        elif inbound.channel == "telegram" and word in ("/rounds", "/round_status",
                                                         "/send_round"):
            if word == "/rounds":
                await self._list(inbound)
            elif word == "/round_status":
                await self._status(inbound, arg)
            else:
                await self._ask_to_send(inbound, arg)
        elif inbound.channel == "sms" and "".join(c for c in text.lower()
                                                  if c.isalpha()) == "status":
            await self._sms_status(inbound)
        else:
            return False
        return True

    async def _more(self, inbound: Inbound) -> bool:
        for command in self.more:
            answer = await command(inbound)
            if answer is not None:
                await self._reply(inbound, answer)
                return True
        return False

    # -- commands ---------------------------------------------------------------------------
    async def _list(self, inbound: Inbound) -> None:
        rounds = (await self.store.rounds_all())[-10:]
        if not rounds:
            await self._reply(inbound, "No rounds yet.")
            return
        lines = [f"{r.id} · {r.flow_id}{' · ' + r.label if r.label else ''} · {r.status} · "
                 f"starts {r.start_at:%d %b %H:%M} UTC" for r in reversed(rounds)]
        await self._reply(inbound, "Rounds (newest first):\n" + "\n".join(lines))

    async def _status(self, inbound: Inbound, round_id: str) -> None:
        if not round_id:
            await self._reply(inbound, "Usage: /round_status <round id>, e.g. /round_status r1")
            return
        try:
            status = await self.rounds.status(round_id)
        except ParleyError as exc:
            await self._reply(inbound, str(exc))
            return
        await self._audit(inbound, "round.status", round_id)
        await self._reply(inbound, _line(status))

    async def _ask_to_send(self, inbound: Inbound, round_id: str) -> None:
        if not round_id:
            await self._reply(inbound, "Usage: /send_round <round id>, e.g. /send_round r1")
            return
        try:
            item = await self.rounds.get(round_id)
        except ParleyError as exc:
            await self._reply(inbound, str(exc))
            return
        if item.status != "draft":
            await self._reply(inbound, f"Round {round_id} is {item.status}; only a draft "
                                       "can be sent.")
            return
        preview = await self.rounds.preview(item)
        nonce = secrets.token_hex(4)
        await self.store.set_meta(CONFIRM_KEY + nonce, json.dumps(
            {"round": round_id, "address": inbound.address, "used": False}))
        counts = preview.by_channel()
        text = (f"Send round {round_id} ({item.flow_id}) to {len(preview.targets)} people "
                f"({counts['telegram']} Telegram, {counts['sms']} SMS, about "
                f"{preview.segments} SMS segments)? Messages start at "
                f"{max(item.start_at, self.rounds.clock.now()):%d %b %H:%M} UTC, outside "
                "quiet hours.")
        choices = [{"key": "1", "label": "Send now", "value": "send",
                    "token": f"{PREFIX}send:{nonce}"},
                   {"key": "2", "label": "Cancel", "value": "cancel",
                    "token": f"{PREFIX}cancel:{nonce}"}]
        await self._reply(inbound, text, choices)

    async def _confirmed(self, inbound: Inbound, token: str) -> None:
        action, _, nonce = token[len(PREFIX):].partition(":")
        raw = await self.store.get_meta(CONFIRM_KEY + nonce)
        state = json.loads(raw) if raw else None
        if state is None or state["address"] != inbound.address or state["used"]:
            await self._reply(inbound, "That confirmation has already been used or has "
                                       "expired.")
            return
        state["used"] = True
        await self.store.set_meta(CONFIRM_KEY + nonce, json.dumps(state))
        round_id = state["round"]
        if action != "send":
            await self._audit(inbound, "round.send_declined", round_id)
            await self._reply(inbound, f"OK, round {round_id} was not sent.")
            return
        try:
            _, count = await self.rounds.start(round_id, inbound.address)
        except ParleyError as exc:
            await self._reply(inbound, str(exc))
            return
        await self._reply(inbound, f"Round {round_id} started: {count} people planned. "
                                   f"Use /round_status {round_id} to follow it.")

    async def _sms_status(self, inbound: Inbound) -> None:
        rounds = [r for r in await self.store.rounds_all() if r.status in ("running", "paused")]
        if not rounds:
            await self._reply(inbound, "No round is running.")
            return
        current = max(rounds, key=lambda r: (r.started_at or r.created_at))
        status = await self.rounds.status(current.id)
        await self._audit(inbound, "round.status", current.id)
        await self._reply(inbound, _line(status)[:150])

    # -- plumbing ---------------------------------------------------------------------------
    async def _audit(self, inbound: Inbound, action: str, subject: str) -> None:
        await self.rounds.audit(inbound.address, action, subject, {"via": inbound.channel})

    async def _reply(self, inbound: Inbound, text: str,
                     choices: list[dict[str, Any]] | None = None) -> None:
        now = self.rounds.clock.now()
        payload = {"text": text, "plain": text if not choices else text + "\n" + "\n".join(
                       f"{c['key']} {c['label']}" for c in choices),
                   "kind": "coordinator", "node": None, "layout": "row", "long_ok": True,
                   "choices": choices or [], "session_id": None, "flow_id": None}
        item = OutboxItem(participant_id="", address=inbound.address, channel=inbound.channel,
                          payload=payload, created_at=now, not_before=now)
        done = [inbound.inbox_id] if inbound.inbox_id is not None else []
        await self.store.apply(Changes(outbox=[item], inbox_done=done))
