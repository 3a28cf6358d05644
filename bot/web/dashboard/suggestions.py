"""The suggestions queue: what participants proposed, pending first, with accept (and
the option text a vote shows), merge into another, or reject with a reason. Each
decision is told to the suggester in their language, as from the CLI."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from bot.agenda.suggestions import SuggestionError, Suggestions, decided_counts
from bot.web.dashboard.core import Dashboard, form_text


class SuggestionsPage:
    def __init__(self, dash: Dashboard) -> None:
        self.dash = dash

    def book(self) -> Suggestions:
        runtime = self.dash.service.runtime
        return Suggestions(runtime.store, runtime.renderer, runtime.config.project_data())

    async def index(self, request: Request, *, error: str = "", status: int = 200) -> Response:
        found = await self.book().all()
        found.sort(key=lambda s: (s.status != "pending", s.id))
        keep = [s for s in found if s.status in ("pending", "accepted")]
        return self.dash.html(request, "suggestions.html", status=status, title="Suggestions",
                              active="suggestions", suggestions=found, targets=keep,
                              counts=decided_counts(found), error=error,
                              done=request.query_params.get("done", ""))

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
            Route("/suggestions/decide", dash.protect(page.decide), methods=["POST"])]
