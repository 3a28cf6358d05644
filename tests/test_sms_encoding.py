"""Tests for bot.text.sms_encoding: SMS encoding, segment counting, sanitising, splitting."""

from __future__ import annotations

import re
from collections.abc import Callable

import gsm0338  # noqa: F401  (registers the "gsm03.38" codec used by the reference below)
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.text.sms_encoding import (
    SegmentInfo,
    measure,
    sanitise_system_text,
    segments_for_body,
    split_for_sms,
)

# --------------------------------------------------------------------------------------
# Independent reference: works on the *encoded bytes*, the way a real SMSC encoder does,
# rather than on per-character costs like the implementation.
# --------------------------------------------------------------------------------------

_ESC_BYTE = 0x1B


def _reference_gsm_bytes(text: str) -> bytes | None:
    if "\x1b" in text:
        return None  # a literal ESC is not sendable as GSM-7 (see module docstring)
    try:
        return text.encode("gsm03.38")
    except UnicodeError:
        return None


def _chunk_count(data: bytes, size: int, unit: int, splits_pair: Callable[[bytes], bool]) -> int:
    """Cut ``data`` into ``size``-byte chunks, moving a cut back by one ``unit`` when the
    chunk would end with the first half of an indivisible pair."""
    count = 0
    i = 0
    while i < len(data):
        end = min(i + size, len(data))
        if end < len(data) and splits_pair(data[i:end]):
            end -= unit
        count += 1
        i = end
    return count


def _ends_with_escape(chunk: bytes) -> bool:
    # No literal ESC reaches here, so a trailing ESC is the first half of an extension char.
    return chunk[-1] == _ESC_BYTE


def _ends_with_high_surrogate(chunk: bytes) -> bool:
    return 0xD800 <= int.from_bytes(chunk[-2:], "big") <= 0xDBFF


def reference(text: str) -> tuple[str, int, int]:
    """(encoding, units, segments) computed independently from the encoded bytes."""
    gsm = _reference_gsm_bytes(text)
    if gsm is not None:
        if len(gsm) <= 160:
            return "GSM-7", len(gsm), 1
        return "GSM-7", len(gsm), _chunk_count(gsm, 153, 1, _ends_with_escape)
    utf16 = text.encode("utf-16-be", "surrogatepass")
    units = len(utf16) // 2
    if units <= 70:
        return "UCS-2", units, 1
    return "UCS-2", units, _chunk_count(utf16, 134, 2, _ends_with_high_surrogate)


# --------------------------------------------------------------------------------------
# measure: reference values
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "encoding", "units", "segments"),
    [
        pytest.param("", "GSM-7", 0, 1, id="empty"),
        pytest.param("a" * 160, "GSM-7", 160, 1, id="160-plain"),
        pytest.param("a" * 161, "GSM-7", 161, 2, id="161-plain"),
        pytest.param("a" * 306, "GSM-7", 306, 2, id="306-plain"),
        pytest.param("a" * 307, "GSM-7", 307, 3, id="307-plain"),
        pytest.param("ж" * 70, "UCS-2", 70, 1, id="70-ucs2"),
        pytest.param("ж" * 71, "UCS-2", 71, 2, id="71-ucs2"),
        pytest.param("€" * 80, "GSM-7", 160, 1, id="80-euro"),
        pytest.param("€" * 81, "GSM-7", 162, 2, id="81-euro"),
        pytest.param("It’s here", "UCS-2", 9, 1, id="curly-quote-ucs2"),
        pytest.param("a" * 159 + "’", "UCS-2", 160, 3, id="curly-quote-160"),
        pytest.param("😀", "UCS-2", 2, 1, id="emoji-2-units"),
        pytest.param("😀" * 35, "UCS-2", 70, 1, id="35-emoji"),
        pytest.param("😀" * 36, "UCS-2", 72, 2, id="36-emoji"),
        pytest.param("^{}\\[~]|€\f", "GSM-7", 20, 1, id="all-extension-chars"),
        pytest.param("Ŵ" * 10, "UCS-2", 10, 1, id="welsh-w-circumflex"),
        pytest.param("café @ £5 ÄÖÜ", "GSM-7", 13, 1, id="gsm-latin1-subset"),
        pytest.param("a\x1b", "UCS-2", 2, 1, id="literal-esc-is-not-gsm"),
    ],
)
def test_measure_reference_values(text: str, encoding: str, units: int, segments: int) -> None:
    info = measure(text)
    assert (info.encoding, info.units, info.segments) == (encoding, units, segments)
    assert segments_for_body(text) == segments


