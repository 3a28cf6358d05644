"""Telegram updates → the normalised inbox payload Parley keeps.

A Telegram update carries the person's first name, last name, username and more. Before
consent Parley may keep nothing but the address (DESIGN §2), so the inbox never stores
the update: only what ``Conversations`` needs, built here from the plain JSON (no PTB
objects, which would be slower and would carry the names along):

``{"text", "kind", "press", "invite", "ack", "source_id"}`` where ``kind`` is ``text``,
``press`` (an inline button; ``press`` is its token, ``ack`` the callback query id and
``source_id`` our message's id), ``media`` (photo, voice, sticker…: answered with
"please reply in text") or ``group`` (a group chat: declined politely).

The dedupe key: Telegram re-sends an update until it gets a 2xx, with the same
``update_id``. ``update_id`` alone is not a safe key for ever: ids increase, but after a
week without updates the next one is random, so an old id could come back. The key is
therefore the update id *plus* what identifies the content — the chat and message id
for a message (message ids are per chat and never reused), the callback query id for a
press (unique across Telegram) — so a re-sent update always matches itself and a new
update can only collide with an old one if both the update id and the message did,
which cannot happen. No time window is needed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

CALLBACK_PREFIX = "a:"
"""``callback_data`` is ``a:<token>``; the prefix leaves room for other button kinds."""
MAX_CALLBACK_BYTES = 64
MEDIA_FIELDS = ("photo", "voice", "sticker", "video", "video_note", "audio", "document",
                "animation", "location", "venue", "contact", "poll", "dice", "story")
GROUP_EVENTS = ("new_chat_members", "group_chat_created", "supergroup_chat_created")
_DEEP_LINK = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
"""What Telegram allows in a ``t.me/<bot>?start=<payload>`` deep link."""


class UpdateError(ValueError):
    """The body is JSON but not a Telegram update we can read (answered 400)."""


@dataclass(frozen=True)
class Normalised:
    dedupe_key: str
    address: str
    payload: dict[str, Any]


def callback_data(token: str) -> str:
    """The ``callback_data`` for a button token; ValueError when over Telegram's 64 bytes."""
    data = CALLBACK_PREFIX + token
    if not token or len(data.encode("utf-8")) > MAX_CALLBACK_BYTES:
        raise ValueError(f"button token of {len(token.encode('utf-8'))} bytes does not fit "
                         f"Telegram's {MAX_CALLBACK_BYTES}-byte callback_data")
    return data


def address_of(chat_id: int) -> str:
    return f"telegram:{chat_id}"


def chat_of(address: str) -> int:
    """The chat id of ``telegram:<chat id>``; ValueError for anything else."""
    prefix, _, rest = address.partition(":")
    if prefix != "telegram":
        raise ValueError(f"not a Telegram address: {address!r}")
    return int(rest)


def _int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise UpdateError(f"{what} is not an integer")
    return value


