"""Participants' power on the dashboard: the suggestions queue (accept with the option
text a vote shows, merge, reject with a reason; each suggester is told in their
language, as from the CLI), deliberation reports and budget results."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from bot.agenda.suggestions import SuggestionError, Suggestions, decided_counts
from bot.budgets.results import results
from bot.deliberation.report import report
from bot.errors import ParleyError
from bot.web.dashboard.core import Dashboard, form_text


class SuggestionsPage:
    def __init__(self, dash: Dashboard) -> None:
        self.dash = dash

    def book(self) -> Suggestions:
        runtime = self.dash.service.runtime
        return Suggestions(runtime.store, runtime.renderer, runtime.config)

    async def index(self, request: Request, *, error: str = "", status: int = 200) -> Response:
        found = await self.book().all()
        found.sort(key=lambda s: (s.status != "pending", s.id))
        keep = [s for s in found if s.status in ("pending", "accepted")]
        rounds = await self.dash.store.rounds_all()
        return self.dash.html(request, "suggestions.html", status=status, title="Suggestions",
                              active="suggestions", suggestions=found, targets=keep,
                              counts=decided_counts(found), error=error,
                              done=request.query_params.get("done", ""),
                              deliberations=[r for r in rounds if r.flow_id == "statements"],
                              budgets=sorted({r.vars["budget_id"] for r in rounds
                                              if "budget_id" in r.vars}))

    async def deliberation(self, request: Request) -> Response:
        try:
            found = await report(self.dash.store, request.path_params["rid"])
        except ParleyError:
            return self.dash.not_found(request, "That statements round")
        return self.dash.html(request, "deliberation.html", title="Deliberation",
                              active="suggestions", report=found)

    async def budget(self, request: Request) -> Response:
        try:
            found = await results(self.dash.store, request.path_params["bid"])
        except ParleyError:
            return self.dash.not_found(request, "That budget")
        return self.dash.html(request, "budget.html", title=f"Budget {found['id']}",
                              active="suggestions", budget=found)

    async def decide(self, request: Request) -> Response:
        code = await form_text(request, "id")
        action = await form_text(request, "action")
        who = str(request.state.dashboard.email)
        now = self.dash.now()
        book = self.book()
        try:
            if action == "accept":
                await book.accept(code, now, label=await form_text(request, "label") or None,
                                  by=who)
            elif action == "merge":
                await book.merge(code, await form_text(request, "into"), now, by=who)
            elif action == "reject":
                await book.reject(code, await form_text(request, "reason"), now, by=who)
            else:
                raise SuggestionError(f"unknown action '{action}'")
        except SuggestionError as exc:
            return await self.index(request, error=f"{code}: {exc}", status=400)
        await self.dash.audit(request, f"suggestion.{action}", code)
        return RedirectResponse(f"/admin/suggestions?done={code}", status_code=303)


def routes(dash: Dashboard) -> list[BaseRoute]:
    page = SuggestionsPage(dash)

    async def index(request: Request) -> Response:
        return await page.index(request)

    return [Route("/suggestions", dash.protect(index)),
            Route("/suggestions/decide", dash.protect(page.decide), methods=["POST"]),
            Route("/deliberation/{rid}", dash.protect(page.deliberation)),
            Route("/budgets/{bid}", dash.protect(page.budget))]
