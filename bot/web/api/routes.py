"""``/api/v1``: participants, rounds, answers and findings for a bearer token.

Rounds go through ``bot.rounds.service.RoundService`` exactly as ``parley rounds
create|start|status`` do, so the audit log shows ``api:<token name>`` the way it shows
``cli:<user>``. Errors are JSON (``bot.web.api.errors``); a read token sees contact
details masked (``bot.web.api.views``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from bot.agenda.round_vars import round_vars
from bot.errors import ParleyError, StoreError
from bot.rounds.service import RoundService
from bot.service import ParleyService
from bot.store.api_tokens import ApiStore, ApiToken, Scope, api_store
from bot.store.round_records import Round
from bot.text_hygiene import loads_bounded
from bot.web.api.errors import ApiError
from bot.web.api.models import (
    AnswerPage,
    FindingList,
    ParticipantList,
    RoundCreate,
    RoundList,
    RoundStarted,
)
from bot.web.api.openapi import document
from bot.web.api.tokens import authenticate
from bot.web.api.views import answer_out, answers_csv, finding_out, participant_out, round_out
from bot.wiring import round_service

Handler = Callable[[Request, ApiToken], Awaitable[Response]]
MAX_LIMIT = 1000


def _json(model: Any, status: int = 200) -> Response:
    return Response(model.model_dump_json(), status_code=status,
                    media_type="application/json")


def _int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    text = request.query_params.get(name)
    if text is None or text == "":
        return default
    if not text.isdigit() or not low <= int(text) <= high:
        raise ApiError(422, "invalid", f"{name} must be a whole number from {low} to {high}")
    return int(text)


class Api:
    def __init__(self, service: ParleyService) -> None:
        self.runtime = service.runtime
        self.rounds: RoundService = round_service(service.runtime.conversations)

    def store(self) -> ApiStore:
        try:
            return api_store(self.runtime.store)
        except StoreError as exc:
            raise ApiError(503, "unavailable", str(exc)) from exc

    def endpoint(self, needs: Scope, handler: Handler) -> Callable[[Request],
                                                                    Awaitable[Response]]:
        async def run(request: Request) -> Response:
            try:
                token = await authenticate(request, self.store(), self.runtime.clock.now(),
                                           needs)
                return await handler(request, token)
            except ApiError as exc:
                return exc.response()
            except StoreError as exc:
                return ApiError(503, "unavailable", str(exc)).response()
            except ParleyError as exc:  # what the CLI would print as its one-line reason
                return ApiError(422, "invalid", str(exc)).response()
        return run

    # -- participants ---------------------------------------------------------------------
    async def participants(self, request: Request, token: ApiToken) -> Response:
        since = request.query_params.get("since", "")
        limit = _int_param(request, "limit", 500, 1, MAX_LIMIT)
        rows = await self.store().participants_page(after_id=since, limit=limit + 1)
        people = [participant_out(p, addresses, masked=token.scope != "write")
                  for p, addresses in rows[:limit]]
        return _json(ParticipantList(participants=people,
                                     next_since=people[-1].id if people else since,
                                     has_more=len(rows) > limit))

    async def participant(self, request: Request, token: ApiToken) -> Response:
        store = self.runtime.store
        found = await store.get_participant(request.path_params["pid"])
        if found is None or found.status == "erased":
            raise ApiError(404, "not_found", "no such participant")
        return _json(participant_out(found, await store.addresses_of(found.id),
                                     masked=token.scope != "write"))

    # -- rounds ---------------------------------------------------------------------------
    async def _round(self, round_id: str) -> Round:
        found = await self.runtime.store.round_get(round_id)
        if found is None:
            raise ApiError(404, "not_found", f"no round '{round_id}'")
        return found

    async def list_rounds(self, request: Request, token: ApiToken) -> Response:
        items = [round_out(r, await self.rounds.status(r.id))
                 for r in await self.runtime.store.rounds_all()]
        return _json(RoundList(rounds=items))

    async def get_round(self, request: Request, token: ApiToken) -> Response:
        item = await self._round(request.path_params["rid"])
        return _json(round_out(item, await self.rounds.status(item.id)))

    async def create_round(self, request: Request, token: ApiToken) -> Response:
        try:
            body = RoundCreate.model_validate(loads_bounded(await request.body()))
        except (ValueError, ValidationError) as exc:  # ValidationError first: it is one
            raise ApiError(422, "invalid", _reason(exc)) from exc
        if body.audience.startswith("ids:"):
            raise ApiError(422, "invalid", "audience ids:FILE.csv is for the CLI; use all, "
                           "cohort:NAME or tag:T")
        actor = f"api:{token.name}"
        extra, used = await round_vars(self.runtime, body.flow,
                                       from_suggestions=body.from_suggestions,
                                       budget=body.budget)
        item = await self.rounds.build(
            flow=body.flow, audience=body.audience, finding=body.finding, start=body.start,
            every=body.every, until=body.until, remind_after=body.remind_after,
            close_after=body.close_after, label=body.label, actor=actor, extra_vars=extra)
        await self.rounds.create(item, actor)
        await self.runtime.store.mark_suggestions_used(used, item.id)
        return _json(round_out(item, await self.rounds.status(item.id)), 201)

    async def start_round(self, request: Request, token: ApiToken) -> Response:
        item = await self._round(request.path_params["rid"])
        item, count = await self.rounds.start(item.id, f"api:{token.name}")
        started = await self._round(item.id)
        return _json(RoundStarted(round=round_out(started, await self.rounds.status(item.id)),
                                  planned=count))

    # -- answers and findings ---------------------------------------------------------------
    async def answers(self, request: Request, token: ApiToken) -> Response:
        since = request.query_params.get("since") or "0"
        if not since.isdigit():
            raise ApiError(422, "invalid", "since must be a next_since value from an "
                           "earlier page (or absent, for the first page)")
        limit = _int_param(request, "limit", 100, 1, MAX_LIMIT)
        fmt = request.query_params.get("format", "json")
        if fmt not in ("json", "csv"):
            raise ApiError(422, "invalid", "format must be json or csv")
        rows = await self.store().answers_page(
            after_id=int(since), limit=limit + 1, flow_id=request.query_params.get("flow"),
            round_id=request.query_params.get("round"))
        page = AnswerPage(answers=[answer_out(a) for a in rows[:limit]],
                          next_since=str(rows[:limit][-1].id) if rows else since,
                          has_more=len(rows) > limit)
        if fmt == "json":
            return _json(page)
        return Response(answers_csv(page.answers), media_type="text/csv; charset=utf-8",
                        headers={"X-Parley-Next-Since": page.next_since,
                                 "X-Parley-Has-More": str(page.has_more).lower()})

    async def findings(self, request: Request, token: ApiToken) -> Response:
        found = [finding_out(f) for f in await self.runtime.store.findings_all()]
        return _json(FindingList(findings=found))

    async def finding(self, request: Request, token: ApiToken) -> Response:
        found = await self.runtime.store.finding_get(request.path_params["fid"])
        if found is None:
            raise ApiError(404, "not_found", "no such finding")
        return _json(finding_out(found))


def _reason(exc: ValueError) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}"
                         for e in exc.errors())
    return f"the body must be a JSON object ({exc})"


async def _http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own 404 and 405 inside /api/v1, as the API's JSON errors."""
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    code = {404: "not_found", 405: "method_not_allowed"}.get(status, "error")
    return ApiError(status, code, "no such API route" if status == 404 else
                    str(getattr(exc, "detail", "error"))).response()


def api_routes(service: ParleyService) -> list[BaseRoute]:
    """``/api/v1/…`` (see ``bot.web.api.openapi`` for the document of these routes)."""
    api = Api(service)
    spec = document(service.runtime.config.server.public_url)

    async def openapi(request: Request) -> Response:
        return JSONResponse(spec)

    routes = [
        Route("/openapi.json", openapi),
        Route("/participants", api.endpoint("read", api.participants)),
        Route("/participants/{pid}", api.endpoint("read", api.participant)),
        Route("/rounds", api.endpoint("read", api.list_rounds)),
        Route("/rounds", api.endpoint("write", api.create_round), methods=["POST"]),
        Route("/rounds/{rid}", api.endpoint("read", api.get_round)),
        Route("/rounds/{rid}/start", api.endpoint("write", api.start_round),
              methods=["POST"]),
        Route("/answers", api.endpoint("read", api.answers)),
        Route("/findings", api.endpoint("read", api.findings)),
        Route("/findings/{fid}", api.endpoint("read", api.finding)),
    ]
    inner = Starlette(routes=routes, exception_handlers={HTTPException: _http_error})
    return [Mount("/api/v1", app=inner)]