def _mapping(value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise UpdateError(f"{what} is missing or not an object")
    return value


def _payload(kind: str, text: str = "", **extra: Any) -> dict[str, Any]:
    return {"text": text, "kind": kind, "press": None, "invite": None, "ack": None,
            "source_id": None, **extra}


def normalise(update: Mapping[str, Any]) -> Normalised | None:
    """The inbox entry for an update, or None for one Parley does not act on (an edited
    message, a channel post, a service message); UpdateError when it is malformed."""
    update_id = _int(update.get("update_id"), "update_id")
    if "message" in update:
        return _message(update_id, _mapping(update["message"], "message"))
    if "callback_query" in update:
        return _callback(update_id, _mapping(update["callback_query"], "callback_query"))
    return None


def _message(update_id: int, message: Mapping[str, Any]) -> Normalised | None:
    chat = _mapping(message.get("chat"), "message.chat")
    chat_id = _int(chat.get("id"), "message.chat.id")
    message_id = _int(message.get("message_id"), "message.message_id")
    key = f"{update_id}:{chat_id}:{message_id}"
    text = message.get("text")
    if chat.get("type", "private") != "private":
        # in a group, answer only what is addressed to the bot (a command, being added)
        addressed = (isinstance(text, str) and text.startswith("/")) or any(
            message.get(field) for field in GROUP_EVENTS)
        return Normalised(key, address_of(chat_id), _payload("group")) if addressed else None
    if isinstance(text, str):
        return Normalised(key, address_of(chat_id), _text_payload(text))
    if any(message.get(field) for field in MEDIA_FIELDS):
        return Normalised(key, address_of(chat_id), _payload("media", media=media_of(message)))
    return None


TELEGRAM_KINDS = {"voice": ("voice", "audio/ogg"), "audio": ("audio", "audio/mpeg"),
                  "video": ("video", "video/mp4"), "video_note": ("video", "video/mp4"),
                  "animation": ("video", "video/mp4"), "document": ("document", ""),
                  "sticker": ("sticker", "image/webp")}
"""Telegram message field → media kind and the content type when Telegram names none."""


def media_of(message: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Descriptors of what a message carries: the file to fetch (``file_id``, fetched
    later with getFile) or a location's coordinates. Nothing that names the sender."""
    found: list[dict[str, Any]] = []
    photos = message.get("photo")
    if isinstance(photos, list) and photos and isinstance(photos[-1], Mapping):
        best = photos[-1]  # Telegram lists the sizes smallest first
        found.append({"kind": "photo", "source": str(best.get("file_id", "")),
                      "content_type": "image/jpeg", "size": best.get("file_size")})
    for field, (kind, default_type) in TELEGRAM_KINDS.items():
        item = message.get(field)
        if isinstance(item, Mapping) and item.get("file_id"):
            found.append({"kind": kind, "source": str(item["file_id"]),
                          "content_type": str(item.get("mime_type") or default_type),
                          "size": item.get("file_size")})
    where = message.get("location")
    if isinstance(where, Mapping) and "latitude" in where and "longitude" in where:
        found.append({"kind": "location", "content_type": "",
                      "source": f"geo:{where['latitude']},{where['longitude']}"})
    return [m for m in found if m["source"]][:1]  # one message carries one file


def _text_payload(text: str) -> dict[str, Any]:
    """``/start <code>`` (a deep link) becomes ``/start`` with the invite code apart."""
    parts = text.strip().split(maxsplit=1)
    if parts and parts[0].split("@")[0].lower() == "/start":
        code = parts[1].strip() if len(parts) > 1 else ""
        return _payload("text", "/start", invite=code if _DEEP_LINK.match(code) else None)
    return _payload("text", text)


def _callback(update_id: int, query: Mapping[str, Any]) -> Normalised | None:
    query_id = query.get("id")
    if not isinstance(query_id, str) or not query_id:
        raise UpdateError("callback_query.id is missing")
    message = query.get("message")
    if isinstance(message, Mapping):
        chat = _mapping(message.get("chat"), "callback_query.message.chat")
        chat_id = _int(chat.get("id"), "callback_query.message.chat.id")
        private = chat.get("type", "private") == "private"
        source = message.get("message_id")
        source_id = str(source) if isinstance(source, int) else None
    else:  # the message is too old for Telegram to include: the chat is the person's own
        sender = _mapping(query.get("from"), "callback_query.from")
        chat_id = _int(sender.get("id"), "callback_query.from.id")
        private, source_id = True, None
    key = f"{update_id}:cb:{query_id}"
    data = query.get("data")
    token = data[len(CALLBACK_PREFIX):] if isinstance(data, str) and data.startswith(
        CALLBACK_PREFIX) else (data if isinstance(data, str) and data else "?")
    kind = "press" if private else "group"
    return Normalised(key, address_of(chat_id),
                      _payload(kind, press=token if private else None, ack=query_id,
                               source_id=source_id))
