"""What a voice note, photo, video, document, sticker or location does in a conversation.

People answer the way their phone makes easy. To a free-text question such a reply *is*
the answer: it is recorded as ``[voice note]``, ``[photo]`` … (so results count it by
kind) and the item is kept as a ``MediaItem`` linked to that answer, to be fetched into
the media folder (``bot.media_fetch``) and played in the dashboard. The row is written
before the conversation commits and is idempotent on the inbound message, so a crash or
a failed download never loses the reply.

To a question with options a kind reply says what is needed (a number, a button, SKIP
where allowed). A profile question (``save_as = "participant.…"``, such as the name to
call someone) takes words only. Before consent nothing but the address is kept, so
media then get the plain "please reply in words".
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.engine.io import Reply
from bot.flows.models import AskNode
from bot.media_kinds import KINDS, answer_value
from bot.store.media import MediaItem

if TYPE_CHECKING:
    from bot.conversations import Conversations, Inbound, _Unit

BUTTON_CHANNELS = frozenset({"telegram", "whatsapp"})


def usable(media: tuple[dict[str, Any], ...]) -> list[dict[str, Any]]:
    return [m for m in media if m.get("kind") in KINDS and m.get("source")]


async def receive(conv: Conversations, unit: _Unit, inbound: Inbound) -> None:
    """Answer a media reply (see the module doc); changes go into ``unit``."""
    items = usable(inbound.media)
    p = unit.participant
    session = await conv.store.active_session(p.id)
    if not items or session is None or session.status != "waiting" or \
            p.status != "consented":
        conv._system(unit, "system.media_not_supported")
        return
    flow = await conv._flow(session)
    node = flow.nodes.get(session.node)
    if not isinstance(node, AskNode):
        conv._system(unit, "system.media_not_supported")
        return
    if node.answer.kind != "text" or (node.save_as or "").startswith("participant."):
        key = ("system.media_needs_choice" if node.answer.kind != "text"
               else "system.media_not_supported")
        conv._system(unit, key, skippable=node.skippable,
                     buttons=inbound.channel in BUTTON_CHANNELS)
        return
    asked = session.node
    for position, item in enumerate(items):
        geo = item["kind"] == "location"
        await conv.store.media_add(MediaItem(
            participant_id=p.id, channel=inbound.channel, kind=item["kind"],
            source=str(item["source"]), content_type=str(item.get("content_type") or ""),
            created_at=unit.now, inbox_id=inbound.inbox_id, position=position,
            session_id=session.id, node=asked, status="kept" if geo else "pending"))
    await conv._step(unit, flow, session, Reply(answer_value(items[0]["kind"])))
