"""One message to one participant about their own contribution (a suggestion's fate, a
decision on their comment): in their language, to a reachable address, outside their
quiet hours, through the outbox, with the event that records it in the same commit."""

from __future__ import annotations

import datetime as dt
from typing import Any

from bot.config import Config
from bot.contact_prefs import prefs_of
from bot.conversations import payload_of
from bot.engine.io import Output
from bot.i18n.renderer import Renderer
from bot.store.base import Store
from bot.store.records import Changes, EventRow, OutboxItem, Participant
from bot.timing import next_allowed


async def tell(store: Store, renderer: Renderer, config: Config, person: Participant,
               key: str, now: dt.datetime, event: tuple[str, dict[str, Any]],
               **data: Any) -> bool:
    """False when nobody can be reached (every address opted out or unreachable)."""
    addresses = [a for a in await store.addresses_of(person.id)
                 if not a.opted_out and not a.unreachable]
    if not addresses:
        return False
    addresses.sort(key=lambda a: (a.channel != person.preferred_channel, a.created_at))
    address = addresses[0]
    locale = person.locale if person.locale in renderer.locales else config.project.locales[0]
    text = renderer.render(key, locale, {"project": config.project_data(), **data})
    prefs = prefs_of(person.timezone, person.profile.get("quiet_hours"), None, config)
    # a coordinator deciding late in the evening must not wake anyone
    when = next_allowed(now, prefs.timezone, prefs.quiet)
    await store.apply(Changes(
        outbox=[OutboxItem(participant_id=person.id, address=address.address,
                           channel=address.channel, created_at=now, not_before=when,
                           payload=payload_of(Output(text, text, "notice"), None))],
        events=[EventRow(person.id, None, event[0], event[1], now)]))
    return True
