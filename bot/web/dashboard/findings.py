"""Findings: each version's endorsement (agree / partly / disagree), comments and
proposed amendments side by side, co-authors, and the "you said, we did" chain.

Summaries come from ``bot.findings.summary`` (shared with the CLI); responses of people
who have since been erased are left out.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from bot.errors import ParleyError
from bot.findings.publish import publish
from bot.findings.summary import VersionSummary, lineage, summarise
from bot.store.round_records import Finding
from bot.web.dashboard import svg
from bot.web.dashboard.core import Dashboard, form_text


class Findings:
    def __init__(self, dash: Dashboard) -> None:
        self.dash = dash

    async def summary(self, finding: Finding, people: set[str]) -> VersionSummary:
        found = await summarise(self.dash.store, finding)
        found.responses = [r for r in found.responses if r.participant_id in people]
        return found

    async def _people(self) -> set[str]:
        return {p.id for p in await self.dash.store.list_participants()}

    async def index(self, request: Request, *, error: str = "", status: int = 200,
                    source: str = "") -> Response:
        every = await self.dash.store.findings_all()
        people = await self._people()
        lineages: dict[str, list[Finding]] = {}
        for f in every:
            lineages.setdefault(f.lineage, []).append(f)
        rows = []
        for versions in lineages.values():
            latest = max(versions, key=lambda f: f.version)
            summary = await self.summary(latest, people)
            rows.append({"latest": latest, "versions": len(versions),
                         "counts": summary.counts, "bar": svg.stacked(summary.counts, width=240,
                                                                      height=22)})
        return self.dash.html(request, "findings.html", status=status, title="Findings",
                              active="findings", rows=rows, findings=every, error=error,
                              source=source, done=request.query_params.get("done", ""))

    async def detail(self, request: Request) -> Response:
        finding = await self.dash.store.finding_get(request.path_params["fid"])
        if finding is None:
            return self.dash.not_found(request, "That finding")
        people = await self._people()
        chain = []
        previous: VersionSummary | None = None
        for version in await lineage(self.dash.store, finding.id):
            summary = await self.summary(version, people)
            chain.append({"summary": summary, "bar": svg.stacked(summary.counts),
                          "you_said": [r for r in previous.responses if r.words]
                          if previous is not None else [],
                          "rounds": summary.rounds})
            previous = summary
        return self.dash.html(request, "finding.html", title=f"Finding {finding.lineage}",
                              active="findings", finding=finding, chain=chain)

    async def publish(self, request: Request) -> Response:
        """Publish Markdown pasted into the form, exactly as ``findings publish`` does."""
        source = await form_text(request, "source")
        replaces = await form_text(request, "replaces") or None
        actor = str(request.state.dashboard.email)
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "finding.md"
            path.write_text(source, encoding="utf-8")
            try:
                finding = await publish(self.dash.store, path, replaces=replaces, actor=actor,
                                        now=self.dash.now())
            except ParleyError as exc:
                message = str(exc).replace(str(path), "the text")
                return await self.index(request, error=message, status=400, source=source)
        await self.dash.audit(request, "finding.publish", finding.id,
                              replaces=replaces or "")
        return RedirectResponse(f"/admin/findings/{finding.id}", status_code=303)


def routes(dash: Dashboard) -> list[BaseRoute]:
    page = Findings(dash)

    async def index(request: Request) -> Response:
        return await page.index(request)

    return [Route("/findings", dash.protect(index)),
            Route("/findings/publish", dash.protect(page.publish), methods=["POST"]),
            Route("/findings/{fid}", dash.protect(page.detail))]
