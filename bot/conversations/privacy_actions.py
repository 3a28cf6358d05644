"""DELETE and ``/mydata``: a person erasing their data (confirmed by a second DELETE or
a button) and seeing what we hold about them."""

from __future__ import annotations

import json

from bot.conversations.replies import Replies
from bot.conversations.unit import DELETE_TOKEN, FILE_CHANNELS, KEEP_TOKEN, Unit, payload_of
from bot.engine.io import Output
from bot.privacy import export_participant
from bot.store.base import Store
from bot.store.records import Changes, EventRow, OutboxItem


class PrivacyActions:
    def __init__(self, store: Store, replies: Replies) -> None:
        self.store, self.replies = store, replies

    async def delete_word(self, unit: Unit) -> None:
        """DELETE: the first asks to confirm (with buttons), the second erases."""
        p = unit.participant
        if p.profile.get("delete_requested"):
            await self.erase(unit)
            return
        p.profile["delete_requested"] = unit.now.isoformat()
        self.replies.system(unit, "system.delete_confirm")
        self.delete_buttons(unit, unit.changes.outbox[-1])

    def delete_buttons(self, unit: Unit, item: OutboxItem) -> None:
        """Buttons on the DELETE confirmation (typing DELETE again works everywhere)."""
        p, r = unit.participant, self.replies
        item.payload["choices"] = [
            {"key": "DELETE", "label": r.render("system.delete_button", p),
             "value": "delete", "token": DELETE_TOKEN},
            {"key": "KEEP", "label": r.render("system.keep_button", p),
             "value": "keep", "token": KEEP_TOKEN}]
        item.payload["layout"] = "row"

    async def delete_pressed(self, unit: Unit, token: str) -> None:
        p = unit.participant
        if not p.profile.get("delete_requested"):
            self.replies.closed(unit)
            return
        if unit.ack is not None:
            key = "system.delete_button" if token == DELETE_TOKEN else "system.keep_button"
            confirm = self.replies.render("system.delete_confirm", p)
            label = self.replies.render(key, p)
            unit.ack.payload["edit_text"] = self.replies.answered(unit, confirm, label)
        if token == DELETE_TOKEN:
            await self.erase(unit)
        else:
            p.profile.pop("delete_requested")
            self.replies.system(unit, "system.delete_cancelled")

    async def my_data(self, unit: Unit) -> None:
        """What we hold, in words and (where the channel carries files) as a JSON file."""
        p, address = unit.participant, unit.address
        assert address is not None
        try:
            export = await export_participant(self.store, p.id)
        except KeyError:  # their very first message: nothing is stored yet but the address
            export = {"participant": {"id": p.id, "status": p.status}, "consents": [],
                      "answers": [], "addresses": [{"address": address.address,
                                                    "channel": address.channel}]}
        name = p.profile.get("preferred_name") or p.name
        with_file = address.channel in FILE_CHANNELS
        self.replies.system(
            unit, "system.mydata", answers=len(export.get("answers", [])),
            consents=len(export.get("consents", [])), name=name or "",
            channel={"sms": "SMS", "whatsapp": "WhatsApp"}.get(address.channel,
                                                              address.channel.title()),
            file=with_file)
        if with_file:
            text = json.dumps(export, ensure_ascii=False, indent=2, default=str)
            unit.changes.outbox.append(OutboxItem(
                participant_id=p.id, address=address.address, channel=address.channel,
                payload={"kind": "document", "text": "", "plain": "", "choices": [],
                         "layout": "list", "node": None, "long_ok": False,
                         "session_id": None, "flow_id": None,
                         "filename": "my-data.json", "mime_type": "application/json",
                         "content": text},
                created_at=unit.now, not_before=unit.now))

    async def erase(self, unit: Unit) -> None:
        """Erase on the second DELETE. The goodbye is queued unlinked from the person so
        that erasing their data does not erase the confirmation of it."""
        p, address = unit.participant, unit.address
        assert address is not None
        text = self.replies.render("system.deleted", p)
        goodbye = Output(text=text, plain=text, kind="notice")
        unit.changes = Changes(inbox_done=unit.changes.inbox_done)
        if unit.ack is not None:  # unlinked too, so the erasure does not cancel it
            unit.ack.participant_id = ""
            unit.changes.outbox.append(unit.ack)
        unit.changes.outbox.append(OutboxItem(
            participant_id="", address=address.address, channel=address.channel,
            payload={**payload_of(goodbye, None), "forget_after_send": True},
            created_at=unit.now, not_before=unit.now))
        unit.changes.events.append(EventRow(None, None, "ParticipantErased",
                                            {"participant_id": p.id}, unit.now))
        unit.changes.erase = (p.id, unit.now)  # one transaction with the goodbye
        await self.store.apply(unit.changes)
        p.status = "erased"
        unit.changes = Changes()
