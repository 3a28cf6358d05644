"""Rounds: create, preview, test-send, start, pause, resume, cancel, remind now, and
live progress (the detail page polls ``/admin/rounds/{id}/progress.json``).

Every action goes through ``bot.rounds.service.RoundService``, the same code the CLI
and the Telegram coordinator commands use, so the audit log reads the same whichever
door a coordinator used.
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from bot.conversations import payload_of
from bot.engine import StepContext, begin
from bot.errors import ParleyError
from bot.rounds.burden_limits import describe, planned_effects
from bot.rounds.service import RoundService
from bot.store.round_records import Round
from bot.text.render import sms_bodies
from bot.web.dashboard.core import Dashboard, form_text
from bot.web.dashboard.notices import notice_of, notice_query
from bot.wiring import round_service

FIELDS = ("flow", "audience", "cohort", "tag", "finding", "start", "every", "remind_after",
          "close_after", "label")


def first_messages(dash: Dashboard, item: Round) -> list[dict[str, Any]]:
    """What the round's flow says first, as Telegram text and as SMS bodies."""
    rt = dash.service.runtime
    flow = rt.library.get(item.flow_id)
    ctx = StepContext(renderer=rt.renderer, project=rt.config.project_data(),
                      timezone=rt.config.schedule.timezone)
    result = begin(flow, session_id=f"preview-{item.id}", participant_id="preview",
                   locale=rt.config.project.locales[0], now=dash.now(), ctx=ctx,
                   vars=item.vars)
    out = []
    for output in result.outputs:
        payload = payload_of(output, None)
        out.append({"text": output.text, "choices": [c.label for c in output.choices],
                    "sms": sms_bodies(payload)})
    return out


