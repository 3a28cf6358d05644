"""Fewer, fuller messages on rich channels.

The engine says things in small steps (the consent introduction is five ``say`` nodes
and a question) because on SMS each step must fit one segment. Telegram and WhatsApp
have no segments: five pings in a row for one thought is noise, and each extra message
is one more chance for a per-chat rate limit. So, when one unit of work queues several
plain texts for the same chat on a rich channel, each is folded into the message that
follows it, separated by a blank line, as long as the result stays within the
platform's length limit. What carries buttons, files or acknowledgements is never
folded *into* another message (only plain texts before it fold into it), so the
question keeps its buttons and ends the message, where people expect to answer.

SMS rows are left alone: there, one segment per part is the point.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.store.records import OutboxItem

RICH_LIMITS = {"telegram": 4096, "whatsapp": 1600}
"""Characters per message: Telegram's limit, and Twilio's for a WhatsApp body."""
FOLDABLE_KINDS = frozenset({"notice", "info", "question", "reprompt", "help", "reminder", "end"})
"""Payload kinds that are ordinary chat messages (not an acknowledgement, a file or a
STOP confirmation, which must stay exactly as they are)."""
SEPARATOR = "\n\n"


def _plain_text(item: OutboxItem) -> bool:
    payload = item.payload
    return (payload.get("kind") in FOLDABLE_KINDS and not payload.get("choices")
            and not payload.get("forget_after_send") and bool(payload.get("text")))


def _joinable(first: OutboxItem, second: OutboxItem) -> bool:
    limit = RICH_LIMITS.get(first.channel)
    if limit is None or first.address != second.address or first.channel != second.channel:
        return False
    if not _plain_text(first) or second.payload.get("kind") not in FOLDABLE_KINDS:
        return False
    if first.round_id is not None and first.round_id != second.round_id:
        return False  # a round's counts follow its own messages
    size = len(str(first.payload.get("text", ""))) + len(str(second.payload.get("text", "")))
    return size + len(SEPARATOR) <= limit


def _fold(first: OutboxItem, second: OutboxItem) -> OutboxItem:
    """``first``'s text in front of ``second`` (which keeps its buttons and kind)."""
    payload: dict[str, Any] = dict(second.payload)
    for key in ("text", "plain"):
        before, after = str(first.payload.get(key) or ""), str(second.payload.get(key) or "")
        payload[key] = SEPARATOR.join(p for p in (before, after) if p)
    # every part's template key, in order: WhatsApp may need one outside its window
    payload["template_keys"] = [*template_keys(first.payload), *template_keys(second.payload)]
    payload["kinds"] = [*kinds(first.payload), *kinds(second.payload)]  # what it carries
    second.payload = payload
    second.round_id = second.round_id or first.round_id
    return second


def kinds(payload: dict[str, Any]) -> list[str]:
    """The kinds of the messages a payload carries (``["reminder", "question"]``)."""
    return list(payload.get("kinds") or [str(payload.get("kind"))])


def template_keys(payload: dict[str, Any]) -> list[str]:
    """The template keys a message can be sent under, most specific first."""
    keys = list(payload.get("template_keys") or [])
    if keys:
        return keys
    found: list[str] = []
    flow, node = payload.get("flow_id"), payload.get("node")
    if payload.get("kind") == "reminder" and flow:
        found.append(f"{flow}.reminder")
    if payload.get("template_key"):
        found.append(str(payload["template_key"]))
    if flow and node:
        found.append(f"{flow}.{node}")
    return found


def bundle(items: Sequence[OutboxItem]) -> list[OutboxItem]:
    """``items`` with consecutive plain texts to one rich chat folded forward."""
    out: list[OutboxItem] = []
    for item in items:
        previous = out[-1] if out else None
        if previous is not None and _joinable(previous, item):
            out[-1] = _fold(previous, item)
        else:
            out.append(item)
    return out
