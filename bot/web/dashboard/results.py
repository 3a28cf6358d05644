"""Results: per-question distributions, paired baseline-vs-end change, CSV export.

Only answers of people who are still taking part count: an erased person's rows are
anonymised in the store and left out here and in every export.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bot.csv_safe import csv_text
from bot.engine.many import MANY
from bot.engine.tally import tally
from bot.errors import ParleyError
from bot.flows.models import AskNode, ChoiceAnswer, Flow, ScaleAnswer, YesNoAnswer
from bot.i18n.renderer import Renderer
from bot.measures import scored_flows
from bot.measures.summary import scored_change
from bot.media_kinds import kinds_of_answers
from bot.stats import PairedChange, distribution, mean, paired_change
from bot.store.records import AnswerRow
from bot.web.dashboard import svg
from bot.web.dashboard.core import Dashboard

PATHWAY_FLOWS = ("language", "consent", "onboarding")


def say(renderer: Renderer, key: str, locale: str = "en") -> str:
    """A template's text for a coordinator (the key itself when it needs a person's data)."""
    try:
        data: dict[str, dict[str, str]] = {"project": {}, "participant": {}, "fields": {},
                                           "vars": {}}
        return renderer.render(key, locale, data)
    except (ParleyError, KeyError, TypeError, AttributeError):
        return key


def csv_value(value: object) -> object:
    """Several picks as ``housing;jobs`` (like tags on import), amounts as
    ``food=50;youth=30``; anything else as it is (``csv_text`` makes it safe)."""
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    if isinstance(value, dict):
        return ";".join(f"{k}={v}" for k, v in value.items())
    return value


@dataclass
class Question:
    node: str
    text: str
    kind: str
    rows: list[tuple[str, int]]
    answered: int
    skipped: int
    average: float | None
    chart: Markup
    texts: list[str]


def question_rows(flow: Flow, renderer: Renderer, answers: Sequence[AnswerRow]
                  ) -> list[Question]:
    """One summary per question of ``flow``, in the flow's order."""
    out = []
    for node_id in flow.ordered_asks():
        node: AskNode = flow.nodes[node_id]  # type: ignore[assignment]
        mine = [a for a in answers if a.node == node_id]
        given = [a for a in mine if not a.skipped and a.value is not None]
        answer = node.answer
        order: list[object] = []
        labels: dict[str, str] = {}
        if isinstance(answer, ScaleAnswer):
            order = list(range(answer.min, answer.max + 1))
        elif isinstance(answer, ChoiceAnswer):
            order = [o.value for o in answer.options]
            labels = {o.value: say(renderer, o.label) for o in answer.options}
        elif isinstance(answer, YesNoAnswer):
            order = [True, False]
            labels = {"True": "yes", "False": "no"}
        texts: list[str] = []
        if isinstance(answer, MANY):  # picks, Borda points or amounts per option
            labels = {o.value: say(renderer, o.label) for o in answer.options}
            rows = [(labels[t.value], t.score) for t in tally(answer, [a.value for a in given])]
        elif answer.kind in ("text", "date"):
            rows = kinds_of_answers([a.value for a in given])  # typed vs voice note, photo
            texts = [str(a.value) for a in given][-20:]
        else:
            rows = [(labels.get(k, k), c) for k, c in distribution([a.value for a in given],
                                                                   order)]
        numbers = [float(a.value) for a in given if isinstance(a.value, int | float)
                   and not isinstance(a.value, bool)]
        out.append(Question(
            node=node_id, text=say(renderer, node.text), kind=answer.kind, rows=rows,
            answered=len(given), skipped=len(mine) - len(given),
            average=mean(numbers) if answer.kind in ("scale", "number") else None,
            chart=svg.bars(rows, title=node_id) if rows else Markup(""), texts=texts))
    return out


def latest_values(answers: Sequence[AnswerRow], field: str) -> dict[str, float]:
    """Each person's latest numeric answer to ``field``."""
    found: dict[str, float] = {}
    for a in answers:
        if a.field == field and not a.skipped and isinstance(a.value, int | float) \
                and not isinstance(a.value, bool):
            found[a.participant_id] = float(a.value)
    return found


def paired(flow: Flow, before: Sequence[AnswerRow], after: Sequence[AnswerRow]
           ) -> list[tuple[str, AskNode, PairedChange]]:
    """Per numeric question: (field, its question, change) over people in both sets."""
    out = []
    for node_id in flow.ordered_asks():
        node: AskNode = flow.nodes[node_id]  # type: ignore[assignment]
        if node.answer.kind not in ("scale", "number") or not node.save_as:
            continue
        b = latest_values(before, node.save_as)
        a = latest_values(after, node.save_as)
        both = sorted(set(b) & set(a))
        out.append((node.save_as, node, paired_change([(b[p], a[p]) for p in both])))
    return out


