"""Tolerant parsing of replies into answers, one function per answer kind.

People reply the way they talk: ``7``, `` 7 ``, ``7/10``, ``seven``, ``Yes!``, ``nope``,
the number or the words of a choice, ``3 March``. Each parser returns the value to save
or an ``Invalid`` naming the re-prompt to send (a template key), so the person is told
kindly and exactly what is expected.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from bot.engine.quick_init import quick_init
from bot.engine.session import FieldValue
from bot.flows.models import (
    ChoiceAnswer,
    DateAnswer,
    NumberAnswer,
    ScaleAnswer,
    TextAnswer,
    YesNoAnswer,
)


@quick_init
@dataclass(frozen=True)
class Valid:
    value: FieldValue


@quick_init
@dataclass(frozen=True)
class Invalid:
    reprompt: str
    """Template key of the re-prompt, e.g. ``system.reprompt_scale``."""
    reason: str
    args: Mapping[str, object] = field(default_factory=dict)
    """What the re-prompt says back (e.g. how far a total is off)."""


Parsed = Valid | Invalid

NUMBER_WORDS = {
    "zero": 0, "nought": 0, "none": 0, "one": 1, "two": 2, "three": 3, "four": 4,
    "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11,
    "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
    "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20,
    # Welsh
    "dim": 0, "un": 1, "dau": 2, "dwy": 2, "tri": 3, "tair": 3, "pedwar": 4, "pedair": 4,
    "pump": 5, "chwech": 6, "saith": 7, "wyth": 8, "naw": 9, "deg": 10,
}
YES_WORDS = {"y", "yes", "yeah", "yep", "yup", "ya", "ok", "okay", "sure", "agree", "aye",
             "i agree", "of course", "definitely", "ie", "do", "oes", "ydw", "ydy", "iawn"}
NO_WORDS = {"n", "no", "nope", "nah", "no thanks", "no thank you", "not really", "disagree",
            "na", "naddo", "nac oes", "nac ydw", "dim diolch"}
MONTHS = {
    "jan": 1, "january": 1, "feb": 2, "february": 2, "mar": 3, "march": 3, "apr": 4,
    "april": 4, "may": 5, "jun": 6, "june": 6, "jul": 7, "july": 7, "aug": 8, "august": 8,
    "sep": 9, "sept": 9, "september": 9, "oct": 10, "october": 10, "nov": 11,
    "november": 11, "dec": 12, "december": 12,
    "ionawr": 1, "chwefror": 2, "mawrth": 3, "ebrill": 4, "mai": 5, "mehefin": 6,
    "gorffennaf": 7, "awst": 8, "medi": 9, "hydref": 10, "tachwedd": 11, "rhagfyr": 12,
}
_PUNCT = re.compile(r"[^\w\s/.,-]+", re.UNICODE)
_SPACES = re.compile(r"\s+")


def simplify(text: str) -> str:
    """Lower case, accents kept, emoji and stray punctuation dropped, spaces collapsed."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = _PUNCT.sub(" ", text)
    return _SPACES.sub(" ", text).strip(" .,!?")


def _words(text: str) -> str:
    return _SPACES.sub(" ", re.sub(r"[^\w\s]", " ", text)).strip()


_OUT_OF = re.compile(r"(\d+)\s*(?:/|out of)\s*\d+", re.ASCII)


def _one_number(text: str) -> float | None:
    """The single number in a short reply (``7``, ``7/10``, ``I'd say 7``, ``seven``)."""
    bare = text.strip()
    if bare.isascii():  # the usual replies, without the general path below
        if bare.isdigit():
            return float(bare)
        if (fraction := _OUT_OF.fullmatch(bare)) is not None:
            return float(fraction.group(1))
    word = bare.lower().rstrip(".!")
    if word in NUMBER_WORDS:
        return float(NUMBER_WORDS[word])
    t = simplify(text)
    t = re.sub(r"\s*(?:/|out of)\s*\d+\s*$", "", t)  # "7/10", "7 out of 10"
    numbers = re.findall(r"-?\d+(?:[.,]\d+)?", t.replace(",", "") if re.search(
        r"\d,\d{3}", t) else t)
    words = [NUMBER_WORDS[w] for w in _words(t).split() if w in NUMBER_WORDS]
    if len(numbers) == 1 and not words:
        return float(numbers[0].replace(",", "."))
    if not numbers and len(words) == 1 and len(_words(t).split()) <= 4:
        return float(words[0])
    return None


def parse_scale(answer: ScaleAnswer, text: str,
                labels: Callable[[], Mapping[int, str]]) -> Parsed:
    """``labels`` gives the rendered end labels, so "completely" picks the top point; it
    is called only for a reply that is not a number (rendering them is not free)."""
    bare = text.strip()
    if bare.isdecimal() and bare.isascii():  # "7": the usual reply, without the search
        number = int(bare)
        if answer.min <= number <= answer.max:
            return Valid(number)
        return Invalid("system.reprompt_scale", "outside the scale")
    value = _one_number(text)
    if value is None:
        t = simplify(text)
        matches = [point for point, label in labels().items() if simplify(label) == t]
        if len(matches) == 1:
            return Valid(matches[0])
        return Invalid("system.reprompt_scale", "not a number on the scale")
    if value != int(value) or not answer.min <= value <= answer.max:
        return Invalid("system.reprompt_scale", "outside the scale")
    return Valid(int(value))