def test_measure_chars_per_segment() -> None:
    assert measure("a" * 160) == SegmentInfo("GSM-7", 160, 1, 160)
    assert measure("a" * 161) == SegmentInfo("GSM-7", 161, 2, 153)
    assert measure("ж" * 70) == SegmentInfo("UCS-2", 70, 1, 70)
    assert measure("ж" * 71) == SegmentInfo("UCS-2", 71, 2, 67)
    assert measure("") == SegmentInfo("GSM-7", 0, 1, 160)


def test_segment_info_is_frozen() -> None:
    info = measure("hi")
    with pytest.raises(AttributeError):
        info.units = 3  # type: ignore[misc]


# Tricky strings around segment boundaries. The `naive` column is ceil(units / per-segment)
# and shows where packing indivisible pairs changes the answer.
TRICKY = [
    # (id, text, expected segments, naive division)
    ("euro-at-153", "a" * 152 + "€" + "a" * 10, 2, 2),
    ("euro-pushed-makes-3", "a" * 152 + "€" + "a" * 152, 3, 2),
    ("euro-fits-exactly", "a" * 151 + "€" + "a" * 153, 2, 2),
    ("brace-pushed-makes-3", "b" * 152 + "{" + "b" * 152, 3, 2),
    ("many-euros-306", "€" * 153, 3, 2),
    ("euro-after-305", "a" * 305 + "€", 3, 3),
    ("ext-at-160-single", "a" * 158 + "€", 1, 1),
    ("ext-at-161", "a" * 159 + "€", 2, 2),
    ("form-feed-boundary", "a" * 152 + "\f" + "a" * 152, 3, 2),
    ("emoji-at-67", "a" * 66 + "😀" + "a" * 66, 3, 2),
    ("emoji-fits-exactly", "ж" * 65 + "😀" + "ж" * 67, 2, 2),
    ("emoji-at-70-single", "ж" * 68 + "😀", 1, 1),
    ("emoji-at-71", "ж" * 69 + "😀", 2, 2),
    ("euro-plus-cyrillic", "€" * 40 + "ж" * 40, 2, 2),
]


