"""One option of a question that lists options (choice, multi, ranking, allocate)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field


class Option(BaseModel):
    """One option of a choice question: a stored value and a label shown to people."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    value: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,32}$")]
    label: Annotated[str, Field(min_length=1)]
    synonyms: tuple[str, ...] = ()
    cost: Annotated[int | None, Field(ge=0)] = None
    """What choosing it spends, for a ``multi`` question with a ``limit`` (a budget)."""
