"""Global words that work in every state, on every channel (DESIGN §2).

Recognition ignores case, spaces and punctuation, so "Stop.", " stop " and "S T O P"
all count, as carriers do. Twilio's own opt-out and opt-in words are included so Parley
agrees with what the carrier already did.
"""

from __future__ import annotations

import re
from typing import Literal

Keyword = Literal["stop", "start", "help", "skip", "delete", "balance", "menu", "yes",
                  "mydata", "pause", "resume", "offers", "spend"]

_WORDS: dict[str, Keyword] = {
    "STOP": "stop", "STOPALL": "stop", "UNSUBSCRIBE": "stop", "CANCEL": "stop",
    "END": "stop", "QUIT": "stop",
    "START": "start", "UNSTOP": "start",
    "HELP": "help", "INFO": "help",
    "SKIP": "skip", "PASS": "skip",
    "DELETE": "delete", "BALANCE": "balance", "MENU": "menu",
    "PAUSE": "pause", "RESUME": "resume", "OFFERS": "offers",
    # Welsh, so the words a Welsh speaker reaches for work too
    "STOPIO": "stop", "HELPU": "help", "CYMORTH": "help", "DILEU": "delete", "NESAF": "skip",
    "SAIB": "pause", "AILDDECHRAU": "resume", "CYNIGION": "offers",
}
_WITH_ARGUMENT: dict[Keyword, re.Pattern[str]] = {
    # "PAUSE 2", "pause 3 weeks": a number (and nothing else) after the word, so a
    # sentence that merely starts with "pause" is still an answer.
    "pause": re.compile(r"^(?:pause|saib)\s*(\d{1,3})\s*(?:weeks?|wks?|w|wythnos)?[.!]*$",
                        re.IGNORECASE),
    # "SPEND 2 <offer>": an amount, then the offer's code or name.
    "spend": re.compile(r"^(?:spend|gwario)\s+(\d{1,3}(?:\.\d{1,2})?)\s*(?:h|hrs?|hours?)?"
                        r"\s+(\S.{0,80})$", re.IGNORECASE | re.DOTALL),
}
_ARGUMENT_INITIALS = frozenset("psgPSG\u017f")
"""Every letter that case-insensitively starts pause/saib or spend/gwario (``ſ`` matches
``s``): any other reply skips those patterns."""
_COMMANDS: dict[str, Keyword] = {
    "/stop": "stop", "/help": "help", "/skip": "skip", "/delete": "delete",
    "/balance": "balance", "/menu": "menu", "/start": "start", "/mydata": "mydata",
    "/offers": "offers", "/pause": "pause", "/resume": "resume",
}
_STRIP = re.compile(r"[\W_]+", re.UNICODE)


def normalise(text: str) -> str:
    """Upper case with every space and punctuation mark removed."""
    return _STRIP.sub("", text).upper()


def classify(text: str) -> Keyword | None:
    """The global word ``text`` stands for, or None for an ordinary reply.

    ``YES`` is returned as ``"yes"``: it means opt-in only for an opted-out address,
    which the caller knows and the words alone do not.
    """
    stripped = text.strip()
    if not stripped or stripped[0].isdigit():  # "7", "8/10": no word starts with a digit
        return None
    letters = stripped.isalpha()  # "seven": no digit, nothing for normalise to drop
    if stripped.startswith("/"):
        command = stripped.split()[0].split("@")[0].lower()
        if command in _COMMANDS:
            return _COMMANDS[command]
    if stripped[0] in _ARGUMENT_INITIALS and not letters:  # those words start so and
        for keyword, pattern in _WITH_ARGUMENT.items():  # take a number
            if pattern.match(stripped):
                return keyword
    word = stripped.upper() if letters else normalise(stripped)
    if len(word) > 12:
        return None
    if word == "YES":
        return "yes"
    return _WORDS.get(word)


def arguments(text: str, word: Keyword) -> tuple[str, ...]:
    """What follows a word that takes arguments (``PAUSE 2`` -> ``("2",)``); empty for
    the bare word or any other keyword."""
    pattern = _WITH_ARGUMENT.get(word)
    found = pattern.match(text.strip()) if pattern is not None else None
    return tuple(g.strip() for g in found.groups()) if found else ()


PREFIXED: dict[str, str] = {
    "SUGGEST": "suggest", "SUGGESTION": "suggest",
    "AWGRYM": "suggest", "AWGRYMU": "suggest",  # Welsh
}
"""Global words followed by the person's own text (``SUGGEST more night buses``): the
word picks a handler (``bot.conversations.suggest_words``), the rest is what they said."""
_PREFIXED = re.compile(r"\s*/?([A-Za-z]+)(?:@\w+)?(?![\w'])[\s:,.!-]*(.*)", re.DOTALL)


def prefixed(text: str) -> tuple[str, str] | None:
    """``(word, rest)`` when ``text`` starts with a word of ``PREFIXED``, else None."""
    found = _PREFIXED.match(text)
    if found is None:
        return None
    word = PREFIXED.get(found.group(1).upper())
    return None if word is None else (word, found.group(2).strip())
