"""What a voice note, photo, video, document, sticker or location does in a conversation.

People answer the way their phone makes easy. To a free-text question such a reply *is*
the answer: it is recorded as ``[voice note]``, ``[photo]`` … (so results count it by
kind) and the item is kept as a ``MediaItem`` linked to that answer, to be fetched into
the media folder (``bot.media_fetch``) and played in the dashboard. The row is written
before the conversation commits and is idempotent on the inbound message, so a crash or
a failed download never loses the reply.

To a question with options a kind reply says what is needed (a number, a button, SKIP
where allowed). With nothing asked, the item is kept for the team (listed in the
dashboard) and the person told so; a photo with a caption answers with its words and
the photo is kept beside the answer. A profile question (``save_as =
"participant.…"``, such as the name to call someone) takes words only. Before consent
nothing but the address is kept, so media then get the plain "please reply in words".
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.engine.io import Reply
from bot.engine.session import Session
from bot.flows.models import AskNode
from bot.media_kinds import KINDS, answer_value, label
from bot.store.media import MediaItem

if TYPE_CHECKING:
    from bot.conversations import Conversations
    from bot.conversations.unit import Inbound, Unit

BUTTON_CHANNELS = frozenset({"telegram", "whatsapp"})


def usable(media: tuple[dict[str, Any], ...]) -> list[dict[str, Any]]:
    return [m for m in media if m.get("kind") in KINDS and m.get("source")]


async def receive(conv: Conversations, unit: Unit, inbound: Inbound) -> None:
    """Answer a media reply (see the module doc); changes go into ``unit``."""
    items = usable(inbound.media)
    p = unit.participant
    session = await conv.store.active_session(p.id)
    if not items or p.status != "consented":
        conv._system(unit, "system.media_not_supported")
        return
    if session is None or session.status != "waiting":
        # nothing asked: kept for the team (the dashboard lists it), not turned away
        await keep(conv, unit, inbound, None)
        conv._system(unit, "system.media_kept", what=label(items[0]["kind"]))
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
    await keep(conv, unit, inbound, session)
    await conv._step(unit, flow, session, Reply(answer_value(items[0]["kind"])))


async def keep(conv: Conversations, unit: Unit, inbound: Inbound,
               session: Session | None) -> None:
    """Record the message's media (linked to the open question, if any) before the unit
    commits; idempotent on the inbound message. Nothing before consent."""
    if unit.participant.status != "consented":
        return
    for position, item in enumerate(usable(inbound.media)):
        geo = item["kind"] == "location"
        await conv.store.media_add(MediaItem(
            participant_id=unit.participant.id, channel=inbound.channel, kind=item["kind"],
            source=str(item["source"]), content_type=str(item.get("content_type") or ""),
            created_at=unit.now, inbox_id=inbound.inbox_id, position=position,
            session_id=session.id if session else None,
            node=session.node if session else None, status="kept" if geo else "pending"))
