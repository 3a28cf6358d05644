"""Events: each with its places, waiting list, maybes, declines and attendance, and the
time bank's pending SPEND requests (decided with ``parley timebank confirm|decline``)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bot.credits.ledger import credits_text
from bot.events.rsvp import when_text
from bot.events.service import EventService
from bot.rounds.wiring import round_service
from bot.timebank.hours import hours_text
from bot.web.dashboard.core import Dashboard


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
                         time_bank=rt.config.credits.time_bank)

    return [Route("/events", dash.protect(page))]
