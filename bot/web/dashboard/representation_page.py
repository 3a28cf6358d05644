"""Representativeness on every dimension with a target: who answers, against the mix
the project meant to hear from (``[representation.targets.*]``; cohort targets are
also set on the overview page)."""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from bot.errors import ParleyError
from bot.representation import dimension_rows
from bot.stats import representation
from bot.web.dashboard.core import Dashboard, form_text

DIMENSION = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


def parse_targets(text: str) -> dict[str, float]:
    """``"18-34 = 40"`` per line → ``{"18-34": 40.0}``; ParleyError naming the line."""
    out: dict[str, float] = {}
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        value, sep, share = line.rpartition("=")
        try:
            number = float(share)
        except ValueError:
            number = -1.0
        if not sep or not value.strip() or not 0 <= number <= 100:
            raise ParleyError(f"line {n}: write 'value = percent' (0 to 100), not "
                              f"'{line.strip()[:40]}'")
        out[value.strip()[:80]] = number
    return out


def routes(dash: Dashboard) -> list[BaseRoute]:
    async def page(request: Request) -> Response:
        config = dash.service.runtime.config
        rows = await dimension_rows(dash.store, config, await dash.store.rounds_all())
        tables = {dim: representation(r, config.representation.tolerance)
                  for dim, r in rows.items()}
        return dash.html(request, "representation.html", title="Representation",
                         active="representation", tables=tables,
                         tolerance=config.representation.tolerance,
                         done=request.query_params.get("done", ""))

    async def save(request: Request) -> Response:
        dimension = await form_text(request, "dimension")
        try:
            if not DIMENSION.match(dimension):
                raise ParleyError("the dimension is a profile field name, e.g. age_band")
            targets = parse_targets(await form_text(request, "targets"))
        except ParleyError as exc:
            return dash.html(request, "error.html", status=400, title="Not saved",
                             message=str(exc))
        if dimension == "cohort":
            await dash.store.set_cohort_targets(targets)
        else:
            await dash.store.set_representation_targets(dimension, targets)
        await dash.audit(request, "targets.set", dimension,
                         targets={k: str(v) for k, v in targets.items()})
        return RedirectResponse(f"/admin/representation?done={dimension}#dim-{dimension}",
                                status_code=303)

    return [Route("/representation", dash.protect(page)),
            Route("/representation/targets", dash.protect(save), methods=["POST"])]
