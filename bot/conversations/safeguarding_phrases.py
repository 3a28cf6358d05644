"""Matching distress phrases: whole words, any case, punctuation ignored.

The engine flags answers inside a flow the same way (``bot.engine.step``); this one is
for messages outside any flow, which the engine never sees.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_NON_WORD = re.compile(r"[^\w']+")


def _fold(text: str) -> str:
    return " " + _NON_WORD.sub(" ", text.casefold()).strip() + " "


def flagged_phrase(text: str, phrases: Iterable[str]) -> str | None:
    """The first configured phrase ``text`` contains, else None."""
    folded = _fold(text)
    for phrase in phrases:
        needle = _fold(phrase)
        if needle.strip() and needle in folded:
            return phrase
    return None
