"""Credits: balances, adjustments, payout batches (export, download, mark paid).

Batches are made by ``bot.credits.payouts.export`` (the code behind ``parley credits
export``), so a batch made here and one made on the command line are the same thing and
neither pays an entry twice.
"""

from __future__ import annotations

import re
import tempfile
from collections import defaultdict
from pathlib import Path

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from bot.credits.ledger import adjust, balances, credits_text, money_text, period_of
from bot.credits.payouts import PAYOUT_COLUMNS, export, mark_paid
from bot.csv_safe import csv_text
from bot.errors import ParleyError
from bot.store.sqlite import SqliteStore
from bot.web.dashboard.core import Dashboard, form_text
from bot.web.dashboard.notices import notice_of, notice_query

_PERIOD = re.compile(r"^\d{4}-\d{2}$")


class Credits:
    def __init__(self, dash: Dashboard) -> None:
        self.dash = dash

    def folder(self) -> Path:
        """Where payout CSVs are written: beside the SQLite file, else a temp folder."""
        store = self.dash.store
        base = (store.path.parent if isinstance(store, SqliteStore)
                else Path(tempfile.gettempdir()) / "parley")
        path = base / "payouts"
        path.mkdir(parents=True, exist_ok=True)
        return path

    async def page(self, request: Request, *, error: str = "",
                   status: int = 200) -> Response:
        store, config = self.dash.store, self.dash.service.runtime.config
        people = {p.id: p for p in await store.list_participants()}
        every = await balances(store)
        rows = []
        erased_owed = 0
        for pid, b in sorted(every.items()):
            if pid not in people:
                erased_owed += b.owed
                continue
            p = people[pid]
            rows.append({"p": p, "name": str(p.profile.get("preferred_name") or p.name or pid),
                         "b": b, "preference": str(p.profile.get("payment_preference") or "")})
        totals = {k: sum(getattr(b, k) for b in every.values())
                  for k in ("earned", "exported", "paid", "unpaid_participation")}
        totals["owed"] = sum(b.owed for b in every.values())
        return self.dash.html(
            request, "credits.html", status=status, title="Credits", active="credits",
            rows=rows,
            totals=totals, erased_owed=erased_owed, batches=list(reversed(
                await store.payout_batches())),
            ct=credits_text, money=lambda c: money_text(c, config),
            period=period_of(self.dash.now(), config.schedule.timezone),
            done=notice_of(request), error=error)

    def back(self, key: str, ref: object = "") -> Response:
        return RedirectResponse(f"/admin/credits?{notice_query(key, ref)}", status_code=303)

    async def refused(self, request: Request, error: str) -> Response:
        """The page again, with the error: never echoed through a URL."""
        return await self.page(request, error=error, status=400)

    async def make_batch(self, request: Request) -> Response:
        period = await form_text(request, "period")
        if not _PERIOD.match(period):
            return await self.refused(request, f"'{period}' is not a month like 2026-03")
        actor = str(request.state.dashboard.email)
        stamp = self.dash.now().strftime("%Y%m%dT%H%M%S")
        out = self.folder() / f"payout-{period}-{stamp}.csv"
        try:
            result = await export(self.dash.store, self.dash.service.runtime.config, period,
                                  out, actor=actor, now=self.dash.now())
        except ParleyError as exc:
            return await self.refused(request, str(exc))
        if result.batch is None:
            return self.back("nothing_to_pay", period)
        return self.back("batch_made", result.batch.id)

    async def download(self, request: Request) -> Response:
        batch = await self.dash.store.payout_get(request.path_params["batch"])
        if batch is None:
            return self.dash.not_found(request, "That payout batch")
        await self.dash.audit(request, "credits.download", batch.id)
        return Response(await self.csv(batch.id), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition":
                                 f'attachment; filename="payout-{batch.id}.csv"',
                                 "Cache-Control": "no-store"})

    async def csv(self, batch_id: str) -> str:
        """The batch's payout CSV, built from the ledger now (not the file written at
        export time), so someone erased since then is not named in it: their row stays,
        as ``erased``, so the total still matches the ledger."""
        store, config = self.dash.store, self.dash.service.runtime.config
        batch = await store.payout_get(batch_id)
        assert batch is not None
        in_batch = await store.payout_of_entries()
        people = {p.id: p for p in await store.list_participants()}
        per: dict[str, list[int]] = defaultdict(list)
        for e in await store.ledger():
            if e.id is not None and in_batch.get(e.id) == batch_id:
                per[e.participant_id].append(e.amount)
        rows: list[dict[str, str]] = []
        for pid, amounts in per.items():
            p = people.get(pid)
            rows.append({
                "batch": batch_id, "period": batch.period,
                "participant_id": pid if p is not None else "erased",
                "name": (p.name or str(p.profile.get("preferred_name") or "")) if p else "",
                "payment_preference": str(p.profile.get("payment_preference") or "") if p
                else "", "credits": credits_text(sum(amounts)),
                "value": money_text(sum(amounts), config), "unit": config.credits.unit,
                "entries": str(len(amounts))})
        return csv_text(PAYOUT_COLUMNS, rows)

    async def paid(self, request: Request) -> Response:
        batch_id = request.path_params["batch"]
        try:
            await mark_paid(self.dash.store, batch_id, actor=str(request.state.dashboard.email),
                            now=self.dash.now())
        except ParleyError as exc:
            return await self.refused(request, str(exc))
        return self.back("batch_paid", batch_id)

    async def adjust(self, request: Request) -> Response:
        pid = await form_text(request, "participant")
        if pid not in {p.id for p in await self.dash.store.list_participants()}:
            return await self.refused(request, f"no participant '{pid}'")
        try:
            entry = await adjust(self.dash.store, pid, await form_text(request, "amount"),
                                 await form_text(request, "note"),
                                 str(request.state.dashboard.email), self.dash.now())
        except ParleyError as exc:
            return await self.refused(request, str(exc).replace("--note", "A note").replace(
                "AMOUNT", "The amount"))
        await self.dash.audit(request, "credits.adjust", pid, amount=credits_text(entry.amount),
                              note=entry.note)
        return self.back("adjusted", pid)


def routes(dash: Dashboard) -> list[BaseRoute]:
    page = Credits(dash)
    return [Route("/credits", dash.protect(page.page)),
            Route("/credits/batches", dash.protect(page.make_batch), methods=["POST"]),
            Route("/credits/adjust", dash.protect(page.adjust), methods=["POST"]),
            Route("/credits/batches/{batch}.csv", dash.protect(page.download)),
            Route("/credits/batches/{batch}/paid", dash.protect(page.paid), methods=["POST"])]
