"""Acknowledging an input on the channel it came from: the answer to a button press.

A Telegram client shows a spinner on a pressed button until the bot answers the
callback query, and a question whose buttons stay live invites a second press. So every
press gets an ``press_ack`` outbox row, written in the same transaction as whatever the
press caused (and before the next question, so it is sent first). It is durable like any
message: a crash between the press and its answer still answers it after the restart
(as long as Telegram still accepts the answer), and it is never sent twice by accident
(answering and editing are both harmless to repeat).

The row says what to do, in channel-neutral terms the Telegram transport carries out:

- ``ack``: the provider's id of the press (Telegram's ``callback_query.id``);
- ``source_id``: the provider's id of *our* message whose button was pressed;
- ``notice``: a short text to show on the button (e.g. "That question has closed"), or
  None for a silent answer;
- ``edit_text``: the question's new text, showing the answer chosen, its buttons removed;
- ``drop_buttons``: remove the buttons of that message without changing its text (a
  stale question).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from bot.store.records import OutboxItem

PRESS_ACK = "press_ack"


def ack_payload(ack: str, source_id: str | None) -> dict[str, Any]:
    """A silent answer; callers fill in ``notice``, ``edit_text`` or ``drop_buttons``."""
    return {"kind": PRESS_ACK, "ack": ack, "source_id": source_id, "notice": None,
            "edit_text": None, "drop_buttons": False,
            # what every outbox payload has, so listings and exports need no special case
            "text": "", "plain": "", "choices": [], "layout": "list", "node": None,
            "long_ok": False, "session_id": None, "flow_id": None}


def ack_item(*, ack: str | None, source_id: str | None, participant_id: str, address: str,
             channel: Any, now: dt.datetime) -> OutboxItem | None:
    """The outbox row answering a press, or None when the input was not a press."""
    if not ack:
        return None
    return OutboxItem(participant_id=participant_id, address=address, channel=channel,
                      payload=ack_payload(ack, source_id), created_at=now, not_before=now)
