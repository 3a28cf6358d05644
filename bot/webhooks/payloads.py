"""From committed rows to webhook bodies: ``{"id", "event", "occurred_at", "data"}``.

No phone number, chat id or message text is ever put in a body: people are named by
their participant id. ``answer.recorded`` carries the answer's value (personal data:
only for receivers the project trusts) unless the hook says ``include_answers = false``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.store.round_records import Round
from bot.store.webhooks import WebhookSource

SOURCES = ("AnswerRecorded", "AnswerSkipped", "FlowCompleted", "ConsentGiven",
           "KeywordReceived", "OptedOutAtCarrier")
"""The stored event names webhooks are made from."""


@dataclass(frozen=True)
class Occurrence:
    """One webhook event, before it is given an id and addressed to a hook."""

    event: str
    participant_id: str
    occurred_at: dt.datetime
    data: dict[str, Any]
    personal: tuple[str, ...] = ()
    """Keys of ``data`` left out for a hook with ``include_answers = false``."""


def _answer(source: WebhookSource, pid: str) -> Occurrence | None:
    p = source.event.payload
    return Occurrence("answer.recorded", pid, source.event.at, {
        "participant_id": pid, "flow": source.flow_id, "round_id": source.round_id,
        "node": p.get("node"), "field": p.get("field"), "value": p.get("value")},
        personal=("value",))


def _skipped(source: WebhookSource, pid: str) -> Occurrence | None:
    p = source.event.payload
    return Occurrence("answer.skipped", pid, source.event.at, {
        "participant_id": pid, "flow": source.flow_id, "round_id": source.round_id,
        "node": p.get("node"), "field": p.get("field"), "reason": p.get("reason")})


def _completed(source: WebhookSource, pid: str) -> Occurrence | None:
    p = source.event.payload
    return Occurrence("flow.completed", pid, source.event.at, {
        "participant_id": pid, "flow": p.get("flow_id") or source.flow_id,
        "round_id": source.round_id, "outcome": p.get("outcome")})


def _consent(source: WebhookSource, pid: str) -> Occurrence | None:
    return Occurrence("consent.given", pid, source.event.at, {
        "participant_id": pid, "version": source.event.payload.get("version")})


def _keyword(source: WebhookSource, pid: str) -> Occurrence | None:
    p = source.event.payload
    if p.get("word") != "stop":
        return None
    return Occurrence("participant.opted_out", pid, source.event.at, {
        "participant_id": pid, "channel": p.get("address_channel"), "via": "stop"})


def _carrier(source: WebhookSource, pid: str) -> Occurrence | None:
    return Occurrence("participant.opted_out", pid, source.event.at, {
        "participant_id": pid, "channel": source.event.payload.get("address_channel"),
        "via": "carrier"})


MAKERS: dict[str, Callable[[WebhookSource, str], Occurrence | None]] = {
    "AnswerRecorded": _answer, "AnswerSkipped": _skipped, "FlowCompleted": _completed,
    "ConsentGiven": _consent, "KeywordReceived": _keyword, "OptedOutAtCarrier": _carrier,
}


def occurrence(source: WebhookSource) -> Occurrence | None:
    """The webhook event a stored event makes, if any (None for an event blanked by an
    erasure, or one no webhook is about)."""
    event = source.event
    maker = MAKERS.get(event.name)
    if maker is None or not event.participant_id or not event.payload:
        return None
    return maker(source, event.participant_id)


def round_completed(item: Round, counts: dict[str, int]) -> Occurrence:
    """``counts``: people, as in ``parley rounds status --json`` (targeted, completed …)."""
    at = item.closed_at or item.start_at
    return Occurrence("round.completed", "", at, {
        "round_id": item.id, "flow": item.flow_id, "label": item.label,
        "started_at": item.start_at.isoformat(), "closed_at": at.isoformat(),
        "counts": counts})


def body(event_id: str, occ: Occurrence, *, include_answers: bool) -> str:
    """The exact text POSTed (kept in the outbox row, so every retry sends the same
    bytes and the same signature)."""
    data = occ.data if include_answers else {k: v for k, v in occ.data.items()
                                             if k not in occ.personal}
    return json.dumps({"id": event_id, "event": occ.event,
                       "occurred_at": occ.occurred_at.astimezone(dt.UTC).isoformat(),
                       "data": data}, ensure_ascii=False, separators=(",", ":"))