class Rounds:
    def __init__(self, dash: Dashboard) -> None:
        self.dash = dash
        self._tasks: set[asyncio.Task[Any]] = set()
        self.service: RoundService = round_service(dash.service.runtime.conversations)

    def actor(self, request: Request) -> str:
        return str(request.state.dashboard.email)

    async def _choices(self) -> dict[str, Any]:
        store = self.dash.store
        people = await store.list_participants()
        return {"flows": [self.dash.service.runtime.library.get(f)
                          for f in self.dash.service.runtime.library.ids],
                "cohorts": sorted({p.cohort for p in people if p.cohort}),
                "tags": sorted({t for p in people for t in p.tags}),
                "findings": await store.findings_all()}

    async def index(self, request: Request, *, error: str = "", status: int = 200,
                    values: dict[str, str] | None = None) -> Response:
        rounds = list(reversed(await self.dash.store.rounds_all()))
        return self.dash.html(request, "rounds.html", status=status, title="Rounds",
                              active="rounds", rounds=rounds, error=error,
                              values=values or {"audience": "all"}, **await self._choices())

    async def create(self, request: Request) -> Response:
        values = {name: await form_text(request, name) for name in FIELDS}
        audience = values["audience"] or "all"
        if audience == "cohort":
            audience = f"cohort:{values['cohort']}"
        elif audience == "tag":
            audience = f"tag:{values['tag']}"
        elif audience == "commented":
            audience = f"commented:{values['finding']}"
        start = values["start"].replace("T", " ") or None
        try:
            item = await self.service.build(
                flow=values["flow"], audience=audience, finding=values["finding"] or None,
                start=start, every=values["every"] or None,
                remind_after=values["remind_after"] or None,
                close_after=values["close_after"] or None, label=values["label"] or None,
                actor=self.actor(request))
            item.created_by = self.actor(request)
            await self.service.create(item, self.actor(request))
        except ParleyError as exc:
            return await self.index(request, error=str(exc).replace("--", ""), status=400,
                                    values=values)
        return RedirectResponse(f"/admin/rounds/{item.id}", status_code=303)

    async def detail(self, request: Request, *, error: str = "",
                     status: int = 200) -> Response:
        item = await self.dash.store.round_get(request.path_params["rid"])
        if item is None:
            return self.dash.not_found(request, "That round")
        progress = await self.service.status(item.id)
        preview = None
        if item.status == "draft":
            found = await self.service.preview(item)
            preview = {"by_channel": found.by_channel(), "segments": found.segments,
                       "targets": len(found.targets),
                       "rows": [(t, found.names.get(t.participant_id, ""))
                                for t in found.targets[:25]],
                       "burden": describe(found.burden, self.dash.service.runtime.config)
                       + [f"Warning: {g}" for g in found.gaps]}
        else:  # what the [burden] limits did when it was planned
            progress = {**progress, "burden": planned_effects(
                await self.dash.store.targets_of(item.id))}
        return self.dash.html(
            request, "round.html", status=status, title=f"Round {item.id}", active="rounds",
            r=item,
            progress=progress, preview=preview, messages=first_messages(self.dash, item),
            done=notice_of(request), error=error,
            coordinators=self.service.coordinator_addresses())

    async def progress(self, request: Request) -> Response:
        item = await self.dash.store.round_get(request.path_params["rid"])
        if item is None:
            return JSONResponse({"error": "no such round"}, status_code=404)
        data = await self.service.status(item.id)
        data["status"] = item.status
        return JSONResponse(data, headers={"Cache-Control": "no-store"})

    async def act(self, request: Request) -> Response:
        rid, action = request.path_params["rid"], request.path_params["action"]
        actor = self.actor(request)
        try:
            if action == "start":
                _, count = await self.service.start(rid, actor)
                done = notice_query("round_started", count)
            elif action == "pause":
                await self.service.pause(rid, actor)
                done = notice_query("round_paused")
            elif action == "resume":
                await self.service.resume(rid, actor)
                done = notice_query("round_resumed")
            elif action == "cancel":
                count = await self.service.cancel(rid, actor)
                done = notice_query("round_cancelled", count)
            elif action == "test-send":
                sent_to = await self.service.test_send(rid, actor)
                done = notice_query("round_test_sent", len(sent_to))
            elif action == "remind":
                count = await self.remind_now(rid, actor)
                done = notice_query("round_reminded", count)
            else:
                return self.dash.not_found(request, "That action")
        except ParleyError as exc:
            return await self.detail(request, error=str(exc), status=400)
        if action in ("start", "resume"):
            self.wake_scheduler()
        return RedirectResponse(f"/admin/rounds/{rid}?{done}", status_code=303)

    def wake_scheduler(self) -> None:
        """Ask the scheduler for a pass now rather than at its next tick, so a round
        started here begins at once (the store is the truth; this only saves a wait)."""
        for job in self.dash.service.jobs:
            tick = getattr(job, "tick", None)
            if callable(tick):
                task = asyncio.get_running_loop().create_task(tick())
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def remind_now(self, rid: str, actor: str) -> int:
        """Remind, now, everyone in the round whose conversation waits for an answer.

        An extra reminder on top of the scheduled ones: the round's own reminder steps
        are left as they are (``Conversations.remind`` re-asks the open question)."""
        item = await self.service.get(rid)
        if item.status != "running":
            raise ParleyError(f"round {rid} is {item.status}; only a running round can be "
                              "reminded")
        conversations = self.dash.service.runtime.conversations
        count = 0
        for target in await self.dash.store.targets_of(rid):
            if target.status != "sent":
                continue
            if await conversations.remind(target.participant_id, rid, lambda _: None):
                count += 1
        await self.service.audit(actor, "round.remind_now", rid, {"reminded": count})
        return count


def routes(dash: Dashboard) -> list[BaseRoute]:
    page = Rounds(dash)

    async def index(request: Request) -> Response:
        return await page.index(request)

    return [Route("/rounds", dash.protect(index)),
            Route("/rounds/new", dash.protect(page.create), methods=["POST"]),
            Route("/rounds/{rid}", dash.protect(page.detail)),
            Route("/rounds/{rid}/progress.json", dash.protect(page.progress)),
            Route("/rounds/{rid}/{action}", dash.protect(page.act), methods=["POST"])]
