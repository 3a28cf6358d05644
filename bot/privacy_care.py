"""The parts of a person's data export that issue #15 added: time-bank hours and
requests, and event replies and attendance (``bot.privacy.export_participant``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from bot.store.base import Store


def _iso(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat()


async def care_export(store: Store, participant_id: str) -> dict[str, Any]:
    hours = await store.hour_entries(participant_id)
    requests = await store.spend_requests(participant_id=participant_id)
    out: dict[str, Any] = {
        "time_bank_hours": [{"minutes": e.minutes, "kind": e.kind, "source": e.source,
                             "note": e.note, "at": _iso(e.at)} for e in hours],
        "time_bank_requests": [{"offer": q.offer_code, "minutes": q.minutes,
                                "status": q.status, "asked_at": _iso(q.requested_at),
                                "decided_at": _iso(q.decided_at), "note": q.note}
                               for q in requests],
    }
    out["events"] = [{"event": r.event_id, "answer": r.answer, "place": r.seat,
                       "answered_at": _iso(r.answered_at),
                       "attended_at": _iso(r.attended_at)}
                      for r in await store.rsvps_for(participant_id)]
    tags = await store.answer_themes()
    names = {t.id: t.name for t in await store.themes_all()}
    out["themes_on_your_answers"] = [
        {"answer_at": _iso(a.at), "field": a.field,
         "themes": [names[t] for t in tags.get(a.id or 0, [])]}
        for a in await store.answers(participant_id=participant_id) if tags.get(a.id or 0)]
    return out
