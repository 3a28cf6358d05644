"""What a participant contributed beyond answers, for their data export: suggestions
and what became of them, deliberation statements, decisions on their comments."""

from __future__ import annotations

from typing import Any

from bot.store.base import Store


async def suggestions_of(store: Store, participant_id: str) -> list[dict[str, Any]]:
    decisions = await store.suggestion_decisions()
    out = []
    for event in await store.events(participant_id=participant_id, name="SuggestionMade"):
        decision = decisions.get(event.id) if event.id is not None else None
        out.append({"id": f"S{event.id}", "text": event.payload.get("text"),
                    "at": event.at.isoformat(),
                    "status": decision.status if decision else "pending",
                    "reason": decision.reason if decision else None})
    return out


async def contributions_of(store: Store, participant_id: str) -> dict[str, Any]:
    decisions = await store.suggestion_decisions()
    statements = []
    for event in await store.events(participant_id=participant_id, name="StatementWritten"):
        decision = decisions.get(event.id) if event.id is not None else None
        statements.append({"id": f"T{event.id}", "text": event.payload.get("text"),
                           "at": event.at.isoformat(),
                           "status": "pending" if decision is None else
                           "approved" if decision.status == "accepted" else "rejected"})
    comments = [{"comment": e.payload.get("comment"), "finding": e.payload.get("finding"),
                 "outcome": e.payload.get("outcome"), "reason": e.payload.get("reason"),
                 "at": e.at.isoformat()}
                for e in await store.events(participant_id=participant_id,
                                            name="CommentDecided")]
    return {"suggestions": await suggestions_of(store, participant_id),
            "statements": statements, "decisions_on_your_comments": comments}
