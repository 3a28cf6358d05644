"""``quick_init`` keeps a frozen dataclass what it was (issue 18: only cheaper to build)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from bot.engine import events
from bot.engine.io import Choice, Output
from bot.engine.quick_init import QuickInitError, quick_init
from bot.engine.session import Session

NOW = dt.datetime(2026, 3, 2, 10, tzinfo=dt.UTC)


def test_defaults_factories_equality_and_frozenness_are_kept() -> None:
    out = Output("Q?", "Q? 0-10", "question", "n1", (Choice("1", "One", 1, "t.1"),))
    assert out == Output(text="Q?", plain="Q? 0-10", kind="question", node="n1",
                         choices=(Choice("1", "One", 1, "t.1"),), layout="list")
    assert (out.layout, out.long_ok) == ("list", False)  # defaults
    assert hash(out) == hash(dataclasses.replace(out))
    with pytest.raises(dataclasses.FrozenInstanceError):
        out.text = "changed"  # type: ignore[misc]
    first = Session("s", "p", "f", "1", "n", "waiting", "en", NOW, NOW)
    second = Session("s", "p", "f", "1", "n", "waiting", "en", NOW, NOW)
    first.fields["x"] = 1
    assert second.fields == {}  # each instance gets its own default dict
    assert dataclasses.replace(first, node="m").fields == {"x": 1}
    assert repr(events.QuestionAsked("n", 2)) == "QuestionAsked(node='n', asked=2)"
    with pytest.raises(TypeError):
        events.QuestionAsked("n")  # type: ignore[call-arg]


def test_classes_it_cannot_reproduce_are_refused() -> None:
    @dataclasses.dataclass
    class Mutable:
        a: int

    @dataclasses.dataclass(frozen=True)
    class Later:
        a: int

        def __post_init__(self) -> None:
            pass

    @dataclasses.dataclass(frozen=True)
    class KeywordOnly:
        a: int = dataclasses.field(kw_only=True)

    for cls in (Mutable, Later, KeywordOnly):
        with pytest.raises(QuickInitError, match=cls.__name__):
            quick_init(cls)
