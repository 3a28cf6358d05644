"""OFFERS, SPEND <hours> <offer> and (with the time bank on) BALANCE.

``SPEND 2 SWIM`` asks to spend 2 hours on the offer coded SWIM (or named "Swim", or
number 1 in the OFFERS list). The hours are held until a coordinator confirms or
declines (``parley timebank confirm|decline``); asking twice with the same message is
one request (keyed by the inbound message).
"""

from __future__ import annotations

from bot.credits.ledger import balance_of
from bot.keyword_handlers import KeywordCall, register
from bot.store.timebank import Offer, SpendRequest
from bot.timebank.hours import hour_balance, hours_text, to_minutes


def find_offer(offers: list[Offer], wanted: str) -> Offer | None:
    """By code, then by title (any case), then by its number in the OFFERS list."""
    word = wanted.strip().strip(".!").casefold()
    for offer in offers:
        if word in (offer.code.casefold(), offer.title.casefold()):
            return offer
    if word.isdigit() and 1 <= int(word) <= len(offers):
        return offers[int(word) - 1]
    return None


@register("offers")
async def offers(call: KeywordCall) -> bool:
    if not call.config.credits.time_bank:
        return False
    listed = await call.store.offers()
    balance = await hour_balance(call.store, call.participant.id)
    if not listed:
        call.say("timebank.offers_none", hours=hours_text(balance.available))
        return True
    lines = "\n".join(f"{n} {o.code}: {o.title}, {hours_text(o.minutes)}h"
                      for n, o in enumerate(listed, 1))
    call.say("timebank.offers", hours=hours_text(balance.available), lines=lines,
             example=listed[0].code, cost=hours_text(listed[0].minutes))
    return True


@register("spend")
async def spend(call: KeywordCall) -> bool:
    if not call.config.credits.time_bank or len(call.args) != 2:
        return False
    minutes = to_minutes(call.args[0])
    offer = find_offer(await call.store.offers(), call.args[1])
    if offer is None:
        call.say("timebank.spend_unknown", code=call.args[1][:30])
        return True
    if minutes <= 0 or minutes % offer.minutes:
        call.say("timebank.spend_multiple", title=offer.title, code=offer.code,
                 cost=hours_text(offer.minutes))
        return True
    balance = await hour_balance(call.store, call.participant.id)
    if minutes > balance.available:
        call.say("timebank.spend_short", hours=hours_text(minutes),
                 available=hours_text(balance.available))
        return True
    call.changes.spend_requests.append(SpendRequest(
        call.participant.id, offer.code, minutes, minutes // offer.minutes, call.now,
        key=call.key))
    call.say("timebank.spend_asked", hours=hours_text(minutes), title=offer.title)
    return True


@register("balance", when=lambda config: config.credits.time_bank)
async def balance(call: KeywordCall) -> bool:
    """Both currencies in one message (only with the time bank on)."""
    credits = await balance_of(call.store, call.participant.id)
    hours = await hour_balance(call.store, call.participant.id)
    call.say("timebank.balance", balance=credits, credit_unit=call.config.credits.unit,
             hours=hours_text(hours.available), held=hours_text(hours.held)
             if hours.held else "")
    return True


__all__ = ["find_offer"]
