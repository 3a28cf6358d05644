"""Tolerant parsing of several-option replies: ``multi``, ``ranking``, ``allocate``.

On a basic phone people type ``1 3 4``, ``1,3``, ``1 and 3``, ``3 1 2.``, ``134``, the
words of the options (``housing and parks``), or for a budget ``1:50 3:30 2:20``,
``one:50 three:30``, ``parks 50, housing 30``. Each parser returns the value to save or
an ``Invalid`` whose re-prompt says exactly what was wrong (a number out of range, too
many picks, a total that does not add up, and by how much).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.engine.answers import NUMBER_WORDS, Invalid, Parsed, Valid, simplify
from bot.flows.models_many import AllocateAnswer, MultiAnswer, RankingAnswer
from bot.flows.option import Option

FILLER = frozenset({
    "and", "then", "also", "plus", "please", "pls", "thanks", "thank", "you", "the",
    "number", "numbers", "option", "options", "i", "choose", "pick", "want", "like",
    "first", "next", "points", "point", "pts", "pounds", "pound", "p", "gbp", "on", "to",
    "for", "is", "my", "order", "a", "ac", "a'r", "diolch", "rhif", "yna", "wedyn",
})
"""Words people put between their picks; they carry no pick themselves (Welsh too:
"a"/"ac" = and, "yna"/"wedyn" = then)."""

_SEPARATORS = re.compile(r"[\s,;/&+.:=\-]+")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}\b)")
_Pick = tuple[int, int]  # (position in the reply, option index)


def _names(option: Option, label: str) -> list[str]:
    names = {simplify(option.value), simplify(label), *(simplify(s) for s in option.synonyms)}
    return [n for n in names if n and not n.isdigit()]


def _find_labels(text: str, options: Sequence[Option], labels: Sequence[str]
                 ) -> tuple[list[_Pick], str]:
    """Options named by their words, longest names first so "mental health" is not
    read as "health"; the named parts are blanked out of the text."""
    named = sorted(((name, i) for i, (o, lbl) in enumerate(zip(options, labels, strict=True))
                    for name in _names(o, lbl)), key=lambda pair: -len(pair[0]))
    found: list[_Pick] = []
    for name, index in named:
        pattern = re.compile(rf"(?<!\w){re.escape(name)}(?!\w)")
        for match in pattern.finditer(text):
            found.append((match.start(), index))
        text = pattern.sub(lambda m: " " * len(m.group(0)), text)
    return found, text


def _words_of(label: str) -> list[str]:
    return re.findall(r"[^\s,;/&+.:=\-]+", simplify(label))


def _token_value(token: str, count: int) -> list[int] | None:
    """Option numbers (1-based) a token stands for; None if it is not a pick."""
    if token.isdigit():
        # "134" from someone who did not find the space key, when that reading is clear
        if len(token) > 1 and int(token) > count and count <= 9 and all(
                "1" <= d <= str(count) for d in token):
            return [int(d) for d in token]
        return [int(token)]
    if token in NUMBER_WORDS:
        return [NUMBER_WORDS[token]]
    return None


def picks(text: str, options: Sequence[Option], labels: Sequence[str]
          ) -> list[int] | Invalid:
    """The option indexes a reply names, in the order written (repeats kept)."""
    t = _THOUSANDS.sub("", simplify(text))
    found, rest = _find_labels(t, options, labels)
    words = [set(_words_of(label)) for label in labels]
    for match in re.finditer(r"[^\s,;/&+.:=\-]+", rest):
        token = match.group(0)
        numbers = _token_value(token, len(options))
        if numbers is None:
            if token in FILLER:
                continue
            # one telling word of a label ("childcare" for "Cheaper childcare")
            owners = [i for i, w in enumerate(words) if len(token) >= 4 and token in w]
            if len(owners) == 1:
                if not found or found[-1][1] != owners[0]:  # "cheaper childcare" once
                    found.append((match.start(), owners[0]))
                continue
            return Invalid("answers.reprompt_multi", f"'{token}' is not an option",
                           {"count": len(options)})
        for offset, number in enumerate(numbers):
            if not 1 <= number <= len(options):
                return Invalid("answers.reprompt_multi", f"{number} is not an option",
                               {"count": len(options)})
            found.append((match.start() + offset, number - 1))
    return [index for _, index in sorted(found)]


def parse_multi(answer: MultiAnswer, text: str, labels: Sequence[str]) -> Parsed:
    """Chosen option values, in the flow's order; a repeat counts once."""
    got = picks(text, answer.options, labels)
    if isinstance(got, Invalid):
        return got
    chosen = sorted(set(got))
    args = {"min": answer.min, "max": answer.most, "count": len(answer.options),
            "picked": len(chosen)}
    if not chosen:  # an empty Done on Telegram says how many; typed nonsense, how
        key = "answers.reprompt_multi_count" if not text.strip() else "answers.reprompt_multi"
        return Invalid(key, "no options", args)
    if not answer.min <= len(chosen) <= answer.most:
        return Invalid("answers.reprompt_multi_count", "too few or too many", args)
    if answer.limit is not None:
        spent = sum(answer.options[i].cost or 0 for i in chosen)
        if spent > answer.limit:
            return Invalid("answers.reprompt_over_budget", "over the budget",
                           {**args, "spent": spent, "total": answer.limit,
                            "over": spent - answer.limit, "unit": answer.unit})
    return Valid([answer.options[i].value for i in chosen])


