"""The coordinators' inbox: what needs a human, each person's whole thread, replies.

- ``/admin/attention``: "Needs attention" — safeguarding items nobody acknowledged
  first, then HELP, messages outside a flow and late replies; ``?show=done`` for the
  closed ones. The navigation shows how many are open.
- ``/admin/attention/{id}``: one item with the person's thread, acknowledge, mark
  done, and a reply box.
- ``/admin/participants/{pid}/thread``: a person's conversation, in and out, with each
  message's delivery status, and the reply box.

Replies go through the outbox on the person's channel and wait for the end of their
quiet hours unless the coordinator ticks "send now"; acknowledging, closing and
replying are audited (``bot.safeguarding.desk``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from bot.safeguarding.alerts import LABELS
from bot.safeguarding.desk import AttentionError, Desk
from bot.store.attention import AttentionItem
from bot.store.records import Participant
from bot.web.dashboard.core import Dashboard, form_text

HIDDEN_KINDS = ("press_ack",)
"""Outbox rows that are not messages a person reads (a button's spinner stopping)."""


@dataclass
class Entry:
    at: dt.datetime
    direction: str  # "in" or "out"
    text: str
    note: str = ""


def _status(row_status: str, delivery: str | None, not_before: dt.datetime,
            now: dt.datetime) -> str:
    if row_status == "pending" and not_before > now:
        return "held for quiet hours"
    if delivery:
        return f"{row_status} · {delivery}"
    return row_status


async def thread(dash: Dashboard, p: Participant) -> list[Entry]:
    """Everything exchanged with one person, oldest first. What they wrote comes from
    their answers and inbox items (the inbox itself keeps no text once processed)."""
    store, now = dash.store, dash.now()
    items = await store.attention_list(participant_id=p.id)
    entries = [Entry(i.created_at, "in", i.text, LABELS[i.kind]) for i in items]
    seen = {(i.created_at, i.text) for i in items}
    for a in await store.answers(participant_id=p.id):
        if a.raw is not None and (a.at, a.raw) not in seen:
            entries.append(Entry(a.at, "in", a.raw, f"answer in {a.flow_id}"
                                 + (" (late)" if a.late else "")))
    for o in await store.outbox_of(p.id):
        kind = str(o.payload.get("kind", ""))
        text = str(o.payload.get("plain") or o.payload.get("text") or "")
        if kind in HIDDEN_KINDS or not text:
            continue
        note = _status(o.status, o.delivery_status, o.not_before, now)
        if kind == "coordinator_reply":
            note = "from the team · " + note
        entries.append(Entry(o.created_at, "out", text, f"{o.channel} · {note}"))
    entries.sort(key=lambda e: (e.at, e.direction == "out"))
    return entries


class Inbox:
    def __init__(self, dash: Dashboard) -> None:
        self.dash = dash

    @property
    def desk(self) -> Desk:
        runtime = self.dash.service.runtime
        return Desk(store=runtime.store, config=runtime.config, clock=runtime.clock)

    def _actor(self, request: Request) -> str:
        session = getattr(request.state, "dashboard", None)
        return session.email if session is not None else "dashboard"

    async def index(self, request: Request) -> Response:
        show = request.query_params.get("show", "open")
        items = await self.dash.store.attention_list()
        if show == "done":
            items = [i for i in items if i.status == "done"]
        else:
            items = [i for i in items if i.status != "done"]
        # safeguarding nobody has acknowledged first, then newest first
        items.sort(key=lambda i: (not (i.kind == "distress" and i.acked_at is None),
                                  -(i.id or 0)))
        people = {i.participant_id: await self.dash.store.get_participant(i.participant_id)
                  for i in items}
        return self.dash.html(request, "inbox.html", title="Needs attention",
                              active="attention", items=items, people=people, show=show,
                              labels=LABELS, name_of=name_of)

    async def _item(self, request: Request) -> AttentionItem | None:
        try:
            return await self.dash.store.attention_get(int(request.path_params["item"]))
        except ValueError:
            return None

    async def item(self, request: Request) -> Response:
        item = await self._item(request)
        if item is None:
            return self.dash.not_found(request, "That inbox item")
        return await self._thread_page(request, item.participant_id, item)

    async def person(self, request: Request) -> Response:
        return await self._thread_page(request, request.path_params["pid"], None)

    async def _thread_page(self, request: Request, pid: str,
                           item: AttentionItem | None) -> Response:
        p = await self.dash.store.get_participant(pid)
        if p is None:
            return self.dash.not_found(request, "That participant")
        return self.dash.html(
            request, "thread.html", title="Conversation", active="attention", p=p, item=item,
            entries=[] if p.status == "erased" else await thread(self.dash, p),
            labels=LABELS, name_of=name_of, sent=request.query_params.get("sent", ""),
            error=request.query_params.get("error", ""))

    async def act(self, request: Request) -> Response:
        item = await self._item(request)
        if item is None or item.id is None:
            return self.dash.not_found(request, "That inbox item")
        action = request.path_params["action"]
        if action == "ack":
            await self.desk.ack(item.id, self._actor(request), via="dashboard")
        elif action == "done":
            await self.desk.done(item.id, self._actor(request), via="dashboard")
        else:
            return self.dash.not_found(request)
        return RedirectResponse(f"/admin/attention/{item.id}", status_code=303)

    async def reply(self, request: Request) -> Response:
        pid = request.path_params["pid"]
        text = await form_text(request, "text")
        now_anyway = await form_text(request, "now") == "1"
        raw_item = await form_text(request, "item")
        item_id = int(raw_item) if raw_item.isdigit() else None
        back = f"/admin/attention/{item_id}" if item_id else f"/admin/participants/{pid}/thread"
        try:
            sent = await self.desk.reply(pid, text, self._actor(request),
                                         override_quiet=now_anyway, item_id=item_id)
        except AttentionError as exc:
            return self.dash.html(request, "error.html", status=400, title="Not sent",
                                  message=f"{exc}. Nothing was sent.")
        held = "held" if sent.not_before > sent.created_at else "queued"
        return RedirectResponse(f"{back}?sent={held}", status_code=303)


def name_of(p: Participant | None, pid: str) -> str:
    if p is None:
        return pid
    return str(p.profile.get("preferred_name") or p.name or pid)


def routes(dash: Dashboard) -> list[BaseRoute]:
    page = Inbox(dash)
    return [Route("/attention", dash.protect(page.index)),
            Route("/attention/{item}", dash.protect(page.item)),
            Route("/attention/{item}/{action}", dash.protect(page.act), methods=["POST"]),
            Route("/participants/{pid}/thread", dash.protect(page.person)),
            Route("/participants/{pid}/reply", dash.protect(page.reply), methods=["POST"])]
