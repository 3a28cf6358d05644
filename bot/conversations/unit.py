"""The vocabulary every part of a conversation shares: an ``Inbound`` message, the
``Unit`` of work it becomes, the hooks rounds add, and how an engine output becomes an
outbox payload."""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol

from bot.acks import ack_item
from bot.durations import parse_duration
from bot.engine.io import Choice, Choices, Output
from bot.engine.session import Session
from bot.flows.models import Flow
from bot.store.base import Store
from bot.store.records import (
    Address,
    Changes,
    Channel,
    Invite,
    OutboxItem,
    Participant,
)

InboundKind = Literal["text", "press", "media", "group"]
DELETE_TOKEN, KEEP_TOKEN = "sys.delete", "sys.keep"
"""Button tokens of the DELETE confirmation (flow tokens never start with ``sys.``)."""
FILE_CHANNELS = frozenset({"telegram"})
"""Channels that can carry a file (the ``/mydata`` export)."""
PROFILE_FIELDS = {"preferred_name", "contact_time", "preferred_channel", "payment_preference"}


@dataclass(frozen=True)
class Inbound:
    """A message from a person, already authenticated and stored in the inbox."""

    channel: Channel
    address: str
    received_at: dt.datetime
    text: str = ""
    kind: InboundKind = "text"
    press: str | None = None
    """Button token (Telegram callback data without its prefix)."""
    invite: str | None = None
    """Invite code from a Telegram deep link (``/start <code>``)."""
    inbox_id: int | None = None
    ack: str | None = None
    """The provider's id for answering this input (Telegram's callback query id): every
    press is answered through the outbox (see ``bot.acks``)."""
    source_id: str | None = None
    """The provider's id of our message this input responds to (the pressed question)."""
    media: tuple[dict[str, Any], ...] = ()
    """Voice notes, photos, locations … the message carried (see ``media_replies``)."""


class ConversationHooks(Protocol):
    """What rounds, credits and chat-side coordinator commands add to conversations
    (``bot/rounds/hooks.py``). Each call gets the unit's ``Changes``, so what it writes
    commits with the session change that caused it, or not at all."""

    async def intercept(self, inbound: Inbound) -> bool:
        """Handle a coordinator's command; True when nothing else should happen."""

    async def flow_begun(self, changes: Changes, participant: Participant, session: Session,
                         now: dt.datetime) -> None:
        """A round's flow began for this person (directly or from their queue)."""

    async def flow_queued(self, changes: Changes, participant: Participant, flow_id: str,
                          round_id: str, outcome: str, now: dt.datetime) -> None:
        """A round's flow was queued (``queued``, ``introduced`` or ``unreachable``)."""

    async def answer_given(self, changes: Changes, participant: Participant,
                           session: Session, now: dt.datetime) -> bool:
        """A reply in a round's session; True when it came after the round closed."""

    async def flow_completed(self, changes: Changes, participant: Participant,
                             session: Session, outcome: str, now: dt.datetime) -> None:
        """Any flow reached an end node (credits are earned here)."""


EXPIRE_VAR = "_expire_after"
"""A session variable that lengthens its life beyond the flow's ``expire_after`` (a
round whose close comes later, so late answers can still be kept)."""


def expiry_of(flow: Flow, session: Session) -> dt.timedelta:
    longer = session.vars.get(EXPIRE_VAR)
    if not longer:
        return flow.expiry
    try:
        return max(flow.expiry, parse_duration(longer))
    except ValueError:
        return flow.expiry


def channel_of(address: str) -> Channel:
    if address.startswith("telegram:"):
        return "telegram"
    if address.startswith("tel:"):
        return "sms"
    if address.startswith("whatsapp:"):
        return "whatsapp"
    return "console"


@dataclass
class Unit:
    """What one call accumulates before it commits: the participant, the address
    replied to, and the ``Changes`` written in one transaction."""

    participant: Participant
    address: Address | None
    now: dt.datetime
    changes: Changes = field(default_factory=Changes)
    sessions: dict[str, Session] = field(default_factory=dict)
    late: bool = False
    """The answers in this unit came after the round's close (kept, marked late)."""
    ack: OutboxItem | None = None
    """The answer to the button press being handled (``bot.acks``), if it was one."""
    distress: bool = False
    """A message in this unit matched a safeguarding phrase (``bot.safeguarding``)."""
    stored: tuple[Participant, Address | None] | None = None
    """Copies of the participant and address as read from the store (``read_from_store``):
    the commit rewrites their rows only when they changed. None: written as they are."""

    def read_from_store(self) -> Unit:
        """Note that the participant and address are the store's rows as they stand."""
        p = self.participant
        self.stored = (replace(p, profile=copy.deepcopy(p.profile)),
                       None if self.address is None else replace(self.address))
        return self

    def changed_rows(self) -> tuple[Participant | None, Address | None]:
        """The participant and the address, each None when it is as it was read."""
        if self.stored is None:
            return self.participant, self.address
        participant, address = self.stored
        return (None if participant == self.participant else self.participant,
                None if address == self.address else self.address)

    @classmethod
    def for_inbound(cls, inbound: Inbound, participant: Participant, address: Address,
                    invite: Invite | None, now: dt.datetime) -> Unit:
        """The unit an inbound message opens: it marks the inbox row done, counts the
        invite used to enrol, and answers a button press first of all."""
        unit = cls(participant, address, now)
        unit.changes.participant = participant
        if invite is not None:  # counted in the same unit as the enrolment it makes
            unit.changes.invites_used.append(invite.code)
        if inbound.inbox_id is not None:
            unit.changes.inbox_done.append(inbound.inbox_id)
        unit.ack = ack_item(ack=inbound.ack, source_id=inbound.source_id,
                            participant_id=participant.id, address=address.address,
                            channel=address.channel, now=now)
        if unit.ack is not None:  # first, so the press is answered before any reply
            unit.changes.outbox.append(unit.ack)
        return unit

    def reply(self, output: Output, session: Session | None = None) -> None:
        assert self.address is not None
        self.changes.outbox.append(OutboxItem(
            participant_id=self.participant.id, address=self.address.address,
            channel=self.address.channel, payload=payload_of(output, session),
            created_at=self.now, not_before=self.now,
            round_id=session.round_id if session else None,
        ))


def choice_dicts(choices: Sequence[Choice]) -> list[dict[str, Any]]:
    """Each button's entry in an outbox payload; a question's ``Choices`` makes them
    straight from its buttons, without a ``Choice`` each on the way."""
    if isinstance(choices, Choices):
        return choices.dicts()
    return [{"key": key, "label": label, "value": value, "token": token}
            for key, label, value, token in choices]


def payload_of(output: Output, session: Session | None) -> dict[str, Any]:
    """The outbox form of an engine output: everything a channel needs to send it."""
    return {
        "text": output.text, "plain": output.plain, "kind": output.kind, "node": output.node,
        "layout": output.layout, "long_ok": output.long_ok,
        "choices": choice_dicts(output.choices),
        "session_id": session.id if session else None,
        "flow_id": session.flow_id if session else None,
    }


async def address_for(store: Store, p: Participant, wanted: str | None) -> Address | None:
    """The address to write to: the one asked for, else the preferred channel's, else
    any that is neither opted out nor unreachable."""
    addresses = [a for a in await store.addresses_of(p.id)
                 if not a.opted_out and not a.unreachable]
    if wanted is not None:
        return next((a for a in addresses if a.address == wanted), None)
    addresses.sort(key=lambda a: (a.channel != p.preferred_channel, a.created_at))
    return addresses[0] if addresses else None
