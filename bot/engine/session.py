"""A participant's place in one flow, and what makes it valid."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal, get_args

from bot.engine.quick_init import quick_init
from bot.flows.models import AnswerKind, Flow

SessionStatus = Literal["active", "waiting", "completed", "expired", "stopped"]
FieldValue = str | int | float | bool | None | list[str] | dict[str, int]
"""A saved answer: several-option kinds save a list of option values (``multi``,
``ranking``) or a mapping option value -> amount (``allocate``)."""
STATUSES: tuple[str, ...] = get_args(SessionStatus)
FINISHED: frozenset[str] = frozenset({"completed", "expired", "stopped"})


class InvalidSession(ValueError):
    """A session that no longer matches its flow (a bug, never a participant's doing)."""


def _picks(value: FieldValue) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _amounts(value: FieldValue) -> bool:
    return isinstance(value, dict) and all(
        isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool)
        for k, v in value.items())


_SEVERAL = {"multi": _picks, "ranking": _picks, "allocate": _amounts}


def _kind_matches(kind: AnswerKind, value: FieldValue) -> bool:
    if value is None:
        return True  # skipped
    if kind in ("choice", "text"):
        return isinstance(value, str)
    if kind == "scale":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "yes_no":
        return isinstance(value, bool)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind in _SEVERAL:
        return _SEVERAL[kind](value)
    if kind == "date":
        if not isinstance(value, str):
            return False
        try:
            dt.date.fromisoformat(value)
        except ValueError:
            return False
        return True
    return False


@quick_init
@dataclass(frozen=True)
class Session:
    """Immutable: the engine returns a new Session for every step."""

    id: str
    participant_id: str
    flow_id: str
    flow_version: str
    node: str
    status: SessionStatus
    locale: str
    started_at: dt.datetime
    updated_at: dt.datetime
    fields: dict[str, FieldValue] = field(default_factory=dict)
    vars: dict[str, str] = field(default_factory=dict)
    asked: int = 0
    """How many questions this session has asked: ties buttons and timers to one asking."""
    retries: int = 0
    round_id: str | None = None

    def evolve(self, *, node: str | None = None, status: SessionStatus | None = None,
               locale: str | None = None, fields: dict[str, FieldValue] | None = None,
               vars: dict[str, str] | None = None, asked: int | None = None,
               retries: int | None = None, fresh: bool = False) -> Session:
        """A copy with the given fields changed (None: unchanged). Only what a step may
        change can be passed, each with its type; ``dataclasses.replace`` is skipped
        because the engine evolves sessions several times per step. ``fresh``: this
        session is itself a copy that only the caller holds (one made earlier in the same
        step), so it is changed in place and returned rather than copied again."""
        if fresh:
            new, state = self, self.__dict__
        else:  # a copy of the fields as the new instance's own (past the frozen guard)
            new, state = object.__new__(Session), self.__dict__.copy()
            object.__setattr__(new, "__dict__", state)
        if node is not None:
            state["node"] = node
        if status is not None:
            state["status"] = status
        if locale is not None:
            state["locale"] = locale
        if fields is not None:
            state["fields"] = fields
        if vars is not None:
            state["vars"] = vars
        if asked is not None:
            state["asked"] = asked
        if retries is not None:
            state["retries"] = retries
        return new

    def moved(self, node: str, status: SessionStatus, asked: int, retries: int,
              fields: dict[str, FieldValue], now: dt.datetime) -> Session:
        """A copy at ``node`` as of ``now``: what a planned step returns
        (``bot/engine/reply_plans.py``), in one copy where ``evolve`` would take two."""
        new, state = object.__new__(Session), self.__dict__.copy()
        object.__setattr__(new, "__dict__", state)
        state["node"], state["status"], state["asked"] = node, status, asked
        state["retries"], state["fields"], state["updated_at"] = retries, fields, now
        return new

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    def validate(self, flow: Flow) -> None:
        """Raise InvalidSession unless the session points at a real node of its own flow
        version, its saved fields hold values of their declared kinds, and its status is
        one of the five known ones."""
        if (flow.id, flow.version) != (self.flow_id, self.flow_version):
            raise InvalidSession(f"session is on {self.flow_id}@{self.flow_version}, "
                                 f"not {flow.id}@{flow.version}")
        if self.node not in flow.nodes:
            raise InvalidSession(f"node '{self.node}' is not in flow '{flow.id}'")
        if self.status not in STATUSES:
            raise InvalidSession(f"unknown status '{self.status}'")
        if self.status == "waiting" and flow.nodes[self.node].type not in ("ask", "suggest",
                                                                          "statement"):
            raise InvalidSession(f"waiting at '{self.node}', which is not a question")
        if self.status == "completed" and flow.nodes[self.node].type != "end":
            raise InvalidSession(f"completed at '{self.node}', which is not an end node")
        declared = flow.fields()
        for name, value in self.fields.items():
            kind = declared.get(name)
            if kind is not None and not _kind_matches(kind, value):
                raise InvalidSession(f"field '{name}' holds {value!r}, not a {kind} answer")
        if self.retries < 0 or self.asked < 0:
            raise InvalidSession("negative counters")
