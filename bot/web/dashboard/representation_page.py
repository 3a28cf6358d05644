"""Representativeness on every dimension with a target: who answers, against the mix
the project meant to hear from (``[representation.targets.*]``; cohort targets are
also set on the overview page)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bot.representation import dimension_rows
from bot.web.dashboard.core import Dashboard
from bot.web.dashboard.stats import representation


def routes(dash: Dashboard) -> list[BaseRoute]:
    async def page(request: Request) -> Response:
        config = dash.service.runtime.config
        rows = await dimension_rows(dash.store, config, await dash.store.rounds_all())
        tables = {dim: representation(r, config.representation.tolerance)
                  for dim, r in rows.items()}
        return dash.html(request, "representation.html", title="Representation",
                         active="representation", tables=tables,
                         tolerance=config.representation.tolerance)

    return [Route("/representation", dash.protect(page))]
