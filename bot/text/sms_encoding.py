"""SMS encoding, segment counting and splitting.

Why this module exists
----------------------
An SMS is billed and delivered per *segment*, and how much text fits in a segment depends
on the encoding the carrier has to use for the whole message:

* **GSM-7** (GSM 03.38 default alphabet): 160 septets in a single-segment message, 153
  per segment once the message is concatenated (the user data header costs 7 septets).
  Characters from the extension table (``^ { } \\ [ ~ ] | €`` and form feed) are sent as
  ESC + character and so cost 2 septets.
* **UCS-2** (really UTF-16 on modern handsets): used as soon as a *single* character is
  outside GSM-7. Then only 70 code units fit in one segment, 67 per concatenated
  segment, and characters outside the Basic Multilingual Plane (most emoji) cost 2 units.

So one curly quote pasted into a template silently turns a 1-segment message into a
3-segment one, tripling cost and making the message far more likely to arrive out of
order. Two more details that naive ``ceil(len / 153)`` arithmetic gets wrong, and which
real encoders honour, are modelled here:

* an extension character's ESC + char pair is never split across two segments, and
* a UTF-16 surrogate pair (e.g. an emoji) is never split across two segments,

so segments are counted by packing characters greedily rather than by division.

Public API
----------
* :func:`measure` / :func:`segments_for_body` - encoding, units and segment count.
* :func:`sanitise_system_text` - make *our own* template text GSM-7 safe (typographic
  quotes, dashes, odd spaces, emoji). It is **never** applied to participant text: people's
  words are recorded and relayed exactly as they wrote them, and a message that needs
  UCS-2 (Welsh ŵ/ŷ, Cyrillic, Arabic, ...) is simply sent as UCS-2.
* :func:`split_for_sms` - split a long system text (e.g. a draft finding) into parts that
  each fit one segment, each prefixed with a ``(1/3) `` style marker, for flows that
  prefer several single-segment SMS over one long concatenated SMS.

Whether a character is GSM-7 is decided by the ``gsm0338`` codec (importing the package
registers the ``"gsm03.38"`` codec), with one exception: a literal ESC (U+001B) is treated
as *not* GSM-7. The codec will "encode" it, but on the air it is the escape prefix for the
extension table and would corrupt the following character.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Final, Literal

import gsm0338  # noqa: F401  (imported for its side effect: registers the "gsm03.38" codec)

__all__ = [
    "Encoding",
    "SegmentInfo",
    "measure",
    "sanitise_system_text",
    "segments_for_body",
    "split_for_sms",
]

Encoding = Literal["GSM-7", "UCS-2"]

GSM_CODEC: Final = "gsm03.38"

GSM_SINGLE_SEGMENT: Final = 160
"""Septets available in a single-segment GSM-7 message."""
GSM_MULTI_SEGMENT: Final = 153
"""Septets available per segment of a concatenated GSM-7 message."""
UCS2_SINGLE_SEGMENT: Final = 70
"""UTF-16 code units available in a single-segment UCS-2 message."""
UCS2_MULTI_SEGMENT: Final = 67
"""UTF-16 code units available per segment of a concatenated UCS-2 message."""

_ESC: Final = "\x1b"


@dataclass(frozen=True)
class SegmentInfo:
    """How a text would be sent as SMS.

    ``units`` are septets for GSM-7 and UTF-16 code units for UCS-2.
    ``chars_per_segment`` is the capacity (in ``units``) of each segment actually used:
    160/70 for a single-segment message, 153/67 once it is concatenated.
    """

    encoding: Encoding
    units: int
    segments: int
    chars_per_segment: int


@lru_cache(maxsize=4096)
def _gsm_cost(ch: str) -> int | None:
    """Septets needed for ``ch`` in GSM-7 (1 or 2), or ``None`` if it is not GSM-7."""
    if ch == _ESC:
        return None
    try:
        return len(ch.encode(GSM_CODEC))
    except UnicodeError:
        return None


def _utf16_cost(ch: str) -> int:
    """UTF-16 code units for one code point (2 for a surrogate pair, else 1)."""
    return 2 if ord(ch) > 0xFFFF else 1


def _gsm_costs(text: str) -> list[int] | None:
    """Per-character septet costs, or ``None`` if any character needs UCS-2."""
    costs: list[int] = []
    for ch in text:
        cost = _gsm_cost(ch)
        if cost is None:
            return None
        costs.append(cost)
    return costs


def _pack(costs: list[int], capacity: int) -> int:
    """Segments needed when packing indivisible items greedily, in order."""
    segments = 1
    used = 0
    for cost in costs:
        if used + cost > capacity:
            segments += 1
            used = 0
        used += cost
    return segments


def measure(text: str) -> SegmentInfo:
    """Work out the encoding, size and segment count of ``text`` sent as one SMS.

    The empty string is one (empty) GSM-7 segment.
    """
    # Not memoised: texts carry people's names and answers, and a process-wide cache
    # keyed by them would keep erased data in memory (per-character costs are cached).
    gsm = _gsm_costs(text)
    if gsm is not None:
        encoding: Encoding = "GSM-7"
        costs = gsm
        single, multi = GSM_SINGLE_SEGMENT, GSM_MULTI_SEGMENT
    else:
        encoding = "UCS-2"
        costs = [_utf16_cost(ch) for ch in text]
        single, multi = UCS2_SINGLE_SEGMENT, UCS2_MULTI_SEGMENT
    units = sum(costs)
    if units <= single:
        return SegmentInfo(encoding=encoding, units=units, segments=1, chars_per_segment=single)
    return SegmentInfo(
        encoding=encoding, units=units, segments=_pack(costs, multi), chars_per_segment=multi
    )


def segments_for_body(text: str) -> int:
    """Number of SMS segments ``text`` costs (``measure(text).segments``)."""
    return measure(text).segments


# --------------------------------------------------------------------------------------
# Sanitising our own (system/template) text
# --------------------------------------------------------------------------------------

_REPLACEMENTS: Final[dict[str, str]] = {
    # single quotes, apostrophes, primes
    "\u2018": "'",  # ‘
    "\u2019": "'",  # ’
    "\u201a": "'",  # ‚
    "\u201b": "'",  # ‛
    "\u2032": "'",  # ′
    # double quotes
    "\u201c": '"',  # “
    "\u201d": '"',  # ”
    "\u201e": '"',  # „
    "\u201f": '"',  # ‟
    "\u2033": '"',  # ″
    # dashes, hyphens, minus
    "\u2010": "-",  # hyphen
    "\u2011": "-",  # non-breaking hyphen
    "\u2012": "-",  # figure dash
    "\u2013": "-",  # en dash
    "\u2014": "-",  # em dash
    "\u2015": "-",  # horizontal bar
    "\u2212": "-",  # minus sign
    # punctuation
    "\u2026": "...",  # …
    "\u2022": "-",  # • bullet
    "\u00d7": "x",  # × multiplication sign
    "\u203c": "!!",  # ‼
    "\u2049": "!?",  # ⁉
    "\u2192": "->",  # →
    "\u2190": "<-",  # ←
    "\u00a9": "(c)",  # ©
    "\u00ae": "(R)",  # ®
    "\u2122": "(TM)",  # ™
    # unicode spaces
    "\u00a0": " ",  # no-break space
    "\u2000": " ",
    "\u2001": " ",
    "\u2002": " ",
    "\u2003": " ",
    "\u2004": " ",
    "\u2005": " ",
    "\u2006": " ",
    "\u2007": " ",  # figure space
    "\u2008": " ",
    "\u2009": " ",  # thin space
    "\u200a": " ",  # hair space
    "\u202f": " ",  # narrow no-break space
    "\u205f": " ",  # medium mathematical space
    "\u3000": " ",  # ideographic space
}

_REMOVED: Final[frozenset[str]] = frozenset(
    {
        "\u200b",  # zero width space
        "\u200c",  # zero width non-joiner
        "\u200d",  # zero width joiner (also glues emoji sequences together)
        "\u2060",  # word joiner
        "\ufeff",  # zero width no-break space / BOM
        "\u00ad",  # soft hyphen (invisible unless a line breaks there)
    }
)

_TRANSLATION: Final[dict[int, str | None]] = {
    **{ord(k): v for k, v in _REPLACEMENTS.items()},
    **{ord(ch): None for ch in _REMOVED},
}


def _is_pictographic(ch: str) -> bool:
    """True for emoji/pictograph code points (and the modifiers that decorate them).

    Symbol-Other characters inside Latin-1 (e.g. ``°``) are meaningful symbols rather than
    pictographs, so they are kept (the message then goes UCS-2).
    """
    cp = ord(ch)
    if cp in (0xFE0E, 0xFE0F):  # text / emoji presentation selectors
        return True
    if 0x1F3FB <= cp <= 0x1F3FF:  # skin tone modifiers (category Sk)
        return True
    if cp == 0x20E3:  # combining enclosing keycap
        return True
    if 0xE0020 <= cp <= 0xE007F:  # tag characters (subdivision flags)
        return True
    return cp > 0xFF and unicodedata.category(ch) == "So"


def sanitise_system_text(text: str) -> str:
    """Make *system* (template) text GSM-7 safe without ever corrupting words.

    * NFC-normalises (so a decomposed ``e`` + combining acute becomes GSM ``é``),
    * maps typographic quotes, dashes, ellipsis, bullets, ``×`` and unicode spaces to
      ASCII equivalents and removes zero-width characters,
    * drops emoji/pictographs (non-GSM ``So`` symbols, variation selectors, skin tones),
      collapsing the doubled or dangling space that a dropped emoji leaves behind.

    Letters that GSM-7 lacks (Welsh ŵ ŷ, Cyrillic, ...) are kept; such a message is
    correctly sent as UCS-2. Text made only of GSM-7 characters is returned unchanged.

    Only for our own text: participant messages must never be passed through this.
    """
    text = unicodedata.normalize("NFC", text).translate(_TRANSLATION)
    out: list[str] = []
    dropped = False
    for ch in text:
        if _gsm_cost(ch) is None and _is_pictographic(ch):
            dropped = True
            continue
        if dropped:
            dropped = False
            if ch == " " and (not out or out[-1] in " \n"):
                continue  # "Hi 👋 there" -> "Hi there"; "🎉 Done" -> "Done"
            if ch == "\n" and out and out[-1] == " ":
                out.pop()  # "Thanks 🎉\n" -> "Thanks\n"
        out.append(ch)
    if dropped and out and out[-1] == " ":
        out.pop()  # "Thanks 🎉" -> "Thanks"
    return "".join(out)


# --------------------------------------------------------------------------------------
# Splitting long text into single-segment parts
# --------------------------------------------------------------------------------------

_PARAGRAPH_BREAK: Final = re.compile(r"[^\S\n]*\n[^\S\n]*\n")
_SENTENCE_END: Final = re.compile(r"[.!?…]['\")\]’”»]*$")


def _marker(index: int, total: int) -> str:
    return f"({index}/{total}) "


def _fitting_prefix_length(text: str, overhead: int) -> int:
    """Longest prefix of ``text`` that fits one segment after ``overhead`` GSM chars.

    ``overhead`` is the length of a pure-ASCII marker, so it costs the same number of
    units in either encoding and never changes the encoding itself.
    """
    septets = overhead
    utf16 = overhead
    all_gsm = True
    for i, ch in enumerate(text):
        cost = _gsm_cost(ch)
        if cost is None:
            all_gsm = False
        else:
            septets += cost
        utf16 += _utf16_cost(ch)
        fits = (all_gsm and septets <= GSM_SINGLE_SEGMENT) or utf16 <= UCS2_SINGLE_SEGMENT
        if not fits:
            return i
    return len(text)


def _choose_cut(text: str, limit: int) -> int:
    """Where to end the next part, given that ``text[:limit]`` fits (``limit < len(text)``).

    Returns an index ``cut`` such that the part is ``text[:cut]`` (whitespace at the cut is
    dropped by the caller). Preference: paragraph break, then sentence end or line break,
    then any space; a higher-preference break is only taken if it still fills at least
    half of the part, so one early paragraph break does not waste a whole SMS. A word is
    only cut if no whitespace at all is available.
    """
    window = text[: limit + 1]  # include the char just past the limit: it may be a space
    paragraph: list[int] = []
    sentence: list[int] = []
    space: list[int] = []
    for i in range(1, len(window)):
        if not window[i].isspace() or window[i - 1].isspace():
            continue  # only consider the first whitespace char of a run
        if _PARAGRAPH_BREAK.match(text, i):
            paragraph.append(i)
        elif window[i] == "\n" or _SENTENCE_END.search(window, 0, i):
            sentence.append(i)
        else:
            space.append(i)
    min_fill = limit // 2
    for candidates in (paragraph, sentence):
        if candidates and candidates[-1] >= min_fill:
            return candidates[-1]
    best = max([*paragraph[-1:], *sentence[-1:], *space[-1:]], default=0)
    if best > 0:
        return best
    # A single word longer than a part: hard cut, but not in front of combining marks.
    cut = limit
    while cut > 1 and unicodedata.category(text[cut]).startswith("M"):
        cut -= 1
    return cut


def _split_with_marker_width(text: str, digits: int) -> list[str]:
    overhead = len(_marker(10**digits - 1, 10**digits - 1))  # widest marker for `digits`
    chunks: list[str] = []
    rest = text.strip()
    while rest:
        limit = max(1, _fitting_prefix_length(rest, overhead))
        if limit >= len(rest):
            chunks.append(rest)
            break
        cut = _choose_cut(rest, limit)
        chunks.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    return chunks


def split_for_sms(text: str, max_segments_single: int = 1) -> list[str]:
    """Split ``text`` into parts that are each a single SMS segment.

    If ``text`` already fits in ``max_segments_single`` segments (default 1) it is returned
    unchanged as ``[text]``. Otherwise it is split into parts that each fit ONE segment of
    their own encoding *including* a ``"(i/n) "`` marker at the start of each part. Parts
    end preferably at paragraph breaks, then sentence ends / line breaks, then spaces;
    words are only cut when a single word is longer than a part. Whitespace at the cut
    points is dropped. Text that is only whitespace yields no parts.
    """
    if max_segments_single < 1:
        raise ValueError("max_segments_single must be at least 1")
    if measure(text).segments <= max_segments_single:
        return [text]
    digits = 1
    while True:
        chunks = _split_with_marker_width(text, digits)
        if len(chunks) < 10**digits:
            break
        digits += 1  # the "(i/n) " marker grew a digit: re-split with the wider budget
    if len(chunks) == 1:
        return chunks  # only surrounding whitespace overflowed; a "(1/1) " would be noise
    total = len(chunks)
    return [_marker(i, total) + chunk for i, chunk in enumerate(chunks, start=1)]
