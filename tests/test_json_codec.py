"""JSON on the hot paths (``bot/json_codec.py``): orjson's speed, with nothing refused
that the standard library accepted and nothing accepted that it refused."""

from __future__ import annotations

import datetime as dt
import enum
import json
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.json_codec import dumps_text, loads

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-2**63, 2**63 - 1) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20)


class Colour(enum.StrEnum):
    RED = "red"


@dataclass
class Point:
    x: int


@settings(deadline=None, max_examples=200)
@given(JSON_VALUES)
def test_what_is_written_reads_back_the_same_with_either_library(value: Any) -> None:
    text = dumps_text(value)
    assert loads(text) == value
    assert json.loads(text) == value
    assert loads(json.dumps(value)) == value  # rows written before orjson still read


def test_text_is_kept_as_written_and_lone_surrogates_are_escaped() -> None:
    assert dumps_text({"text": "café 👋🏽"}) == '{"text":"café 👋🏽"}'
    broken = "half a pair \ud83d"  # not UTF-8: orjson refuses it, json escapes it
    text = dumps_text({"text": broken})
    assert "\\ud83d" in text and text.isascii()
    assert loads(text) == {"text": broken}


def test_values_the_standard_library_wrote_are_written_as_before() -> None:
    assert dumps_text({1: "a"}) == '{"1":"a"}'  # integer keys become strings
    assert dumps_text([Colour.RED]) == '["red"]'  # str enums: their value
    assert loads(dumps_text(2**70)) == 2**70  # wider than 64 bits


@pytest.mark.parametrize("value", [dt.datetime(2026, 1, 5, tzinfo=dt.UTC), Point(1), {1, 2}])
def test_values_json_cannot_hold_are_still_refused(value: Any) -> None:
    with pytest.raises(TypeError):
        dumps_text({"v": value})


def test_what_the_standard_library_read_is_still_read_and_junk_still_refused() -> None:
    assert loads('{"x": NaN}')["x"] != loads('{"x": NaN}')["x"]  # NaN, as json reads it
    assert loads(b'{"a": 1}') == {"a": 1}
    for junk in ("", "{", "{'a': 1}", "[1,]", b"\xff"):
        with pytest.raises(ValueError):
            loads(junk)
