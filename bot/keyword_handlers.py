"""Global words handled outside ``bot/conversations/``: a registry of small handlers.

``bot.engine.keywords`` recognises a word (and its arguments); ``Conversations`` looks
the word up here and calls its handler with a ``KeywordCall``: the person (changes to
``participant.profile`` commit with the reply), the reply function and the project's
config and store. A handler returns False when the word does not apply (the time bank
is off, say), and the text is then treated as an ordinary reply.

Handlers register when their modules are imported; ``bot.wiring`` (where a running
Parley is put together) imports them, so this registry never imports its handlers and
the layers keep pointing down.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.config import Config
from bot.store.base import Store
from bot.store.records import Changes, Participant

__all__ = ["HANDLERS", "MATCHERS", "Handler", "KeywordCall", "active", "match", "register",
           "register_matcher"]


@dataclass
class KeywordCall:
    participant: Participant
    text: str
    args: tuple[str, ...]
    channel: str
    now: dt.datetime
    config: Config
    store: Store
    changes: Changes
    say: Callable[..., None]
    """``say(template_key, **data)``: a reply in the person's language, via the outbox."""
    key: str | None = None
    """The inbound message's identity (``inbox:<id>``): a reprocessed message must not
    make a second request."""


Handler = Callable[[KeywordCall], Awaitable[bool]]
HANDLERS: dict[str, Handler] = {}
WHEN: dict[str, Callable[[Config], bool]] = {}
"""Words whose handler applies only under some configuration (BALANCE: the time bank)."""
MATCHERS: list[Handler] = []
"""Words that are not fixed (an event's code word): tried, in order, on a plain text
before it goes to the conversation; the first that returns True handles it."""


def register_matcher(handler: Handler) -> Handler:
    if handler not in MATCHERS:
        MATCHERS.append(handler)
    return handler


async def match(call: KeywordCall) -> bool:
    for handler in MATCHERS:
        if await handler(call):
            return True
    return False


def register(word: str, when: Callable[[Config], bool] | None = None
             ) -> Callable[[Handler], Handler]:
    """Decorator: ``@register("pause")`` makes the function the word's handler; with
    ``when``, only for a project whose config it accepts."""

    def wrap(handler: Handler) -> Handler:
        HANDLERS[word] = handler
        if when is not None:
            WHEN[word] = when
        return handler

    return wrap


def active(config: Config) -> frozenset[str]:
    """The words handled here for this project."""
    return frozenset(w for w in HANDLERS if w not in WHEN or WHEN[w](config))
