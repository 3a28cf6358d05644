"""Taps on a Telegram multi/ranking question edit that question in place.

Each tap changes the question's state (a tick, the order so far). Sent as a new message
every time, eight taps would leave eight copies of the question in the chat; instead,
when the press is answered (``bot.acks``), the pressed message is edited to show the new
state with its buttons, and a re-prompt (e.g. "up to 3") is shown on the button as the
press's notice. Only the tap's own rows are folded: once the question is answered, the
next messages are sent as usual.
"""

from __future__ import annotations

from bot.store.records import OutboxItem

NOTICE_MAX = 200
"""Telegram shows at most 200 characters in a callback query's answer."""


def fold_taps(outbox: list[OutboxItem], ack: OutboxItem, start: int) -> bool:
    """Move the rows queued since ``start`` into ``ack`` when they are only the question
    again (and perhaps a re-prompt); True when folded."""
    new = outbox[start:]
    kinds = [row.payload.get("kind") for row in new]
    if kinds.count("question") != 1 or any(k not in ("question", "reprompt") for k in kinds):
        return False
    question = next(row for row in new if row.payload.get("kind") == "question")
    reprompts = [row.payload.get("text") or "" for row in new
                 if row.payload.get("kind") == "reprompt"]
    ack.payload.update(edit_text=question.payload.get("text"),
                       edit_choices=question.payload.get("choices") or [],
                       edit_layout=question.payload.get("layout") or "list",
                       drop_buttons=False,
                       notice=str(reprompts[-1])[:NOTICE_MAX] if reprompts else None)
    del outbox[start:]
    return True
