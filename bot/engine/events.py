"""Facts the engine reports, for the caller to persist. Frozen, named in the past tense."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields
from typing import Any

from bot.engine.quick_init import quick_init
from bot.engine.session import FieldValue


@dataclass(frozen=True)
class Event:
    """Base of every engine event."""

    @property
    def name(self) -> str:
        return type(self).__name__

    def payload(self) -> dict[str, Any]:
        """The fields as a new dict, datetimes as ISO text; what ``dataclasses.asdict``
        gives, without its general recursion (every event of every turn is stored)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            name, value = f.name, getattr(self, f.name)
            if isinstance(value, dt.datetime):
                value = value.isoformat()
            elif isinstance(value, list):  # a saved answer (str items): the caller's copy
                value = list(value)
            elif isinstance(value, dict):  # allocate's amounts (str -> int)
                value = dict(value)
            out[name] = value
        return out


@dataclass(frozen=True)
class FlowStarted(Event):
    flow_id: str
    flow_version: str


@dataclass(frozen=True)
class QuestionAsked(Event):
    node: str
    asked: int


@dataclass(frozen=True)
class AnswerRecorded(Event):
    node: str
    field: str | None
    value: FieldValue
    raw: str
    """Exactly what the person sent, byte for byte."""


@dataclass(frozen=True)
class AnswerRejected(Event):
    node: str
    raw: str
    reason: str


@dataclass(frozen=True)
class AnswerSkipped(Event):
    node: str
    field: str | None
    reason: str
    """``skip`` (they asked to), ``retries`` (too many invalid answers) or ``timeout``."""


@dataclass(frozen=True)
class FieldSet(Event):
    field: str
    value: FieldValue


@dataclass(frozen=True)
class ParticipantUpdated(Event):
    field: str
    value: FieldValue


@dataclass(frozen=True)
class ConsentGiven(Event):
    version: str


@dataclass(frozen=True)
class ConsentDeclined(Event):
    version: str


@dataclass(frozen=True)
class TimerScheduled(Event):
    """Wake this session at ``due`` unless it has moved on (``asked`` no longer matches)."""

    node: str
    asked: int
    due: dt.datetime


@dataclass(frozen=True)
class TimedOut(Event):
    node: str


@dataclass(frozen=True)
class FlowCompleted(Event):
    flow_id: str
    outcome: str


@dataclass(frozen=True)
class FlowExpired(Event):
    flow_id: str
    node: str


@dataclass(frozen=True)
class FlowErrored(Event):
    """A problem in the flow's content found at run time; the conversation carries on."""

    node: str
    message: str


@dataclass(frozen=True)
class HelpRequested(Event):
    node: str


@dataclass(frozen=True)
class StaleInputIgnored(Event):
    """A button from an earlier question, or a timer for a step already passed."""

    detail: str


@dataclass(frozen=True)
class DistressFlagged(Event):
    node: str
    phrase: str


@dataclass(frozen=True)
class SuggestionMade(Event):
    """A participant proposed a topic (a ``suggest`` node, or the SUGGEST word): the
    event *is* the suggestion, so it commits with the message that made it."""

    node: str | None
    text: str
    locale: str


@dataclass(frozen=True)
class StatementWritten(Event):
    """A participant's own statement for a deliberation, to be moderated before anyone
    sees it."""

    node: str | None
    text: str
    locale: str


def _quicken(base: type[Event]) -> None:
    for cls in base.__subclasses__():  # every event here is a frozen dataclass
        quick_init(cls)
        _quicken(cls)


_quicken(Event)  # three or four events a step: built with one dict update each
