"""Text hygiene at the edges: what comes in is valid Unicode, what goes to a terminal is
inert.

- **In.** JSON allows ``"\\ud800"``, a lone surrogate: Python keeps it in a ``str``, but it
  cannot be encoded as UTF-8, so a single Telegram message made the results page, its
  CSV, the participant's export and ``/mydata`` fail long after it was stored. NUL is
  legal in JSON and forms but breaks C-string consumers (spreadsheets, some terminals).
  ``clean`` turns both into U+FFFD (the replacement character) before anything is
  stored, so all storage and output is valid UTF-8.
- **Deep JSON.** ``loads_bounded`` refuses nesting deeper than ``MAX_JSON_DEPTH``.
- **Out to a terminal.** Participants choose their names and answers; printed raw, an
  ANSI sequence recolours or clears the coordinator's screen, an OSC-8 sequence makes a
  hidden link and a bidi override (U+202E) shows text reversed. ``for_terminal`` drops C0
  and C1 control characters (tab and newline aside) and the bidi controls, and escapes
  rich's markup, so a name is shown as the characters it is, nothing more.
"""

from __future__ import annotations

import re
from typing import Any

from rich.markup import escape

from bot.json_codec import loads

__all__ = ["clean", "clean_text", "for_terminal", "loads_bounded"]
MAX_JSON_DEPTH = 64
"""Deeper JSON is refused (400): Telegram's updates are a handful of levels deep, and the
C decoder would otherwise end in a RecursionError (a 500) on a hostile body."""

_UNSAFE_IN = re.compile("[\ud800-\udfff\x00]")
_UNSAFE_OUT = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def clean_text(text: str) -> str:
    """Lone surrogates and NUL replaced by U+FFFD (a valid string is returned as is)."""
    return _UNSAFE_IN.sub("\ufffd", text)


def clean(value: Any) -> Any:
    """``clean_text`` applied to every string in a JSON-like value (keys included)."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean(k): clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    return value


def for_terminal(value: object) -> str:
    """``value`` as inert text for a terminal table or line: no control characters, no
    bidi controls, rich markup escaped."""
    return escape(_UNSAFE_OUT.sub("", "" if value is None else str(value)))


def loads_bounded(body: bytes | str, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """``json.loads``, refusing (ValueError) documents nested deeper than ``max_depth``."""
    try:
        value = loads(body)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > max_depth:
                raise ValueError(f"JSON nested deeper than {max_depth} levels")
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return value
