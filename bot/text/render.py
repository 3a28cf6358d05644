"""How an outbox payload looks on each kind of channel, without sending anything.

Shared by the real channels, ``parley simulate`` and the demo, so what a coordinator
previews is exactly what a participant receives.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.text.sms_encoding import measure, sanitise_system_text, split_for_sms

TELEGRAM_MAX = 4096


@dataclass(frozen=True)
class SmsBody:
    text: str
    encoding: str
    segments: int


def sms_bodies(payload: dict[str, Any]) -> list[SmsBody]:
    """The SMS message(s) for one payload: plain text with numbered options, GSM-7
    sanitised; a text the flow allows to be long is split into ``(1/2)`` parts."""
    text = sanitise_system_text(str(payload.get("plain") or payload.get("text") or ""))
    parts = split_for_sms(text) if payload.get("long_ok") else [text]
    out = []
    for part in parts or [text]:
        info = measure(part)
        out.append(SmsBody(part, info.encoding, info.segments))
    return out


def split_telegram(text: str, limit: int = TELEGRAM_MAX) -> list[str]:
    """Split at paragraph boundaries (then lines, then spaces) to fit Telegram's limit."""
    parts: list[str] = []
    rest = text
    while len(rest) > limit:
        window = rest[:limit]
        cut = max(window.rfind("\n\n"), 0)
        if cut < limit // 2:
            cut = max(window.rfind("\n"), window.rfind(" "))
        if cut < limit // 2:
            cut = limit
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip("\n ")
    parts.append(rest)
    return [p for p in parts if p] or [""]


def button_labels(payload: dict[str, Any]) -> list[str]:
    return [str(c["label"]) for c in payload.get("choices", [])]
