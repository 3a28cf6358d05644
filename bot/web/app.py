"""One Starlette app for every HTTP route of ``parley serve``."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp

from bot.plain_http import PlainEndpoint
from bot.service import ParleyService
from bot.web.api.routes import api_routes
from bot.web.dashboard import dashboard_routes
from bot.web.edge import HttpEdge

log = logging.getLogger("parley.web")


def create_app(service: ParleyService, *, manage_lifecycle: bool = True) -> ASGIApp:
    async def healthz(request: Request) -> Response:
        ok, problem = await service.health()
        if ok:
            return JSONResponse({"status": "ok"})
        return JSONResponse({"status": "unavailable", "reason": problem}, status_code=503)

    async def metrics(request: Request) -> Response:
        gauges = {}
        try:
            pending: dict[tuple[tuple[str, str], ...], float] = {}
            for channel in service.senders:
                due = await service.runtime.store.outbox_all(status="pending")
                pending[(("channel", channel),)] = float(sum(1 for i in due
                                                             if i.channel == channel))
            gauges["parley_outbox_pending"] = pending
            gauges["parley_store_up"] = {(): 1.0}
        except Exception:  # the store being down must not take /metrics with it
            gauges["parley_store_up"] = {(): 0.0}
        return PlainTextResponse(service.metrics.render(gauges),
                                 media_type="text/plain; version=0.0.4")

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if manage_lifecycle:
            await service.start()
        try:
            yield
        finally:
            if manage_lifecycle:
                await service.stop()

    routes = [Route("/healthz", healthz), Route("/metrics", metrics), *service.routes(),
              *dashboard_routes(service), *api_routes(service)]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.service = service
    server = service.runtime.config.server
    return HttpEdge(app, limit=server.max_body_bytes, read_timeout=server.read_timeout,
                    https=server.public_url.lower().startswith("https://"),
                    direct=webhooks(routes))


def webhooks(routes: list[BaseRoute]) -> dict[str, ASGIApp]:
    """The POST-only routes answered over plain ASGI (``bot.plain_http``), by path."""
    return {route.path: route.endpoint for route in routes
            if isinstance(route, Route) and isinstance(route.endpoint, PlainEndpoint)
            and route.methods is not None and route.methods <= {"POST", "HEAD"}}
