"""Events: each with its places, waiting list, maybes, declines and attendance, and the
time bank's pending SPEND requests (decided with ``parley timebank confirm|decline``)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from bot.credits.ledger import credits_text
from bot.errors import ParleyError
from bot.events.rsvp import when_text
from bot.events.service import EventService
from bot.timebank.hours import hours_text
from bot.timebank.service import TimeBank
from bot.web.dashboard.core import Dashboard, form_text
from bot.wiring import round_service


def routes(dash: Dashboard) -> list[BaseRoute]:
    async def page(request: Request) -> Response:
        rt = dash.service.runtime
        events = EventService(rt.conversations, round_service(rt.conversations))
        tz = rt.config.schedule.timezone
        rows = [{"n": n, "when": when_text(n.event, tz),
                 "credits": credits_text(n.event.credits),
                 "hours": hours_text(n.event.minutes)} for n in await events.table()]
        pending = await dash.store.spend_requests(status="pending")
        return dash.html(request, "events.html", title="Events", active="events",
                         rows=rows, pending=pending, hours_text=hours_text,
                         time_bank=rt.config.credits.time_bank,
                         done=request.query_params.get("done", ""))

    async def decide(request: Request) -> Response:
        """Confirm or decline a SPEND request (the person is told either way)."""
        rt = dash.service.runtime
        confirm = request.path_params["action"] == "confirm"
        try:
            done = await TimeBank(rt.store, rt.renderer, rt.config).decide(
                int(request.path_params["rid"]), confirm, str(request.state.dashboard.email),
                dash.now(), await form_text(request, "reason"))
        except (ParleyError, ValueError) as exc:
            return dash.html(request, "error.html", status=400, title="Not decided",
                             message=str(exc))
        dash.service.wake_senders()
        return RedirectResponse(f"/admin/events?done={done.status}#spend-requests",
                                status_code=303)

    return [Route("/events", dash.protect(page)),
            Route("/timebank/{rid:int}/{action:str}", dash.protect(decide),
                  methods=["POST"])]
