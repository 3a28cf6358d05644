"""What a global word followed by the person's own text does (``SUGGEST more buses``).

``bot.engine.keywords.prefixed`` recognises the word; ``HANDLERS`` says what it does.
A handler is pure: it returns the event to record and the reply to send, and
``Conversations`` commits both with the inbound message, in one unit of work.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.engine.events import SuggestionMade
from bot.store.records import Participant

MAX_SUGGESTION = 500
"""Long enough for an idea and why; longer texts are asked to be shortened."""


@dataclass(frozen=True)
class WordOutcome:
    reply: str
    """Template key of the answer."""
    event: SuggestionMade | None = None
    args: dict[str, Any] = field(default_factory=dict)


def suggest(participant: Participant, text: str) -> WordOutcome:
    """SUGGEST <text>: a topic for the agenda, any time, even mid-question."""
    if participant.status != "consented":
        return WordOutcome("agenda.not_yet")  # before consent nothing is kept
    if not text:
        return WordOutcome("agenda.how")
    if len(text) > MAX_SUGGESTION:
        return WordOutcome("agenda.too_long", args={"max": MAX_SUGGESTION})
    return WordOutcome("agenda.thanks", SuggestionMade(None, text, participant.locale))


HANDLERS: dict[str, Callable[[Participant, str], WordOutcome]] = {"suggest": suggest}