def parse_ranking(answer: RankingAnswer, text: str, labels: Sequence[str]) -> Parsed:
    """Option values best first. Ranking all but one of all the options places the
    last one too: nobody should have to type the obvious."""
    got = picks(text, answer.options, labels)
    args = {"need": answer.needed, "count": len(answer.options),
            "all": answer.top is None}
    if isinstance(got, Invalid):
        return Invalid("answers.reprompt_ranking", got.reason, args)
    if len(set(got)) != len(got):
        return Invalid("answers.reprompt_ranking", "an option appears twice", args)
    if answer.top is None and len(got) == len(answer.options) - 1:
        got.append(next(i for i in range(len(answer.options)) if i not in got))
    if len(got) != answer.needed:
        return Invalid("answers.reprompt_ranking", f"{len(got)} ranked, {answer.needed} needed",
                       args)
    return Valid([answer.options[i].value for i in got])


def _pairs(text: str, answer: AllocateAnswer, labels: Sequence[str]
           ) -> list[tuple[int, int]] | None:
    """(option index, amount) pairs from ``1:50 3:30``, ``one:50``, ``parks 50``."""
    t = _THOUSANDS.sub("", simplify(text))
    found, rest = _find_labels(t, answer.options, labels)
    items: list[tuple[int, str, int]] = [(pos, "key", index) for pos, index in found]
    for match in re.finditer(r"[^\s,;/&+.:=\-]+", rest):
        token = match.group(0).lstrip("£$€")
        if token.isdigit():
            items.append((match.start(), "num", int(token)))
        elif token in NUMBER_WORDS:
            items.append((match.start(), "num", NUMBER_WORDS[token]))
        elif token not in FILLER and token != answer.unit.casefold():
            return None
    items.sort()
    pairs: list[tuple[int, int]] = []
    for i in range(0, len(items) - 1, 2):
        (_, kind_a, a), (_, kind_b, b) = items[i], items[i + 1]
        if kind_b != "num":
            return None
        index = a if kind_a == "key" else a - 1
        if not 0 <= index < len(answer.options):
            return None
        pairs.append((index, b))
    return pairs if len(items) % 2 == 0 and pairs else None


def parse_allocate(answer: AllocateAnswer, text: str, labels: Sequence[str]) -> Parsed:
    """A mapping option value -> amount whose sum is the total (or at most it)."""
    args: dict[str, object] = {"total": answer.total, "unit": answer.unit,
                               "count": len(answer.options)}
    pairs = _pairs(text, answer, labels)
    if pairs is None:
        return Invalid("answers.reprompt_allocate", "not option:amount pairs", args)
    if len({index for index, _ in pairs}) != len(pairs):
        return Invalid("answers.reprompt_allocate", "an option appears twice", args)
    given = sum(amount for _, amount in pairs)
    args.update(given=given, left=answer.total - given)
    if given > answer.total:
        return Invalid("answers.reprompt_allocate_over", "over the total", args)
    if answer.exact and given < answer.total:
        return Invalid("answers.reprompt_allocate_under", "under the total", args)
    amounts = dict(pairs)
    return Valid({o.value: amounts[i] for i, o in enumerate(answer.options) if i in amounts})


def parse(answer: MultiAnswer | RankingAnswer | AllocateAnswer, text: str,
          labels: Sequence[str]) -> Parsed:
    """Dispatch on the kind."""
    if isinstance(answer, MultiAnswer):
        return parse_multi(answer, text, labels)
    if isinstance(answer, RankingAnswer):
        return parse_ranking(answer, text, labels)
    return parse_allocate(answer, text, labels)