@pytest.mark.parametrize(
    ("text", "segments", "naive"),
    [pytest.param(text, segs, naive, id=name) for name, text, segs, naive in TRICKY],
)
def test_measure_tricky_boundaries_agree_with_reference(
    text: str, segments: int, naive: int
) -> None:
    info = measure(text)
    assert (info.encoding, info.units, info.segments) == reference(text)
    assert info.segments == segments
    per_segment = 160 if info.encoding == "GSM-7" else 70
    if info.units > per_segment:
        per_segment = info.chars_per_segment
    assert -(-info.units // per_segment) == naive


def test_tricky_table_contains_cases_where_packing_differs_from_division() -> None:
    assert any(segs != naive for _, _, segs, naive in TRICKY)


# --------------------------------------------------------------------------------------
# sanitise_system_text
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        pytest.param("It’s ‘here’", "It's 'here'", id="curly-single"),
        pytest.param("“Yes” or „no‟", '"Yes" or "no"', id="curly-double"),
        pytest.param("Mon–Fri — today", "Mon-Fri - today", id="dashes"),
        pytest.param("Wait…", "Wait...", id="ellipsis"),
        pytest.param("10\u00a0am\u2009to\u202f5\u2007pm", "10 am to 5 pm", id="unicode-spaces"),
        pytest.param("zero\u200bwidth\u200c\u200d\ufeff\u2060!", "zerowidth!", id="zero-width"),
        pytest.param("• one\n• two", "- one\n- two", id="bullets"),
        pytest.param("3 × 2", "3 x 2", id="times"),
        pytest.param("Thanks! 🎉", "Thanks!", id="trailing-emoji"),
        pytest.param("🎉 Done", "Done", id="leading-emoji"),
        pytest.param("Hi 👋🏽 there", "Hi there", id="emoji-skin-tone"),
        pytest.param("Love ❤️ it", "Love it", id="emoji-variation-selector"),
        pytest.param("Thanks 🙏\nBye", "Thanks\nBye", id="emoji-before-newline"),
        pytest.param("Family 👨‍👩‍👧 here", "Family here", id="zwj-sequence"),
        pytest.param("Go 🇬🇧 team", "Go team", id="flag"),
        pytest.param("Press 1️⃣ now", "Press 1 now", id="keycap"),
        pytest.param("OK✅", "OK", id="emoji-no-space"),
        pytest.param("e\u0301te\u0301", "été", id="nfc-decomposed-accents"),
        pytest.param("Diolch yn fawr – ŵyr ŷd", "Diolch yn fawr - ŵyr ŷd", id="welsh-kept"),
        pytest.param("Спасибо — да", "Спасибо - да", id="cyrillic-kept"),
        pytest.param("20°C", "20°C", id="degree-kept"),
        pytest.param("a  b", "a  b", id="existing-double-space-untouched"),
    ],
)
def test_sanitise_system_text(raw: str, clean: str) -> None:
    assert sanitise_system_text(raw) == clean


def test_sanitise_makes_typical_template_gsm() -> None:
    raw = "We’ve drafted a finding — “what we heard”… Reply YES to agree 👍"
    clean = sanitise_system_text(raw)
    assert clean == 'We\'ve drafted a finding - "what we heard"... Reply YES to agree'
    assert measure(raw).encoding == "UCS-2"
    assert measure(clean).encoding == "GSM-7"


def test_sanitise_keeps_non_gsm_letters_so_message_stays_ucs2() -> None:
    clean = sanitise_system_text("Croeso’n ôl, ŵyr")
    assert clean == "Croeso'n ôl, ŵyr"
    assert measure(clean).encoding == "UCS-2"


# --------------------------------------------------------------------------------------
# split_for_sms
# --------------------------------------------------------------------------------------

_MARKER = re.compile(r"^\((\d+)/(\d+)\) ")


def _strip_markers(parts: list[str]) -> list[str]:
    bodies = []
    for i, part in enumerate(parts, start=1):
        m = _MARKER.match(part)
        assert m is not None, part
        assert (int(m.group(1)), int(m.group(2))) == (i, len(parts))
        bodies.append(part[m.end() :])
    return bodies


def _check_split(text: str) -> list[str]:
    parts = split_for_sms(text)
    for part in parts:
        assert measure(part).segments == 1, (part, measure(part))
    if len(parts) > 1:
        bodies = _strip_markers(parts)
        assert " ".join(bodies).split() == text.split()
    return parts


def test_split_short_text_unchanged() -> None:
    assert split_for_sms("Hello there") == ["Hello there"]
    assert split_for_sms("a" * 160) == ["a" * 160]
    assert split_for_sms("") == [""]


def test_split_respects_max_segments_single() -> None:
    text = "word " * 50  # 250 septets, 2 segments
    assert split_for_sms(text, max_segments_single=2) == [text]
    assert len(split_for_sms(text)) > 1
    with pytest.raises(ValueError):
        split_for_sms(text, max_segments_single=0)


def test_split_prefers_paragraph_breaks() -> None:
    para1 = "The group said that buses are too infrequent in the evening. " * 2
    para2 = "They also said that fares are confusing and change too often. " * 2
    text = para1.strip() + "\n\n" + para2.strip()
    parts = _check_split(text)
    bodies = _strip_markers(parts)
    assert bodies[0] == para1.strip()
    assert bodies[1] == para2.strip()


