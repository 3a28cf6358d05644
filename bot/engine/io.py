"""What goes into a step and what comes out of it, channel-neutral."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, NamedTuple

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
    choices: tuple[Choice, ...] = ()
    layout: Literal["list", "row", "grid"] = "list"
    long_ok: bool = False
    """The flow says this may exceed one SMS segment (e.g. a finding's own text)."""
