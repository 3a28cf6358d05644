"""Voice notes, photos and other media people sent as answers: listed with a player.

``/admin/media`` lists them newest first (``?participant=ID`` for one person), each with
the question it answered and an ``<audio>``, ``<video>`` or ``<img>`` that plays the
stored file; ``/admin/media/{id}/file`` serves the file itself, to logged-in
coordinators only (never from a public folder), with its stored content type,
``nosniff`` and a restrictive CSP, so a file cannot run as a page. An erased person's
media are gone: the rows and the files.
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Route

from bot.media_kinds import PLAYABLE, label
from bot.web.dashboard.core import Dashboard

FILE_HEADERS = {"X-Content-Type-Options": "nosniff",
                "Content-Security-Policy": "default-src 'none'; sandbox",
                "Cache-Control": "private, no-store"}


def routes(dash: Dashboard) -> list[BaseRoute]:
    async def page(request: Request) -> Response:
        who = request.query_params.get("participant") or None
        items = list(reversed(await dash.store.media_of(who)))[:200]
        rows = [{"m": m, "label": label(m.kind), "player": PLAYABLE.get(m.kind)
                 if m.status == "stored" else None} for m in items]
        return dash.html(request, "media.html", title="Voice notes and photos",
                         active="results", rows=rows, participant=who)

    async def file(request: Request) -> Response:
        try:
            media_id = int(request.path_params["media_id"])
        except ValueError:
            return dash.not_found(request, "That file")
        item = await dash.store.media_get(media_id)
        if item is None or item.status != "stored" or not item.path or \
                not Path(item.path).is_file():
            return dash.not_found(request, "That file")
        await dash.audit(request, "media.view", item.participant_id, media=media_id)
        return FileResponse(item.path, media_type=item.content_type or None,
                            headers=FILE_HEADERS)

    return [Route("/media", dash.protect(page)),
            Route("/media/{media_id}/file", dash.protect(file))]
