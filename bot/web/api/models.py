"""The API's request and response bodies as pydantic models: the routes build their JSON
from them, and ``bot.web.api.openapi`` takes their JSON Schemas for the document."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from bot.engine.session import FieldValue


class ErrorDetail(BaseModel):
    code: str = Field(description="unauthorized, forbidden, not_found, invalid, "
                                  "unavailable")
    message: str


class ErrorBody(BaseModel):
    """Every error: 401 (no, unknown or revoked token; with ``WWW-Authenticate: Bearer``),
    403 (the token's scope does not allow it), 404, 422 (bad input)."""

    error: ErrorDetail


class AddressOut(BaseModel):
    address: str = Field(description="tel:+E.164, whatsapp:+E.164 or telegram:<chat id>; "
                                      "masked (tel:+44•••••••123) for a read token")
    channel: str
    opted_out: bool
    unreachable: bool


class ParticipantOut(BaseModel):
    id: str
    status: str
    locale: str
    timezone: str | None
    cohort: str | None
    tags: list[str]
    created_at: dt.datetime
    name: str | None = Field(description="null for a read token")
    addresses: list[AddressOut]
    masked: bool = Field(description="true when contact details are masked (read scope)")


class ParticipantList(BaseModel):
    participants: list[ParticipantOut]
    next_since: str = Field(description="opaque cursor: pass it as ?since= for the next "
                                        "page (the same one when this page is empty)")
    has_more: bool


class ChannelCounts(BaseModel):
    targeted: int
    sent: int
    delivered: int
    started: int
    completed: int
    opted_out: int
    unreachable: int
    ambiguous: int
    segments_estimated: int
    segments_sent: int


class RoundProgress(ChannelCounts):
    """``parley rounds status ID --json``: counts of people (``messages``: of messages)."""

    id: str
    flow: str
    label: str | None
    by_channel: dict[str, ChannelCounts]
    messages: dict[str, int]


class RoundOut(BaseModel):
    id: str
    flow: str
    audience: str
    status: str
    label: str | None
    created_at: dt.datetime
    start_at: dt.datetime
    every: str | None
    finding: str | None
    progress: RoundProgress


class RoundList(BaseModel):
    rounds: list[RoundOut]


class RoundCreate(BaseModel):
    """The options of ``parley rounds create`` (``ids:FILE.csv`` audiences are CLI-only:
    the API never reads files on the server)."""

    model_config = ConfigDict(extra="forbid")

    flow: str = Field(min_length=1, max_length=200)
    audience: str = Field(min_length=1, max_length=500,
                          description="all, cohort:NAME or tag:T")
    finding: str | None = None
    start: str | None = Field(default=None, description="ISO date-time; without an "
                              "offset, the project's time zone (default: now)")
    every: str | None = Field(default=None, description="e.g. 14d")
    until: str | None = None
    remind_after: str | None = Field(default=None, description="e.g. 2d,5d")
    close_after: str | None = Field(default=None, description="e.g. 14d")
    label: str | None = Field(default=None, max_length=200)
    from_suggestions: str | None = Field(default=None, description="vote on accepted "
                                         "suggestions: all or S1,S2,…")
    budget: str | None = Field(default=None, description="vote on a budget's projects")


class RoundStarted(BaseModel):
    round: RoundOut
    planned: int = Field(description="people planned (one row each)")


class AnswerOut(BaseModel):
    id: int
    participant_id: str
    session_id: str
    flow_id: str
    flow_version: str
    node: str
    field: str | None
    value: FieldValue
    raw: str | None
    at: dt.datetime
    round_id: str | None
    skipped: bool
    late: bool


class AnswerPage(BaseModel):
    answers: list[AnswerOut]
    next_since: str = Field(description="opaque cursor: pass it as ?since= for the next "
                                        "page (the same one when this page is empty)")
    has_more: bool = Field(description="more answers are there now; when false, poll "
                                       "later with next_since for new ones")


class FindingOut(BaseModel):
    id: str
    title: str
    text: str
    created_at: dt.datetime
    lineage: str
    version: int
    replaces: str | None
    changes: str


class FindingList(BaseModel):
    findings: list[FindingOut]


AnswerFormat = Literal["json", "csv"]
RESPONSE_MODELS: tuple[type[BaseModel], ...] = (
    ErrorBody, ParticipantList, ParticipantOut, RoundList, RoundOut, RoundStarted,
    RoundCreate, AnswerPage, FindingList, FindingOut)