def test_split_prefers_sentence_ends_over_spaces() -> None:
    text = (
        "First sentence is short. Second sentence is a bit longer than the first one was. "
        "Third sentence keeps going with a good number of words so the message overflows "
        "one segment and must be split somewhere sensible."
    )
    parts = _check_split(text)
    bodies = _strip_markers(parts)
    assert len(parts) == 2
    assert bodies[0].endswith(".")


def test_split_ucs2_text_fits_ucs2_segments() -> None:
    text = "Дякуємо за участь у нашому дослідженні, ваші слова важливі для нас. " * 4
    parts = _check_split(text)
    assert len(parts) > 1
    assert all(measure(p).encoding == "UCS-2" for p in parts)


def test_split_mixed_parts_use_own_encoding() -> None:
    # The GSM-only first half packs into full 160-septet parts even though a later part
    # needs UCS-2.
    text = "plain words only here " * 14 + "ŵyr ŵyr ŵyr " * 10
    parts = _check_split(text)
    encodings = [measure(p).encoding for p in parts]
    assert encodings[0] == "GSM-7"
    assert encodings[-1] == "UCS-2"
    assert measure(parts[0]).units > 140


def test_split_long_word_is_cut_only_when_necessary() -> None:
    word = "x" * 400
    text = f"intro {word} outro"
    parts = split_for_sms(text)
    assert all(measure(p).segments == 1 for p in parts)
    bodies = _strip_markers(parts)
    assert "".join("".join(bodies).split()) == "intro" + word + "outro"


def test_split_marker_width_grows_with_part_count() -> None:
    text = " ".join(f"w{i:03d}" for i in range(600))  # ~3000 chars -> > 10 parts
    parts = _check_split(text)
    assert len(parts) >= 10
    assert parts[-1].startswith(f"({len(parts)}/{len(parts)}) ")


def test_split_extension_and_emoji_heavy_text() -> None:
    text = "Cost € " * 40 + "done"
    _check_split(text)
    text = "ok 😀 " * 40
    _check_split(text)


def test_split_whitespace_padding_only() -> None:
    text = "hello" + " " * 200
    assert split_for_sms(text) == ["hello"]
    assert split_for_sms(" " * 200) == []


# --------------------------------------------------------------------------------------
# Property tests
# --------------------------------------------------------------------------------------

_GSM_ALPHABET = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
    "^{}\\[~]|€\f"
)

_PROPERTY = settings(deadline=None, max_examples=200)

_text_with_emoji = st.text(
    alphabet=st.one_of(
        st.characters(),
        st.sampled_from(list("€^{}😀👍🏽❤️ж’ŵ \n")),
    ),
    max_size=700,
)


def test_gsm_alphabet_matches_codec() -> None:
    assert len(_GSM_ALPHABET) == len(set(_GSM_ALPHABET)) == 137
    for ch in _GSM_ALPHABET:
        assert measure(ch).encoding == "GSM-7", repr(ch)


@_PROPERTY
@given(_text_with_emoji)
def test_property_measure_never_raises_and_matches_reference(text: str) -> None:
    info = measure(text)
    assert info.segments >= 1
    assert (info.encoding, info.units, info.segments) == reference(text)


@_PROPERTY
@given(st.text(alphabet=st.sampled_from(_GSM_ALPHABET), max_size=400))
def test_property_sanitise_leaves_gsm_text_unchanged(text: str) -> None:
    assert sanitise_system_text(text) == text


@_PROPERTY
@given(_text_with_emoji)
def test_property_sanitise_never_raises_and_is_idempotent(text: str) -> None:
    once = sanitise_system_text(text)
    assert sanitise_system_text(once) == once


@_PROPERTY
@given(
    st.text(
        alphabet=st.one_of(
            st.sampled_from([*"abc €{😀ж’ŵ.!?", " ", " ", "\n", "\n"]),
            st.characters(codec="utf-8"),
        ),
        max_size=900,
    )
)
def test_property_split_parts_are_single_segment(text: str) -> None:
    parts = split_for_sms(text)
    for part in parts:
        assert measure(part).segments == 1
    if len(parts) > 1:
        bodies = _strip_markers(parts)
        assert "".join("".join(bodies).split()) == "".join(text.split())
