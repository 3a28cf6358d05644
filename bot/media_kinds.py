"""What kind of thing a person sent instead of (or with) text, and what to call it.

Shared by the channels (which read a provider's content type or message field), the
conversation (which says what it received) and the dashboard and results (which count
"voice note" and "photo" answers). No I/O.
"""

from __future__ import annotations

from typing import Literal

MediaKind = Literal["voice", "audio", "photo", "video", "document", "sticker", "location"]
KINDS: tuple[MediaKind, ...] = ("voice", "audio", "photo", "video", "document", "sticker",
                                "location")
LABELS: dict[str, str] = {"voice": "voice note", "audio": "audio", "photo": "photo",
                          "video": "video", "document": "document", "sticker": "sticker",
                          "location": "location"}
"""How an answer of each kind is named in results and the dashboard."""
PLAYABLE = {"voice": "audio", "audio": "audio", "video": "video", "photo": "img",
            "sticker": "img"}
"""The HTML element that shows each kind inline (others are a download link)."""


def kind_of_type(content_type: str, *, voice_if_ogg: bool = False) -> MediaKind:
    """A media kind from a MIME type. WhatsApp voice notes are Ogg/Opus audio, and its
    stickers WebP images, so ``voice_if_ogg`` says the provider is WhatsApp."""
    base = content_type.split(";")[0].strip().lower()
    if base.startswith("audio/"):
        return "voice" if voice_if_ogg and base == "audio/ogg" else "audio"
    if base == "image/webp" and voice_if_ogg:
        return "sticker"
    if base.startswith("image/"):
        return "photo"
    if base.startswith("video/"):
        return "video"
    return "document"


def label(kind: str) -> str:
    return LABELS.get(kind, kind)


def answer_value(kind: str) -> str:
    """How a media answer reads in results and exports: ``[voice note]``."""
    return f"[{label(kind)}]"


MEDIA_VALUES = {answer_value(k): label(k) for k in KINDS}


def kinds_of_answers(values: list[object]) -> list[tuple[str, int]]:
    """For a free-text question: how many answers were typed and how many were each kind
    of media (``[("typed", 12), ("voice note", 3)]``); empty when all were typed."""
    counts: dict[str, int] = {}
    for value in values:
        kind = MEDIA_VALUES.get(value, "typed") if isinstance(value, str) else "typed"
        counts[kind] = counts.get(kind, 0) + 1
    if set(counts) <= {"typed"}:
        return []
    return sorted(counts.items(), key=lambda kv: (kv[0] != "typed", kv[0]))
