"""What we hold about a person, in one JSON document (``/mydata``, ``participants export``).

Participants can see and export their data (DESIGN: privacy and dignity). The export is
built from the store alone, so it shows exactly what is kept: nothing more, nothing less.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from bot.privacy_agenda import contributions_of
from bot.privacy_care import care_export
from bot.store.base import Store
from bot.store.round_records import CENTS


def _iso(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat()


async def export_participant(store: Store, participant_id: str) -> dict[str, Any]:
    """Everything held about one participant; KeyError if there is no such person."""
    p = await store.get_participant(participant_id)
    if p is None:
        raise KeyError(participant_id)
    addresses = await store.addresses_of(participant_id)
    return {
        "participant": {
            "id": p.id, "status": p.status, "created_at": _iso(p.created_at),
            "name": p.name, "locale": p.locale, "timezone": p.timezone,
            "preferred_channel": p.preferred_channel, "cohort": p.cohort,
            "tags": list(p.tags), "profile": dict(p.profile),
            "consent_version": p.consent_version, "erased_at": _iso(p.erased_at),
        },
        "addresses": [{"address": a.address, "channel": a.channel,
                       "opted_out": a.opted_out, "opted_out_at": _iso(a.opted_out_at),
                       "unreachable": a.unreachable} for a in addresses],
        "consents": [{"version": c.version, "decision": c.decision, "at": _iso(c.at)}
                     for c in await store.consents_of(participant_id)],
        "answers": [{"flow": a.flow_id, "question": a.node, "field": a.field,
                     "value": a.value, "as_written": a.raw, "skipped": a.skipped,
                     "late": a.late, "round": a.round_id, "at": _iso(a.at)}
                    for a in await store.answers(participant_id=participant_id)],
        "media": [{"kind": m.kind, "content_type": m.content_type, "question": m.node,
                   "status": m.status, "size": m.size,
                   "file": m.path.rsplit("/", 1)[-1] if m.path else None,  # not our folders
                   "at": _iso(m.created_at)}
                  for m in await store.media_of(participant_id)],
        "credits": [{"at": _iso(e.at), "amount": e.amount / CENTS, "kind": e.kind,
                     "payable": e.payable, "note": e.note}
                    for e in await store.ledger(participant_id=participant_id)],
        "messages_sent_to_you": len(await store.outbox_of(participant_id)),
        "messages_for_our_team": [  # the coordinators' inbox (bot/safeguarding)
            {"kind": i.kind, "text": i.text, "channel": i.channel, "at": _iso(i.created_at),
             "status": i.status, "acknowledged_at": _iso(i.acked_at)}
            for i in reversed(await store.attention_list(participant_id=participant_id))],
        **await care_export(store, participant_id),  # time bank, events (#15)
        **await contributions_of(store, participant_id),
    }
