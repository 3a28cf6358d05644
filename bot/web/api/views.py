"""Store records as the API's response models (``bot.web.api.models``)."""

from __future__ import annotations

import json
from typing import Any

from bot.csv_safe import csv_text
from bot.people import mask_phone
from bot.store.records import Address, AnswerRow, Participant
from bot.store.round_records import Finding, Round
from bot.web.api.models import (
    AddressOut,
    AnswerOut,
    FindingOut,
    ParticipantOut,
    RoundOut,
    RoundProgress,
)

ANSWER_COLUMNS = tuple(AnswerOut.model_fields)


def mask_address(address: str) -> str:
    """Enough to tell addresses apart, not to write to them: ``tel:+44•••••••123``,
    ``telegram:12•••••89``."""
    if address.startswith(("tel:", "whatsapp:")):
        return mask_phone(address)
    prefix, sep, rest = address.partition(":")
    if not sep:
        return "•" * len(address)
    if len(rest) <= 4:
        return f"{prefix}:{'•' * len(rest)}"
    return f"{prefix}:{rest[:2]}{'•' * (len(rest) - 4)}{rest[-2:]}"


def participant_out(p: Participant, addresses: list[Address], *,
                    masked: bool) -> ParticipantOut:
    return ParticipantOut(
        id=p.id, status=p.status, locale=p.locale, timezone=p.timezone, cohort=p.cohort,
        tags=list(p.tags), created_at=p.created_at, name=None if masked else p.name,
        masked=masked,
        addresses=[AddressOut(address=mask_address(a.address) if masked else a.address,
                              channel=a.channel, opted_out=a.opted_out,
                              unreachable=a.unreachable) for a in addresses])


def round_out(item: Round, status: dict[str, Any]) -> RoundOut:
    return RoundOut(id=item.id, flow=item.flow_id, audience=item.audience,
                    status=item.status, label=item.label, created_at=item.created_at,
                    start_at=item.start_at, every=item.every, finding=item.finding_id,
                    progress=RoundProgress.model_validate(status))


def answer_out(a: AnswerRow) -> AnswerOut:
    return AnswerOut(id=a.id or 0, participant_id=a.participant_id, session_id=a.session_id,
                     flow_id=a.flow_id, flow_version=a.flow_version, node=a.node,
                     field=a.field, value=a.value, raw=a.raw, at=a.at, round_id=a.round_id,
                     skipped=a.skipped, late=a.late)


def answers_csv(answers: list[AnswerOut]) -> str:
    """Through the project's one CSV writer; a list or mapping value is a JSON cell."""
    rows = []
    for a in answers:
        row: dict[str, object] = a.model_dump(mode="json")
        if isinstance(a.value, list | dict):
            row["value"] = json.dumps(a.value, ensure_ascii=False)
        rows.append(row)
    return csv_text(ANSWER_COLUMNS, rows)


def finding_out(f: Finding) -> FindingOut:
    return FindingOut(id=f.id, title=f.title, text=f.text, created_at=f.created_at,
                      lineage=f.lineage, version=f.version, replaces=f.replaces,
                      changes=f.changes)