def _distance_at_most_one(a: str, b: str) -> bool:
    if abs(len(a) - len(b)) > 1 or a == b:
        return a == b
    if len(a) == len(b):
        diffs = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diffs) == 1 or (len(diffs) == 2 and diffs[1] == diffs[0] + 1
                                   and a[diffs[0]] == b[diffs[1]] and a[diffs[1]] == b[diffs[0]])
    short, long = sorted((a, b), key=len)
    return any(long[:i] + long[i + 1:] == short for i in range(len(long)))


def parse_choice(answer: ChoiceAnswer, text: str, labels: list[str]) -> Parsed:
    """By number, value, label, synonym or a one-letter typo of a label."""
    t = simplify(text)
    invalid = Invalid("system.reprompt_choice", "not one of the options")
    number = _one_number(t) if re.fullmatch(r"\d+|[a-z]+", t.replace(" ", "")) else None
    if number is not None and number == int(number) and 1 <= number <= len(answer.options):
        return Valid(answer.options[int(number) - 1].value)
    if number is not None and re.fullmatch(r"\d+", t):
        return invalid
    for option, label in zip(answer.options, labels, strict=True):
        names = {simplify(option.value), simplify(label), *(simplify(s) for s in option.synonyms)}
        if t in names or _words(t) in {_words(n) for n in names}:
            return Valid(option.value)
    close = [o.value for o, label in zip(answer.options, labels, strict=True)
             if len(t) >= 4 and _distance_at_most_one(t, simplify(label))]
    return Valid(close[0]) if len(close) == 1 else invalid


def parse_yes_no(answer: YesNoAnswer, text: str, labels: tuple[str, str]) -> Parsed:
    t = _words(simplify(text))
    if t in YES_WORDS or t == "1" or t == _words(simplify(labels[0])):
        return Valid(True)
    if t in NO_WORDS or t == "2" or t == _words(simplify(labels[1])):
        return Valid(False)
    first = t.split(" ")[0] if t else ""
    if first in {"yes", "yeah", "yep"}:
        return Valid(True)
    if first in {"no", "nope", "nah"}:
        return Valid(False)
    return Invalid("system.reprompt_yes_no", "not yes or no")


def parse_number(answer: NumberAnswer, text: str) -> Parsed:
    value = _one_number(text)
    if value is None:
        return Invalid("system.reprompt_number", "not a number")
    if answer.integer and value != int(value):
        return Invalid("system.reprompt_number", "not a whole number")
    if (answer.min is not None and value < answer.min) or (
        answer.max is not None and value > answer.max
    ):
        return Invalid("system.reprompt_number", "out of range")
    return Valid(int(value) if answer.integer else value)


def parse_text(answer: TextAnswer, text: str) -> Parsed:
    """Stored exactly as written (no trimming inside), only surrounding blanks removed."""
    stripped = text.strip()
    if not stripped:
        return Invalid("system.reprompt_text_empty", "empty")
    if len(stripped) > answer.max_length:
        return Invalid("system.reprompt_text_long", "too long")
    return Valid(stripped)


def parse_date(answer: DateAnswer, text: str, today: dt.date, order: str = "DMY") -> Parsed:
    """``3 March``, ``March 3rd``, ``03/03/2026``, ``2026-03-03``, ``today``, ``yesterday``."""
    t = simplify(text)
    invalid = Invalid("system.reprompt_date", "not a date")
    relative = {"today": 0, "yesterday": -1, "tomorrow": 1, "heddiw": 0, "ddoe": -1, "yfory": 1}
    if t in relative:
        found = today + dt.timedelta(days=relative[t])
        return _date_bounds(answer, found, today)
    parts = _date_parts(t, order)
    if parts is None:
        return invalid
    day, month, year = parts
    if day is None or month is None:
        return invalid
    if year is not None and year < 100:
        year += 2000
    try:
        found = dt.date(year if year is not None else today.year, month, day)
    except ValueError:
        return invalid
    return _date_bounds(answer, found, today)


_DateParts = tuple[int | None, int | None, int | None]


def _date_parts(t: str, order: str) -> _DateParts | None:
    """Day, month and year as written (any may be missing), or None if ``t`` holds a
    word that is not part of a date."""
    if m := re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", t):
        return int(m[3]), int(m[2]), int(m[1])
    if m := re.fullmatch(r"(\d{1,2})[/.\-](\d{1,2})(?:[/.\-](\d{2}|\d{4}))?", t):
        a, b = int(m[1]), int(m[2])
        day, month = (b, a) if order == "MDY" else (a, b)
        return day, month, int(m[3]) if m[3] else None
    return _worded_date(t)


def _worded_date(t: str) -> _DateParts | None:
    day: int | None = None
    month: int | None = None
    year: int | None = None
    for w in _words(re.sub(r"(\d+)(st|nd|rd|th)\b", r"\1", t)).split():
        if w in MONTHS and month is None:
            month = MONTHS[w]
        elif w.isdigit() and len(w) == 4 and year is None:
            year = int(w)
        elif w.isdigit() and len(w) <= 2 and day is None:
            day = int(w)
        elif w not in {"of", "the", "on"}:
            return None
    return day, month, year


def _date_bounds(answer: DateAnswer, found: dt.date, today: dt.date) -> Parsed:
    if found < today and not answer.allow_past:
        return Invalid("system.reprompt_date_future", "in the past")
    if found > today and not answer.allow_future:
        return Invalid("system.reprompt_date_past", "in the future")
    return Valid(found.isoformat())
