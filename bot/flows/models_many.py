"""Answer kinds that take several options at once: ``multi``, ``ranking``, ``allocate``.

They share the ``Option`` of a choice question, so a coordinator can turn a single
choice into a multiple choice or a ranking by changing ``kind`` alone. Power-sharing
needs them: people pick their priorities, put them in order, or spread a budget.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bot.flows.option import Option

MAX_OPTIONS = 12
"""Twelve options is what fits a numbered SMS list and a Telegram keyboard."""


class _Many(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    options: Annotated[tuple[Option, ...], Field(max_length=MAX_OPTIONS)] = ()
    options_from: Annotated[str | None, Field(pattern=r"^vars\.[a-z][a-z0-9_]*$")] = None
    """Options given when the flow starts (a round's ``vars``), as a JSON list of
    ``{"value", "label"}``: a vote on participants' own suggestions, or a budget's
    projects. ``options`` then stays empty in the file."""

    @model_validator(mode="after")
    def _unique_values(self) -> _Many:
        if self.options_from is None and len(self.options) < 2:
            raise ValueError("give at least 2 options, or options_from")
        values = [o.value for o in self.options]
        dupes = sorted({v for v in values if values.count(v) > 1})
        if dupes:
            raise ValueError(f"duplicate option value(s): {', '.join(dupes)}")
        return self


class MultiAnswer(_Many):
    """Choose several: saved as the list of chosen option values, in the flow's order."""

    kind: Literal["multi"]
    min: Annotated[int, Field(ge=1)] = 1
    max: Annotated[int | None, Field(ge=1)] = None
    limit: Annotated[int | None, Field(ge=1)] = None
    """Approval within a budget: the options' ``cost`` of the picks may add up to this."""
    limit_from: Annotated[str | None, Field(pattern=r"^vars\.[a-z][a-z0-9_]*$")] = None
    """The limit given when the flow starts: a number, or JSON ``{"total", "unit"}``."""
    unit: Annotated[str, Field(max_length=16)] = ""

    @model_validator(mode="after")
    def _limits(self) -> MultiAnswer:
        if self.max is not None and self.max < self.min:
            raise ValueError(f"max ({self.max}) is less than min ({self.min})")
        if self.options_from is None and self.min > len(self.options):
            raise ValueError(f"min ({self.min}) is more than the {len(self.options)} options")
        return self

    @property
    def most(self) -> int:
        return len(self.options) if self.max is None else min(self.max, len(self.options))


class RankingAnswer(_Many):
    """Put options in order: saved as the list of option values, first = most wanted.
    ``top`` asks for the first k only; without it every option is ranked."""

    kind: Literal["ranking"]
    top: Annotated[int | None, Field(ge=1)] = None

    @model_validator(mode="after")
    def _top(self) -> RankingAnswer:
        if self.options_from is None and self.top is not None and self.top > len(self.options):
            raise ValueError(f"top ({self.top}) is more than the {len(self.options)} options")
        return self

    @property
    def needed(self) -> int:
        return len(self.options) if self.top is None else self.top


class AllocateAnswer(_Many):
    """Spread ``total`` (points or money) across options: saved as a mapping
    option value -> whole amount. With ``exact`` the amounts must add up to the total;
    without it, up to the total (the rest left unspent)."""

    kind: Literal["allocate"]
    total: Annotated[int, Field(ge=1, le=1_000_000_000)]
    unit: Annotated[str, Field(min_length=1, max_length=16)] = "points"
    exact: bool = True
