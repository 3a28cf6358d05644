"""Pydantic models of a flow file.

Node types and answer kinds are discriminated unions (``type`` / ``kind``), so a flow
file is checked by the type system and every error carries the path of the offending
key, which the loader turns into a line number.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any, Literal, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)

from bot.durations import parse_duration
from bot.flows import expressions
from bot.flows.models_many import AllocateAnswer, MultiAnswer, RankingAnswer
from bot.flows.option import Option

NODE_ID = r"^[a-z][a-z0-9_]*$"
FIELD_NAME = r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)?$"
CURRENT_SCHEMA_VERSION = 1
_TEMPLATE_KEY = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)+$")


def is_template_key(text: str) -> bool:
    """Labels may be a template key (``ons4.not_at_all``) or literal text."""
    return bool(_TEMPLATE_KEY.match(text))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- answer kinds -------------------------------------------------------------------




class ChoiceAnswer(_Strict):
    kind: Literal["choice"]
    options: Annotated[tuple[Option, ...], Field(min_length=2, max_length=12)]

    @model_validator(mode="after")
    def _unique_values(self) -> ChoiceAnswer:
        values = [o.value for o in self.options]
        dupes = sorted({v for v in values if values.count(v) > 1})
        if dupes:
            raise ValueError(f"duplicate option value(s): {', '.join(dupes)}")
        return self


class ScaleAnswer(_Strict):
    kind: Literal["scale"]
    min: int = 0
    max: int = 10
    labels: dict[int, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _range(self) -> ScaleAnswer:
        if self.max <= self.min:
            raise ValueError(f"max ({self.max}) must be greater than min ({self.min})")
        if self.max - self.min > 20:
            raise ValueError("a scale may have at most 21 points")
        outside = [k for k in self.labels if not self.min <= k <= self.max]
        if outside:
            raise ValueError(f"label for {outside[0]} is outside {self.min}-{self.max}")
        return self


class YesNoAnswer(_Strict):
    kind: Literal["yes_no"]
    yes_label: str = "system.yes"
    no_label: str = "system.no"


class NumberAnswer(_Strict):
    kind: Literal["number"]
    min: float | None = None
    max: float | None = None
    integer: bool = True

    @model_validator(mode="after")
    def _range(self) -> NumberAnswer:
        if self.min is not None and self.max is not None and self.max < self.min:
            raise ValueError(f"max ({self.max}) is less than min ({self.min})")
        return self


class TextAnswer(_Strict):
    kind: Literal["text"]
    max_length: Annotated[int, Field(ge=1, le=10_000)] = 1000


class DateAnswer(_Strict):
    kind: Literal["date"]
    allow_past: bool = True
    allow_future: bool = True



Answer = Annotated[
    ChoiceAnswer | ScaleAnswer | YesNoAnswer | NumberAnswer | TextAnswer | DateAnswer
    | MultiAnswer | RankingAnswer | AllocateAnswer,
    Field(discriminator="kind"),
]
AnswerKind = Literal["choice", "scale", "yes_no", "number", "text", "date", "multi",
                     "ranking", "allocate"]
OPTION_KINDS = (ChoiceAnswer, MultiAnswer, RankingAnswer, AllocateAnswer)
"""Answer kinds whose options a flow lists (labels may be template keys)."""


# --- transitions ----------------------------------------------------------------------


class Condition(_Strict):
    """``{ if = "expr", go = "node" }``: the first true condition wins."""

    if_: Annotated[str, Field(alias="if")]
    go: Annotated[str, Field(pattern=NODE_ID)]

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("if_")
    @classmethod
    def _parses(cls, value: str) -> str:
        expressions.parse(value)
        return value


class Switch(_Strict):
    """``next = { when = [...], else = "node" }``."""

    when: Annotated[tuple[Condition, ...], Field(min_length=1)]
    else_: Annotated[str, Field(alias="else", pattern=NODE_ID)]

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _next_kind(value: Any) -> str:
    return "switch" if isinstance(value, dict | Switch) else "node"


Next = Annotated[
    Union[  # noqa: UP007
        Annotated[Annotated[str, Field(pattern=NODE_ID)], Tag("node")],
        Annotated[Switch, Tag("switch")],
    ],
    Discriminator(_next_kind),
]


class Timeout(_Strict):
    """No-reply branch: after ``after`` without an answer, go to ``next``."""

    after: str
    next: Annotated[str, Field(pattern=NODE_ID)]

    @field_validator("after")
    @classmethod
    def _duration(cls, value: str) -> str:
        parse_duration(value)
        return value

    @property
    def delta(self) -> timedelta:
        return parse_duration(self.after)


# --- nodes ---------------------------------------------------------------------------


class _NodeBase(_Strict):
    sms_long: str | None = None
    """Why this node's text may exceed one SMS segment (it is then split with (1/2))."""


