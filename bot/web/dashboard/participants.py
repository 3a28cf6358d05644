"""Participants: search, profile, consent history, credits, export and erase.

Phone numbers are masked unless the coordinator asks to reveal them (an audited action).
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from bot.credits.ledger import balances
from bot.people import mask_phone
from bot.privacy import export_participant
from bot.store.records import Address, Participant
from bot.store.round_records import CENTS
from bot.web.dashboard.core import Dashboard, form_text

PAGE = 100


def address_status(address: Address) -> str:
    if address.opted_out:
        return "opted out"
    if address.unreachable:
        return "unreachable"
    return "active"


def matches(p: Participant, addresses: list[Address], query: str) -> bool:
    """Search by id, name, preferred name, cohort, tag, or the digits of a number."""
    q = query.strip().lower()
    if not q:
        return True
    hay = [p.id, p.name or "", str(p.profile.get("preferred_name") or ""), p.cohort or "",
           *p.tags, p.status]
    if any(q in h.lower() for h in hay):
        return True
    digits = "".join(ch for ch in q if ch.isdigit())
    return len(digits) >= 4 and any(digits in a.address for a in addresses)


def mask_address(address: str) -> str:
    """Phone numbers and Telegram chat ids both identify people: show only their ends."""
    if address.startswith("telegram:"):
        chat = address.split(":", 1)[1]
        return f"telegram:{'•' * max(len(chat) - 2, 1)}{chat[-2:]}"
    return mask_phone(address)


def shown(address: str, reveal: bool) -> str:
    return address if reveal else mask_address(address)


async def reveal_requested(request: Request) -> bool:
    """Full numbers only for a POST whose form says ``reveal=1``."""
    if request.method != "POST":
        return False
    return await form_text(request, "reveal") == "1"


class Participants:
    def __init__(self, dash: Dashboard) -> None:
        self.dash = dash

    async def index(self, request: Request) -> Response:
        store = self.dash.store
        query = request.query_params.get("q", "")
        reveal = await reveal_requested(request)
        by_person: dict[str, list[Address]] = {}
        for a in await store.addresses_all():
            by_person.setdefault(a.participant_id, []).append(a)
        people = await store.list_participants()
        found = [p for p in people if matches(p, by_person.get(p.id, []), query)]
        if reveal:
            await self.dash.audit(request, "participants.reveal_numbers", "list")
        rows = [{"p": p, "addresses": [(shown(a.address, reveal), a.channel, address_status(a))
                                       for a in by_person.get(p.id, [])]}
                for p in found[:PAGE]]
        return self.dash.html(request, "participants.html", title="Participants",
                              active="participants", rows=rows, query=query, reveal=reveal,
                              total=len(people), matched=len(found), page=PAGE,
                              done=request.query_params.get("done", ""))

    async def _person(self, request: Request) -> Participant | None:
        p = await self.dash.store.get_participant(request.path_params["pid"])
        return None if p is None or p.status == "erased" else p

    async def profile(self, request: Request) -> Response:
        p = await self._person(request)
        if p is None:
            return self.dash.not_found(request, "That participant")
        store = self.dash.store
        reveal = await reveal_requested(request)
        if reveal:
            await self.dash.audit(request, "participant.reveal_numbers", p.id)
        addresses = [(shown(a.address, reveal), a) for a in await store.addresses_of(p.id)]
        ledger = await store.ledger(participant_id=p.id)
        balance = sum(e.amount for e in ledger) / CENTS
        # the credits page's "owed" (payable, in no payout batch yet): one figure everywhere
        mine = (await balances(store)).get(p.id)
        payable = (mine.owed if mine else 0) / CENTS
        paid = (mine.paid if mine else 0) / CENTS
        sessions = await store.sessions_of(p.id)
        answers = await store.answers(participant_id=p.id)
        return self.dash.html(
            request, "participant.html", title="Participant", active="participants", p=p,
            addresses=addresses, status_of=address_status, reveal=reveal,
            consents=await store.consents_of(p.id), ledger=ledger, balance=balance,
            payable=payable, paid=paid, cents=CENTS, sessions=sessions, answer_count=len(answers),
            profile=sorted((k, v) for k, v in p.profile.items()))

    async def export(self, request: Request) -> Response:
        p = await self._person(request)
        if p is None:
            return self.dash.not_found(request, "That participant")
        data: dict[str, Any] = await export_participant(self.dash.store, p.id)
        await self.dash.audit(request, "participant.export", p.id)
        return Response(json.dumps(data, ensure_ascii=False, indent=2),
                        media_type="application/json; charset=utf-8",
                        headers={"Content-Disposition":
                                 f'attachment; filename="participant-{p.id}.json"',
                                 "Cache-Control": "no-store"})

    async def erase(self, request: Request) -> Response:
        p = await self._person(request)
        if p is None:
            return self.dash.not_found(request, "That participant")
        typed = await form_text(request, "confirm")
        if typed != p.id:
            return self.dash.html(
                request, "error.html", status=400, title="Not erased",
                message=f"To erase, type the participant's id ({p.id}) exactly. "
                        "Nothing was changed.")
        await self.dash.store.erase_participant(p.id, self.dash.now())
        await self.dash.audit(request, "participant.erase", p.id)
        return RedirectResponse("/admin/participants?done=erased", status_code=303)


def routes(dash: Dashboard) -> list[BaseRoute]:
    page = Participants(dash)
    # GET shows numbers masked; revealing them is a POST (CSRF-checked, audited), so a
    # link, a prefetch or a crawler cannot write to the audit log or show a number
    return [Route("/participants", dash.protect(page.index), methods=["GET", "POST"]),
            Route("/participants/{pid}", dash.protect(page.profile),
                  methods=["GET", "POST"]),
            Route("/participants/{pid}/export.json", dash.protect(page.export)),
            Route("/participants/{pid}/erase", dash.protect(page.erase), methods=["POST"])]
