"""The audit log: every coordinator action, from the dashboard, the CLI and Telegram."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bot.web.dashboard.core import Dashboard


def routes(dash: Dashboard) -> list[BaseRoute]:
    async def page(request: Request) -> Response:
        entries = await dash.store.audit_log(limit=300)
        return dash.html(request, "audit.html", title="Audit log", active="audit",
                         entries=entries)

    return [Route("/audit", dash.protect(page))]