class AskNode(_NodeBase):
    type: Literal["ask"]
    text: str
    answer: Answer
    save_as: Annotated[str | None, Field(pattern=FIELD_NAME)] = None
    next: Next
    skippable: bool = True
    retries: Annotated[int, Field(ge=0, le=10)] = 3
    timeout: Timeout | None = None


class SuggestNode(AskNode):
    """Free text that becomes a suggestion for coordinators to moderate ("what should we
    ask about next?"): a question like any other, whose answer is also put in the
    suggestions queue (``parley suggestions list``)."""

    type: Literal["suggest"]  # type: ignore[assignment]  # a kind of ask, told apart here
    answer: Answer = TextAnswer(kind="text", max_length=500)


class StatementNode(AskNode):
    """Free text that becomes a deliberation statement others will vote on, once a
    coordinator approves it (``parley statements approve``)."""

    type: Literal["statement"]  # type: ignore[assignment]  # a kind of ask, told apart here
    answer: Answer = TextAnswer(kind="text", max_length=280)


class SayNode(_NodeBase):
    type: Literal["say"]
    text: str
    next: Next


class BranchNode(_NodeBase):
    type: Literal["branch"]
    next: Switch


class SetNode(_NodeBase):
    type: Literal["set"]
    field: Annotated[str, Field(pattern=FIELD_NAME)]
    value: str
    next: Next

    @field_validator("value")
    @classmethod
    def _parses(cls, value: str) -> str:
        expressions.parse(value)
        return value


class EndNode(_NodeBase):
    type: Literal["end"]
    text: str | None = None
    outcome: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")] = "completed"


FlowNode = Annotated[
    AskNode | SuggestNode | StatementNode | SayNode | BranchNode | SetNode | EndNode,
    Field(discriminator="type"),
]


class VarSpec(_Strict):
    """A value passed in when the flow starts (e.g. a finding's text)."""

    description: str = ""
    required: bool = True


class Flow(_Strict):
    """One conversation, as a coordinator wrote it."""

    schema_version: Literal[1]
    id: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    title: str
    start: Annotated[str, Field(pattern=NODE_ID)]
    expire_after: str = "7d"
    consent_version: str | None = None
    vars: dict[str, VarSpec] = Field(default_factory=dict)
    nodes: dict[Annotated[str, Field(pattern=NODE_ID)], FlowNode]
    version: str = ""
    """Content hash of the file, filled in by the loader; sessions pin to it."""

    @field_validator("expire_after")
    @classmethod
    def _duration(cls, value: str) -> str:
        parse_duration(value)
        return value

    @property
    def expiry(self) -> timedelta:
        return parse_duration(self.expire_after)

    def node(self, node_id: str) -> Any:
        return self.nodes[node_id]

    def fields(self) -> dict[str, AnswerKind]:
        """The fields this flow's questions save, with the kind of answer each holds."""
        out: dict[str, AnswerKind] = {}
        for node in self.nodes.values():
            if isinstance(node, AskNode) and node.save_as:
                out[node.save_as] = node.answer.kind
        return out

    def ordered_asks(self) -> list[str]:
        return [nid for nid, n in self.nodes.items() if isinstance(n, AskNode)]


def next_targets(node: AskNode | SayNode | BranchNode | SetNode | EndNode) -> list[str]:
    """Every node id a node can move to."""
    targets: list[str] = []
    nxt = getattr(node, "next", None)
    if isinstance(nxt, str):
        targets.append(nxt)
    elif isinstance(nxt, Switch):
        targets.extend(c.go for c in nxt.when)
        targets.append(nxt.else_)
    if isinstance(node, AskNode) and node.timeout is not None:
        targets.append(node.timeout.next)
    return targets
