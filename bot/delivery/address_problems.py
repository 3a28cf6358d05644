"""What a provider's answer says about an address, and what that does to it: the one
place for the rule, used by the outbox (when a send is refused) and by the webhooks
(when a delivery report comes back).

- Twilio 21610 (the person texted STOP at the carrier): the address is opted out, as if
  they had sent STOP to us; START undoes it.
- A refusal that says the number or chat cannot receive messages (Twilio 21211, 21614,
  21612 on sending; 30005, 30006 on delivery; Telegram 403, the bot was blocked;
  WhatsApp's "not on WhatsApp"): the address is unreachable, with the reason, and
  rounds use another address of the person.
- Anything else (30003, a phone switched off) says nothing about the address.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from bot.store.queues import AddressBook
from bot.store.records import Address, Changes, EventRow

OPTED_OUT = 21610
UNREACHABLE_ON_DELIVERY = {30005: "unknown destination handset (30005)",
                           30006: "landline or unreachable carrier (30006)"}
"""Delivery errors that say the number cannot receive texts (30003, phone off, can)."""


@dataclass(frozen=True)
class OptedOutAtCarrier:
    """The person opted out with their carrier (Twilio 21610)."""

    at: dt.datetime


@dataclass(frozen=True)
class Unreachable:
    """The number or chat cannot receive our messages."""

    reason: str


AddressProblem = OptedOutAtCarrier | Unreachable


def on_send(code: int | None, reason: str, now: dt.datetime) -> AddressProblem:
    """A send refused with ``Unreachable(reason, code)`` (see ``bot.errors``)."""
    return OptedOutAtCarrier(now) if code == OPTED_OUT else Unreachable(reason)


def on_delivery(code: int, now: dt.datetime,
                unreachable: dict[int, str] | None = None) -> AddressProblem | None:
    """A delivery report's error code; ``unreachable`` adds a channel's own codes
    (WhatsApp's "not on WhatsApp") to the SMS ones."""
    if code == OPTED_OUT:
        return OptedOutAtCarrier(now)
    reason = {**UNREACHABLE_ON_DELIVERY, **(unreachable or {})}.get(code)
    return Unreachable(reason) if reason is not None else None


def apply(address: Address, problem: AddressProblem) -> None:
    if isinstance(problem, OptedOutAtCarrier):
        address.opted_out = True
        address.opted_out_at = address.opted_out_at or problem.at
    else:
        address.unreachable, address.unreachable_reason = True, problem.reason


async def mark(store: AddressBook, address_text: str, problem: AddressProblem | None) -> bool:
    """Record ``problem`` on the stored address; False if there is no problem or no
    such address (erased since)."""
    if problem is None:
        return False
    address = await store.get_address(address_text)
    if address is None:
        return False
    was_out = address.opted_out
    apply(address, problem)
    await store.apply(Changes(addresses=[address],
                              events=await _opt_out_event(store, address, problem, was_out)))
    return True


async def _opt_out_event(store: AddressBook, address: Address, problem: AddressProblem,
                         was_out: bool) -> list[EventRow]:
    """``OptedOutAtCarrier`` in the events (and so ``participant.opted_out`` webhooks),
    kept like every event only for someone who consented."""
    if not isinstance(problem, OptedOutAtCarrier) or was_out:
        return []
    person = await store.get_participant(address.participant_id)
    if person is None or person.status != "consented":
        return []
    return [EventRow(person.id, None, "OptedOutAtCarrier",
                     {"address_channel": address.channel}, problem.at)]
