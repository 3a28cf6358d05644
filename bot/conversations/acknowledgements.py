"""Answering a button press on the button itself: with an ``ack`` (Telegram's callback
query) the pressed question is edited to show the answer and its buttons go, and a
press on an older question is told "that question has closed" on the button, not in a
new message. Multiple-choice taps edit the question in place (``bot.taps``)."""

from __future__ import annotations

from bot.conversations.replies import Replies
from bot.conversations.unit import Unit
from bot.engine.context import StepContext
from bot.engine.many import is_tapped
from bot.engine.session import Session
from bot.engine.step import preview
from bot.flows.models import Flow
from bot.store.base import Store
from bot.taps import fold_taps


class Acknowledgements:
    def __init__(self, store: Store, replies: Replies) -> None:
        self.store, self.replies = store, replies

    async def before_press(self, unit: Unit, flow: Flow, session: Session, token: str,
                           ctx: StepContext) -> bool:
        """Prepare the edit of the pressed question; False when the press is stale (the
        person has been told, and the press must not reach the engine)."""
        if unit.ack is None:
            return True
        question = (preview(flow, session, session.node, unit.now, ctx)
                    if session.status == "waiting" else None)
        chosen = next((c for c in question.choices if c.token == token),
                      None) if question is not None else None
        if chosen is None or question is None:
            self.replies.event(unit, "StaleInputIgnored", {"detail": f"button {token}"})
            self.replies.closed(unit)
            return False
        if is_tapped(flow, session.node):  # the question comes again with its new state
            unit.ack.payload["drop_buttons"] = True
        else:
            shown = await self._shown_text(unit, question.text)
            unit.ack.payload["edit_text"] = self.replies.answered(unit, shown, chosen.label)
        return True

    def after_press(self, unit: Unit, flow: Flow, session: Session, start: int) -> None:
        """A tap of a multiple-choice question edits it in place."""
        if unit.ack is not None and is_tapped(flow, session.node):
            fold_taps(unit.changes.outbox, unit.ack, start)

    async def _shown_text(self, unit: Unit, question: str) -> str:
        """The pressed message's whole text: on rich channels texts before a question
        travel in its message (``bot.conversations.bundle``), and the edit must keep them."""
        assert unit.ack is not None and unit.address is not None
        source = unit.ack.payload.get("source_id")
        row = await self.store.outbox_by_provider_id(str(source)) if source else None
        rows = [] if row is None else [row]
        rows += reversed(await self.store.outbox_of(unit.participant.id))
        for row in rows:
            text = str(row.payload.get("text") or "")
            if row.address == unit.address.address and text.endswith(question):
                return text
        return question
