"""What one unit of work commits: its changes, completed just before the transaction."""

from __future__ import annotations

from collections.abc import Iterable

from bot.conversations.attribution import attribute_to_waiting_round
from bot.conversations.bundle import bundle
from bot.conversations.unit import Unit
from bot.store.base import Store
from bot.store.records import Changes


async def staged(unit: Unit, store: Store, pathway_flows: Iterable[str]) -> Changes:
    """``unit.changes`` made ready to apply: messages attributed to the round waiting for
    the person, bundled for rich channels, the unit's sessions, and the participant and
    address rows only where the turn changed them."""
    changes = unit.changes
    pid = unit.participant.id  # introductions and consent count to the waiting round
    await attribute_to_waiting_round(changes.outbox, unit.sessions,
                                     {*pathway_flows, "consent"}, changes.queue_push,
                                     lambda: store.queued_flows(pid))
    changes.outbox = bundle(changes.outbox)  # one message, not five, on rich channels
    sessions = list(unit.sessions.values())
    if sessions:
        changes.session, changes.more_sessions = sessions[0], sessions[1:]
    if unit.address is not None and unit.participant.status != "erased":
        # rows as they were read are not written again (two statements a turn)
        participant, address = unit.changed_rows()
        if address is not None and not any(a.address == address.address
                                           for a in changes.addresses):
            changes.addresses.append(address)
        changes.participant = participant
    return changes