class Results:
    def __init__(self, dash: Dashboard) -> None:
        self.dash = dash

    async def answers(self, flow_id: str, label: str | None) -> list[AnswerRow]:
        """Answers to ``flow_id`` by people not erased; only rounds labelled ``label``
        when one is given."""
        store = self.dash.store
        people = {p.id for p in await store.list_participants()}
        rows = [a for a in await store.answers(flow_id=flow_id) if a.participant_id in people]
        if label:
            ids = {r.id for r in await store.rounds_all() if r.label == label}
            rows = [a for a in rows if a.round_id in ids]
        return rows

    async def labels(self, flow_id: str) -> list[str]:
        return sorted({r.label for r in await self.dash.store.rounds_all()
                       if r.flow_id == flow_id and r.label})

    async def index(self, request: Request) -> Response:
        library = self.dash.service.runtime.library
        rows = []
        for flow_id in library.ids:
            flow = library.get(flow_id)
            if not flow.ordered_asks():
                continue
            answers = await self.answers(flow_id, None)
            rows.append({"id": flow_id, "title": flow.title, "answers": len(answers),
                         "people": len({a.participant_id for a in answers}),
                         "labels": await self.labels(flow_id),
                         "pathway": flow_id in PATHWAY_FLOWS})
        return self.dash.html(request, "results_index.html", title="Results",
                              active="results", flows=rows)

    async def flow(self, request: Request) -> Response:
        library = self.dash.service.runtime.library
        flow_id = request.path_params["flow"]
        if flow_id not in library:
            return self.dash.not_found(request, "That flow")
        flow = library.get(flow_id)
        labels = await self.labels(flow_id)
        label = request.query_params.get("label") or None
        answers = await self.answers(flow_id, label)
        renderer = self.dash.service.runtime.renderer
        before_label = request.query_params.get("before") or (
            "baseline" if "baseline" in labels else (labels[0] if labels else ""))
        after_label = request.query_params.get("after") or (
            "end" if "end" in labels else (labels[-1] if labels else ""))
        comparison: list[dict[str, Any]] = []
        chart = Markup("")
        if before_label and after_label and before_label != after_label:
            pairs = paired(flow, await self.answers(flow_id, before_label),
                           await self.answers(flow_id, after_label))
            comparison = [{"field": f, "question": say(renderer, q.text), "change": c}
                          for f, q, c in pairs]
            scale_max = max((float(getattr(q.answer, "max", None) or 10) for _, q, _ in pairs),
                            default=10.0)
            chart = svg.change_chart([(f, c) for f, _, c in pairs], limit=scale_max)
            if flow_id in scored_flows():  # a published measure: its total too
                comparison.append({"field": "total", "question": "published scoring",
                                   "change": scored_change(
                                       flow_id, await self.answers(flow_id, before_label),
                                       await self.answers(flow_id, after_label))})
        return self.dash.html(
            request, "results_flow.html", title=f"Results: {flow.title}", active="results",
            flow=flow, label=label or "", labels=labels,
            questions=question_rows(flow, renderer, answers),
            people=len({a.participant_id for a in answers}), comparison=comparison,
            before=before_label, after=after_label, change_chart=chart,
            numeric=flow_id in scored_flows() or any(
                n.answer.kind in ("scale", "number") for n in flow.nodes.values()
                if isinstance(n, AskNode)))

    async def export(self, request: Request) -> Response:
        library = self.dash.service.runtime.library
        flow_id = request.path_params["flow"]
        if flow_id not in library:
            return self.dash.not_found(request, "That flow")
        label = request.query_params.get("label") or None
        rows = await self.answers(flow_id, label)
        labels = {r.id: r.label or "" for r in await self.dash.store.rounds_all()}
        text = csv_text(
            ["participant_id", "round_id", "round_label", "question", "field", "value",
             "skipped", "late", "answered_at"],
            ([a.participant_id, a.round_id or "", labels.get(a.round_id or "", ""), a.node,
              a.field or "", csv_value(a.value), int(a.skipped), int(a.late),
              a.at.isoformat()]
             for a in rows))
        await self.dash.audit(request, "results.export", flow_id, label=label or "all")
        name = re.sub(r"[^A-Za-z0-9_-]", "_", f"{flow_id}-{label or 'all'}") + ".csv"
        return Response(text, media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}"',
                                 "Cache-Control": "no-store"})


def routes(dash: Dashboard) -> list[BaseRoute]:
    page = Results(dash)
    return [Route("/results", dash.protect(page.index)),
            Route("/results/{flow}/export.csv", dash.protect(page.export)),
            Route("/results/{flow}", dash.protect(page.flow))]
