"""The overview: who is taking part on which channel, rounds now and next, whether the
people answering look like the group the project meant to hear from, and SMS use."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from bot.stats import CohortShare, representation
from bot.store.round_records import Round
from bot.web.dashboard.core import Dashboard
from bot.web.dashboard.flow_problems import recent_flow_problems
from bot.web.dashboard.participants import address_status

NO_COHORT = "(no cohort)"
CHANNELS = ("telegram", "sms", "whatsapp")
STATUSES = ("active", "opted out", "unreachable")


def month_start(now: dt.datetime, zone: dt.tzinfo) -> dt.datetime:
    local = now.astimezone(zone)
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


class Overview:
    def __init__(self, dash: Dashboard) -> None:
        self.dash = dash

    async def cohorts(self, rounds: list[Round]) -> list[CohortShare]:
        """Per cohort: enrolled (consented) people, round targets, people who completed a
        round, and the coordinator's target share."""
        store = self.dash.store
        people = {p.id: p for p in await store.list_participants()}
        cohort_of = {pid: p.cohort or NO_COHORT for pid, p in people.items()}
        enrolled = Counter(cohort_of[pid] for pid, p in people.items()
                           if p.status == "consented")
        targeted: Counter[str] = Counter()
        completed: Counter[str] = Counter()
        responders: dict[str, set[str]] = {}
        for r in rounds:
            if r.status == "draft":
                continue
            for t in await store.targets_of(r.id):
                if t.participant_id not in people:
                    continue
                cohort = cohort_of[t.participant_id]
                targeted[cohort] += 1
                if t.status == "completed":
                    completed[cohort] += 1
                    responders.setdefault(cohort, set()).add(t.participant_id)
        targets = await store.cohort_targets()
        names = sorted(set(enrolled) | set(targeted) | set(targets))
        return [CohortShare(c, enrolled[c], targeted[c], len(responders.get(c, ())),
                            targets.get(c), completed[c]) for c in names]

    async def page(self, request: Request) -> Response:
        store, now = self.dash.store, self.dash.now()
        people = await store.list_participants()
        by_status = Counter(p.status for p in people)
        grid = {ch: dict.fromkeys(STATUSES, 0) for ch in CHANNELS}
        for a in await store.addresses_all():
            if a.channel in grid:
                grid[a.channel][address_status(a)] += 1
        rounds = await store.rounds_all()
        current = [r for r in rounds if r.status in ("running", "paused")]
        upcoming = sorted((r for r in rounds if r.status == "draft"
                           or (r.status == "running" and r.start_at > now)),
                          key=lambda r: r.start_at)
        cohorts = representation(await self.cohorts(rounds))
        sms_all = await store.outbox_usage("sms")
        sms_month = await store.outbox_usage("sms", month_start(now, self.dash.zone))
        return self.dash.html(
            request, "overview.html", title="Overview", active="overview",
            total=len(people), by_status=by_status, grid=grid, channels=CHANNELS,
            statuses=STATUSES, current=current, upcoming=upcoming[:10], cohorts=cohorts,
            sms_all=sms_all, sms_month=sms_month, done=request.query_params.get("done", ""),
            flow_problems=await recent_flow_problems(store, now))

    async def save_targets(self, request: Request) -> Response:
        form = await request.form()
        targets: dict[str, float] = {}
        names = form.getlist("cohort")
        shares = form.getlist("share")
        for name, share in zip(names, shares, strict=False):
            if not isinstance(name, str) or not isinstance(share, str):
                continue
            name, share = name.strip(), share.strip()
            if not name or not share:
                continue
            try:
                value = float(share)
            except ValueError:
                return self.dash.html(request, "error.html", status=400, title="Not saved",
                                      message=f"'{share}' is not a number (cohort {name}).")
            if not 0 <= value <= 100:
                return self.dash.html(request, "error.html", status=400, title="Not saved",
                                      message=f"The target for {name} must be 0 to 100.")
            targets[name[:80]] = value
        await self.dash.store.set_cohort_targets(targets)
        await self.dash.audit(request, "targets.set", "cohorts",
                              targets={k: v for k, v in targets.items()})
        return RedirectResponse("/admin/?done=targets#representation", status_code=303)


def routes(dash: Dashboard) -> list[BaseRoute]:
    page = Overview(dash)
    return [Route("/", dash.protect(page.page)),
            Route("/targets", dash.protect(page.save_targets), methods=["POST"])]
