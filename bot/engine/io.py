"""What goes into a step and what comes out of it, channel-neutral."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple, overload

from bot.engine.quick_init import quick_init
from bot.engine.session import FieldValue


@quick_init
@dataclass(frozen=True)
class Begin:
    """Start the flow at its start node."""

    vars: dict[str, str] = field(default_factory=dict)


@quick_init
@dataclass(frozen=True)
class Reply:
    """Text the person typed (or a keyword)."""

    text: str


@quick_init
@dataclass(frozen=True)
class Press:
    """A button pressed; ``token`` came from ``Choice.token`` of an earlier output."""

    token: str


@dataclass(frozen=True)
class TimerFired:
    """A no-reply timeout set by ``TimerScheduled`` came due."""

    node: str
    asked: int


@dataclass(frozen=True)
class Expire:
    """The session outlived the flow's ``expire_after``."""


Input = Begin | Reply | Press | TimerFired | Expire

OutputKind = Literal["question", "info", "reprompt", "help", "notice", "end"]


class Choice(NamedTuple):
    """One answer a person can pick: a number/key to type, a label and a button token.

    A NamedTuple rather than a dataclass: a 0-10 scale makes eleven per question."""

    key: str
    label: str
    value: FieldValue
    token: str


Button = tuple[str, str, FieldValue, str]
"""A question's button before it is asked: key, label, value and its token's suffix."""


class Choices(Sequence[Choice]):
    """A question's choices as one object: the buttons it shares with everyone asked the
    same question, and the token prefix of this asking. Each ``Choice`` is made when it
    is read, and ``dicts`` gives the outbox form straight from the buttons, so a 0-10
    question costs one object per step rather than eleven tuples and then eleven dicts.

    Reads, compares and hashes as the tuple of its ``Choice``s (``Choices(p, b) ==
    (Choice(...), ...)``), so it can stand wherever that tuple did."""

    __slots__ = ("buttons", "prefix")

    def __init__(self, prefix: str, buttons: tuple[Button, ...]) -> None:
        self.prefix = prefix
        self.buttons = buttons

    def __len__(self) -> int:
        return len(self.buttons)

    def __bool__(self) -> bool:
        return bool(self.buttons)

    def __iter__(self) -> Iterator[Choice]:
        make, prefix = tuple.__new__, self.prefix
        for key, label, value, suffix in self.buttons:
            yield make(Choice, (key, label, value, prefix + suffix))

    @overload
    def __getitem__(self, index: int) -> Choice: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[Choice, ...]: ...

    def __getitem__(self, index: int | slice) -> Choice | tuple[Choice, ...]:
        return tuple(self)[index]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Choices | tuple):
            return tuple(self) == tuple(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return repr(tuple(self))

    def dicts(self) -> list[dict[str, Any]]:
        """Each choice as ``{"key", "label", "value", "token"}`` (the outbox form)."""
        prefix = self.prefix
        return [{"key": key, "label": label, "value": value, "token": prefix + suffix}
                for key, label, value, suffix in self.buttons]


@quick_init
@dataclass(frozen=True)
class Output:
    """One message to the participant.

    ``text`` is for channels with buttons (choices shown as buttons); ``plain`` is the
    complete plain-text body for SMS and consoles, numbered options and hints included.
    """

    text: str
    plain: str
    kind: OutputKind
    node: str | None = None
    choices: Sequence[Choice] = ()
    """A tuple of ``Choice``, or for a question the ``Choices`` standing for one."""
    layout: Literal["list", "row", "grid"] = "list"
    long_ok: bool = False
    """The flow says this may exceed one SMS segment (e.g. a finding's own text)."""
