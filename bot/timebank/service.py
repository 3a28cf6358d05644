"""Coordinators' side of the time bank: offers, and deciding SPEND requests.

Confirming writes the spend to the hour ledger, marks the request and queues the
person's confirmation in one transaction; a request already decided (by someone else,
a moment ago) is refused with a clear error instead of being spent twice.
"""

from __future__ import annotations

import datetime as dt
import re

from bot.config import Config
from bot.errors import ParleyError, StoreError
from bot.i18n.renderer import Renderer
from bot.notify import notice
from bot.store.base import Store
from bot.store.records import Changes
from bot.store.round_records import AuditEntry
from bot.store.rounds_base import StaleWrite
from bot.store.timebank import HourEntry, Offer, SpendDecision, SpendRequest
from bot.timebank.hours import hour_balance, hours_text, spend_entry, to_minutes

CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,15}$")


class TimeBank:
    def __init__(self, store: Store, renderer: Renderer, config: Config) -> None:
        self.store, self.renderer, self.config = store, renderer, config

    def _on(self) -> None:
        if not self.config.credits.time_bank:
            raise ParleyError("the time bank is off: set [credits] time_bank = true")

    async def add_offer(self, code: str, title: str, hours: str, description: str,
                        actor: str, now: dt.datetime) -> Offer:
        self._on()
        if not CODE.match(code):
            raise ParleyError(f"--code '{code}': 1-16 letters, digits, - or _ (it is what "
                              "people reply, e.g. SPEND 2 SWIM)")
        if not title.strip():
            raise ParleyError("--title must not be empty")
        minutes = to_minutes(hours)
        if minutes <= 0:
            raise ParleyError(f"--hours must be more than 0, not {hours}")
        offer = Offer(code.upper(), title.strip(), minutes, now, description.strip(), actor)
        try:
            await self.store.offer_add(offer)
        except StoreError as exc:
            raise ParleyError(str(exc)) from exc
        await self._audit(actor, "timebank.offer_add", offer.code, now,
                          title=offer.title, hours=hours_text(minutes))
        return offer

    async def retire(self, code: str, actor: str, now: dt.datetime) -> None:
        if not await self.store.offer_retire(code.upper(), now):
            raise ParleyError(f"no active offer '{code}' (see: parley timebank offers list)")
        await self._audit(actor, "timebank.offer_retire", code.upper(), now)

    async def _pending(self, request_id: int) -> tuple[SpendRequest, Offer | None]:
        request = await self.store.spend_request(request_id)
        if request is None:
            raise ParleyError(f"no spend request {request_id}")
        if request.status != "pending":
            raise ParleyError(f"request {request_id} was already {request.status}")
        offers = {o.code: o for o in await self.store.offers(include_retired=True)}
        return request, offers.get(request.offer_code)

    async def decide(self, request_id: int, confirm: bool, actor: str, now: dt.datetime,
                     reason: str = "") -> SpendRequest:
        """Confirm (spend the hours) or decline (release them) and tell the person."""
        self._on()
        if not confirm and not reason.strip():
            raise ParleyError("--reason is required: the person is told why")
        request, offer = await self._pending(request_id)
        changes = Changes(spend_decisions=[SpendDecision(
            request_id, "confirmed" if confirm else "declined", now, actor, reason.strip())])
        balance = await hour_balance(self.store, request.participant_id)
        left = balance.available + (0 if confirm else request.minutes)
        if confirm:
            changes.hours.append(spend_entry(request, now, actor))
        person = await self.store.get_participant(request.participant_id)
        if person is not None:
            item = await notice(
                self.store, self.renderer, self.config, person,
                "timebank.spend_confirmed" if confirm else "timebank.spend_declined", now,
                hours=hours_text(request.minutes), available=hours_text(left),
                title=offer.title if offer else request.offer_code, reason=reason.strip())
            if item is not None:
                changes.outbox.append(item)
        try:
            await self.store.apply(changes)
        except StaleWrite as exc:
            raise ParleyError(f"request {request_id} was decided by someone else just now"
                              ) from exc
        await self._audit(actor, "timebank.confirm" if confirm else "timebank.decline",
                          str(request_id), now, hours=hours_text(request.minutes),
                          offer=request.offer_code)
        request.status = "confirmed" if confirm else "declined"
        return request

    async def _audit(self, actor: str, action: str, subject: str, now: dt.datetime,
                     **detail: str) -> None:
        await self.store.audit_add(AuditEntry(now, actor or "unknown", action, subject,
                                              dict(detail)))


async def adjust_hours(store: Store, participant_id: str, hours: str, note: str, actor: str,
                       now: dt.datetime) -> HourEntry:
    """A manual correction (positive or negative) with a note: a new ledger row, never an
    edit of an old one."""
    if await store.get_participant(participant_id) is None:
        raise ParleyError(f"no participant '{participant_id}'")
    if not note.strip():
        raise ParleyError("--note is required: say why the hours change")
    minutes = to_minutes(hours)
    if minutes == 0:
        raise ParleyError("HOURS must not be zero")
    entry = HourEntry(participant_id, now, minutes, "adjustment", note=note.strip(),
                      actor=actor, source="adjustment")
    await store.apply(Changes(hours=[entry]))
    await store.audit_add(AuditEntry(now, actor or "unknown", "timebank.adjust",
                                     participant_id, {"hours": hours_text(minutes),
                                                      "note": note.strip()}))
    return entry
