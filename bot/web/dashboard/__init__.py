"""The coordinator dashboard at ``/admin`` (login required).

``dashboard_routes(service)`` is mounted by ``bot.web.app.create_app``. Each page family
is one module exposing ``routes(dash)``; ``core.Dashboard`` holds what they share.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from bot.service import ParleyService
from bot.web.dashboard.core import Dashboard

STATIC = Dashboard.static_dir()


def dashboard_routes(service: ParleyService) -> list[BaseRoute]:
    from bot.web.dashboard import (
        audit_page,
        credits,
        events_page,
        findings,
        inbox,
        login,
        media_page,
        overview,
        participants,
        representation_page,
        results,
        rounds,
        simulator,
        suggestions,
        themes_page,
    )

    dash = Dashboard(service)
    routes: list[BaseRoute] = [Mount("/static", StaticFiles(directory=str(STATIC)),
                                     name="static")]
    for module in (login, overview, inbox, rounds, findings, results, participants, credits,
                   events_page, themes_page, representation_page, simulator, audit_page,
                   media_page, suggestions):
        routes.extend(module.routes(dash))

    async def unknown(request: Request) -> Response:
        return dash.not_found(request)

    # last: anything else under /admin needs a login too, then is a plain 404
    routes.append(Route("/{rest:path}", dash.protect(unknown), methods=["GET", "POST"]))
    return [Mount("/admin", routes=routes)]


__all__ = ["Dashboard", "dashboard_routes"]
