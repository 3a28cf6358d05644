"""A message to one participant from outside a conversation (a coordinator confirmed
their request, an event reminder): rendered in their language, to their preferred
usable address, as an outbox row for the caller to commit with what caused it."""

from __future__ import annotations

import datetime as dt
from typing import Any

from bot.config import Config
from bot.i18n.renderer import Renderer
from bot.store.base import Store
from bot.store.records import OutboxItem, Participant


async def notice(store: Store, renderer: Renderer, config: Config, person: Participant,
                 key: str, now: dt.datetime, kind: str = "notice",
                 **data: Any) -> OutboxItem | None:
    """The outbox row, or None when the person has no address we may write to."""
    usable = [a for a in await store.addresses_of(person.id)
              if not a.opted_out and not a.unreachable]
    if person.status == "erased" or not usable:
        return None
    usable.sort(key=lambda a: (a.channel != person.preferred_channel, a.created_at))
    address = usable[0]
    text = renderer.render(key, person.locale, {
        "project": config.project_data(), "participant": dict(person.profile), **data})
    return OutboxItem(participant_id=person.id, address=address.address,
                      channel=address.channel,
                      payload={"text": text, "plain": text, "kind": kind, "node": None,
                               "layout": "list", "long_ok": False, "choices": [],
                               "session_id": None, "flow_id": None},
                      created_at=now, not_before=now)
