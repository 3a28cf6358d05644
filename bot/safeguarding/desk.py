"""The coordinators' desk: inbox items, alerts, acknowledgement, escalation, replies.

``sync`` turns committed ``AttentionNeeded`` events into items (and, for safeguarding,
alerts queued in the same transaction); conversations call it right after committing
one, and ``due(now)`` calls it again so nothing waits on a crash in between.
``escalate(now)`` sends a safeguarding item nobody acknowledged within
``[safeguarding] escalate_after`` to ``escalate_to``: its deadline is a row in the
store, so a restart neither loses nor repeats it. Every coordinator action is audited.
"""

from __future__ import annotations

import datetime as dt
import logging

from bot.clock import Clock
from bot.config import Config
from bot.durations import parse_duration
from bot.errors import ParleyError, StoreError
from bot.rounds.hooks import prefs_for
from bot.safeguarding.alerts import alerts_for, escalations_for
from bot.store.attention import AttentionItem
from bot.store.base import Store
from bot.store.records import Address, Changes, EventRow, OutboxItem, Participant
from bot.store.round_records import AuditEntry
from bot.timing import next_allowed

log = logging.getLogger("parley.safeguarding")
KINDS = ("distress", "help", "unprompted", "late")


class AttentionError(ParleyError):
    """An inbox action that cannot be done (unknown item, nobody to reply to)."""


def who(p: Participant | None, pid: str) -> str:
    if p is None:
        return pid
    name = p.profile.get("preferred_name") or p.name
    return f"{name} ({pid})" if name else pid


class Desk:
    def __init__(self, *, store: Store, config: Config, clock: Clock) -> None:
        self.store, self.config, self.clock = store, config, clock

    # -- from events to items ---------------------------------------------------------------
    async def sync(self) -> int:
        """Items (and alerts) for every new ``AttentionNeeded`` event; how many made."""
        made = 0
        for event in await self.store.attention_new_events():
            if await self._open(event):
                made += 1
        return made

    async def sync_soon(self) -> None:
        """``sync`` right after a conversation commits. Its message is already stored,
        so a failure here must not fail that message: the next ``due(now)`` retries."""
        try:
            await self.sync()
        except StoreError as exc:
            log.warning("safeguarding: inbox items wait for the next scheduler pass (%s)",
                        exc)

    async def _open(self, event: EventRow) -> bool:
        payload = event.payload
        if event.participant_id is None or event.id is None or payload.get("kind") not in KINDS:
            return False  # blanked by an erasure before it was read: nothing to do
        kind = payload["kind"]
        after = parse_duration(self.config.safeguarding.escalate_after)
        item = AttentionItem(
            participant_id=event.participant_id, kind=kind,
            channel=str(payload.get("channel", "")), text=str(payload.get("text", "")),
            created_at=event.at, event_id=event.id,
            escalate_at=event.at + after if kind == "distress" else None)
        person = await self.store.get_participant(event.participant_id)
        now = self.clock.now()
        made = await self.store.attention_open(
            item, lambda it: alerts_for(self.config, it, who(person, it.participant_id), now))
        if made and kind == "distress":
            log.warning("safeguarding: item %s opened; coordinators alerted", item.id)
        return made

    # -- escalation ----------------------------------------------------------------------
    async def escalate(self, now: dt.datetime) -> int:
        """Escalate every safeguarding item unacknowledged past its deadline."""
        done = 0
        for item in await self.store.attention_escalations_due(now):
            assert item.id is not None
            if await self.store.attention_escalate(item.id, escalations_for(self.config, item,
                                                                             now), now):
                await self._audit("safeguarding", "attention.escalate", item.id,
                                  to=len(self.config.safeguarding.escalate_to))
                log.warning("safeguarding: item %s escalated (unacknowledged)", item.id)
                done += 1
        return done

    async def next_escalation(self) -> dt.datetime | None:
        due = [i.escalate_at for i in await self.store.attention_list(status="open")
               if i.escalate_at is not None and i.acked_at is None and i.escalated_at is None]
        return min(due, default=None)

    # -- coordinator actions -------------------------------------------------------------
    async def get(self, item_id: int) -> AttentionItem:
        item = await self.store.attention_get(item_id)
        if item is None:
            raise AttentionError(f"no inbox item #{item_id}")
        return item

    async def ack(self, item_id: int, by: str, via: str) -> AttentionItem:
        """Acknowledge (first one wins; a second says who already did)."""
        await self.get(item_id)
        if await self.store.attention_ack(item_id, by, self.clock.now()):
            await self._audit(by, "attention.ack", item_id, via=via)
        return await self.get(item_id)

    async def done(self, item_id: int, by: str, via: str) -> AttentionItem:
        await self.get(item_id)
        if await self.store.attention_done(item_id, by, self.clock.now()):
            await self._audit(by, "attention.done", item_id, via=via)
        return await self.get(item_id)

    async def reply(self, participant_id: str, text: str, by: str, *,
                    override_quiet: bool = False, item_id: int | None = None) -> OutboxItem:
        """A coordinator's message to a person, through the outbox on their channel;
        held until their quiet hours end unless ``override_quiet``."""
        text = text.strip()
        if not text:
            raise AttentionError("the reply is empty")
        person = await self.store.get_participant(participant_id)
        if person is None or person.status == "erased":
            raise AttentionError(f"no participant {participant_id}")
        address = await self._address(person, item_id)
        now = self.clock.now()
        prefs = prefs_for(person, self.config)
        send_at = now if override_quiet else next_allowed(now, prefs.timezone, prefs.quiet)
        item = OutboxItem(
            participant_id=person.id, address=address.address, channel=address.channel,
            payload={"text": text, "plain": text, "kind": "coordinator_reply", "node": None,
                     "layout": "list", "long_ok": True, "choices": [], "session_id": None,
                     "flow_id": None},
            created_at=now, not_before=send_at)
        await self.store.apply(Changes(outbox=[item]))
        await self._audit(by, "attention.reply", item_id or 0, participant=person.id,
                          channel=address.channel, held_until=send_at.isoformat()
                          if send_at > now else None)
        return item

    async def _address(self, person: Participant, item_id: int | None) -> Address:
        usable = [a for a in await self.store.addresses_of(person.id)
                  if not a.opted_out and not a.unreachable]
        if not usable:
            raise AttentionError("this person cannot be reached (opted out or unreachable "
                                 "on every channel)")
        came_in = (await self.get(item_id)).channel if item_id else None
        usable.sort(key=lambda a: (a.channel != came_in, a.channel != person.preferred_channel,
                                   a.created_at))
        return usable[0]

    async def _audit(self, actor: str, action: str, item_id: int, **detail: object) -> None:
        await self.store.audit_add(AuditEntry(
            at=self.clock.now(), actor=actor, action=action, subject=f"#{item_id}",
            detail={k: v for k, v in detail.items() if v is not None}))
