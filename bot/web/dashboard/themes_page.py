"""Themes: read free-text answers, tag them with themes, merge themes, and see whether
new responses still bring new themes (saturation)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from bot.errors import ParleyError
from bot.store.records import AnswerRow
from bot.themes.coding import counts, free_text, names_of, saturation
from bot.web.dashboard import svg
from bot.web.dashboard.core import Dashboard, form_text

PER_PAGE = 100
"""Responses per page, newest first (``?page=2`` for the next older ones)."""


def _number(request: Request, name: str, default: int, high: int) -> int:
    try:
        return max(1, min(high, int(request.query_params.get(name, str(default)))))
    except ValueError:
        return default


def page_of(answers: list[AnswerRow], tags: dict[int, list[int]], page: int,
            uncoded: bool) -> tuple[list[AnswerRow], int, int]:
    """The responses on ``page`` (newest first), the page shown (clamped to the last)
    and the number of pages; ``uncoded`` keeps only answers with no theme yet."""
    chosen = [a for a in reversed(answers) if not (uncoded and tags.get(a.id or 0))]
    pages = max(1, -(-len(chosen) // PER_PAGE))
    page = min(page, pages)
    return chosen[(page - 1) * PER_PAGE:page * PER_PAGE], page, pages


def routes(dash: Dashboard) -> list[BaseRoute]:
    library = dash.service.runtime.library

    async def page(request: Request) -> Response:
        batch = _number(request, "batch", 10, 100)
        uncoded = request.query_params.get("show") == "uncoded"
        answers = await free_text(dash.store, library)
        tags = await dash.store.answer_themes()
        themes = await dash.store.themes_all()
        names = {t.id: t.name for t in themes}
        sat = saturation(answers, tags, batch)
        chart = svg.bars([(f"batch {i}", n) for i, n in enumerate(sat.new_per_batch, 1)],
                         title="New themes per batch")
        shown, page, pages = page_of(answers, tags, _number(request, "page", 1, 10**6),
                                     uncoded)
        rows = [(a, [names[t] for t in tags.get(a.id or 0, [])]) for a in shown]
        return dash.html(request, "themes.html", title="Themes", active="themes",
                         sat=sat, chart=chart, rows=rows, page=page, pages=pages,
                         per_page=PER_PAGE, batch=batch, uncoded=uncoded,
                         counts=counts(tags, themes, {a.id for a in answers if a.id}),
                         live=[t for t in themes if t.merged_into is None],
                         done=request.query_params.get("done", ""))

    async def tag(request: Request) -> Response:
        try:
            answer_id = int(await form_text(request, "answer_id"))
            names = names_of(await form_text(request, "themes"))
        except (ValueError, ParleyError) as exc:
            return dash.html(request, "error.html", status=400, title="Not saved",
                             message=str(exc) if isinstance(exc, ParleyError)
                             else "That answer does not exist.")
        known = {a.id for a in await free_text(dash.store, library)}
        if answer_id not in known:
            return dash.html(request, "error.html", status=404, title="Not saved",
                             message="That answer does not exist (or was erased).")
        who = str(request.state.dashboard.email)
        ids = await dash.store.theme_ids(names, dash.now(), who)
        await dash.store.tag_answer(answer_id, ids, dash.now(), who)
        await dash.audit(request, "themes.tag", str(answer_id), themes="; ".join(names))
        back = await form_text(request, "back")  # the page the coder was on
        query = back if back.startswith("page=") and len(back) < 100 else ""
        return RedirectResponse(f"/admin/themes?done=tagged&{query}#a{answer_id}",
                                status_code=303)

    async def merge(request: Request) -> Response:
        try:
            source = int(await form_text(request, "source"))
            into = int(await form_text(request, "into"))
        except ValueError:
            source = into = 0
        live = {t.id for t in await dash.store.themes_all() if t.merged_into is None}
        if source == into or source not in live or into not in live:
            return dash.html(request, "error.html", status=400, title="Not merged",
                             message="Choose two different themes to merge.")
        await dash.store.merge_theme(source, into)
        await dash.audit(request, "themes.merge", str(source), into=str(into))
        return RedirectResponse("/admin/themes?done=merged", status_code=303)

    return [Route("/themes", dash.protect(page)),
            Route("/themes/tag", dash.protect(tag), methods=["POST"]),
            Route("/themes/merge", dash.protect(merge), methods=["POST"])]
