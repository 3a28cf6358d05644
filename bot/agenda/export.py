"""A participant's suggestions and what became of them, for their data export."""

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
