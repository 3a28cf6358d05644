"""First contact: who a message from an unknown address belongs to. An invite link
(``/start <code>``) may name a cohort or an imported person; a group chat and, in
invite-only projects, a stranger are answered without enrolling anyone."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from bot.acks import ack_item
from bot.config import Config
from bot.conversations.unit import Inbound, payload_of
from bot.engine.io import Output
from bot.i18n.renderer import Renderer
from bot.ids import IdSource
from bot.store.base import Store
from bot.store.records import Address, Changes, Invite, OutboxItem, Participant


@dataclass(frozen=True)
class Admitted:
    participant: Participant
    address: Address
    invite: Invite | None
    """The invite used, counted in the same unit as the enrolment it makes."""


class Enrolment:
    def __init__(self, store: Store, config: Config, renderer: Renderer,
                 ids: IdSource) -> None:
        self.store, self.config, self.renderer, self.ids = store, config, renderer, ids

    async def admit(self, inbound: Inbound, word: str | None,
                    now: dt.datetime) -> Admitted | None:
        """The participant (new, or imported and following their link) and this
        address; None when the message was answered without enrolling anyone."""
        if inbound.kind == "group":
            # a group chat is declined without enrolling it: nobody there has consented
            await self.reply_unknown(inbound, "system.group_not_supported", now)
            return None
        invite = await self.store.get_invite(inbound.invite) if inbound.invite else None
        if invite is not None and invite.uses >= invite.max_uses:
            invite = None
        if invite is None and self.config.enrolment.mode == "invite" and word != "stop":
            await self.reply_unknown(inbound, "system.not_enrolled", now)
            return None
        participant = await self._imported(invite)
        if participant is None:
            participant = Participant(id=self.ids.new("p"), created_at=now,
                                      locale=self.config.project.locales[0],
                                      cohort=invite.cohort if invite else None)
        address = Address(inbound.address, participant.id, inbound.channel, now)
        return Admitted(participant, address, invite)

    async def _imported(self, invite: Invite | None) -> Participant | None:
        """An imported person following their own link: this chat becomes theirs."""
        if invite is None or not invite.participant_id:
            return None
        participant = await self.store.get_participant(invite.participant_id)
        if participant is not None and participant.status == "erased":
            return None
        return participant

    async def reply_unknown(self, inbound: Inbound, key: str, now: dt.datetime) -> None:
        text = self.renderer.render(key, self.config.project.locales[0],
                                    {"project": self.config.project_data()})
        item = OutboxItem(participant_id="", address=inbound.address, channel=inbound.channel,
                          payload=payload_of(Output(text, text, "notice"), None),
                          created_at=now, not_before=now)
        ack = ack_item(ack=inbound.ack, source_id=inbound.source_id, participant_id="",
                       address=inbound.address, channel=inbound.channel, now=now)
        await self.store.apply(Changes(outbox=[item] if ack is None else [ack, item],
                                       inbox_done=[inbound.inbox_id]
                                       if inbound.inbox_id is not None else []))
