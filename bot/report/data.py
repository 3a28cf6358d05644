"""Everything the report shows, computed once from the store (no rendering here)."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.config import Config
from bot.flows.loader import FlowLibrary
from bot.measures import scored_flows
from bot.measures.summary import scored_change
from bot.representation import dimension_rows
from bot.rounds.status import round_status
from bot.stats import CohortShare, PairedChange, representation
from bot.store.base import Store
from bot.store.round_records import Round
from bot.themes.coding import counts, free_text, saturation
from bot.web.dashboard.results import paired


@dataclass
class RoundLine:
    id: str
    label: str
    flow: str
    start: dt.datetime
    targeted: int
    completed: int
    retained: float | None
    """Of the first round's completers, the share who completed this one."""

    @property
    def rate(self) -> float | None:
        return self.completed / self.targeted if self.targeted else None


@dataclass
class MeasureChange:
    flow: str
    field: str
    before: str
    after: str
    change: PairedChange


@dataclass
class Endorsement:
    finding: str
    title: str
    counts: list[tuple[str, int]]
    changes: str


@dataclass
class Cost:
    people: int
    sms_segments: int
    sms_cost: float
    credits_paid: float
    credits_owed: float
    hours_earned: float

    @property
    def per_person(self) -> float | None:
        total = self.sms_cost + self.credits_paid + self.credits_owed
        return total / self.people if self.people else None


@dataclass
class ReportData:
    project: str
    start: dt.datetime | None
    end: dt.datetime | None
    generated: dt.datetime
    enrolled: int
    rounds: list[RoundLine] = field(default_factory=list)
    representation: dict[str, list[tuple[CohortShare, float | None, str]]] = field(
        default_factory=dict)
    changes: list[MeasureChange] = field(default_factory=list)
    endorsements: list[Endorsement] = field(default_factory=list)
    themes: list[tuple[str, int]] = field(default_factory=list)
    saturation: list[int] = field(default_factory=list)
    """New themes per batch of responses, in arrival order."""
    cost: Cost | None = None
    events: list[tuple[str, int, int, int]] = field(default_factory=list)
    """(title, capacity, booked, attended)."""


def within(at: dt.datetime, start: dt.datetime | None, end: dt.datetime | None) -> bool:
    return (start is None or at >= start) and (end is None or at < end)


async def round_lines(store: Store, rounds: Sequence[Round]) -> list[RoundLine]:
    lines: list[RoundLine] = []
    first: RoundLine | None = None
    baseline: set[str] = set()
    for r in rounds:
        status = await round_status(store, r)  # what `rounds status --json` says
        done = {t.participant_id for t in await store.targets_of(r.id)
                if t.status == "completed"}
        if first is None:
            baseline = done
        retained = len(done & baseline) / len(baseline) if baseline and first else None
        line = RoundLine(r.id, r.label or "", r.flow_id, r.start_at, status["targeted"],
                         status["completed"], retained)
        first = first or line
        lines.append(line)
    return lines


async def measure_changes(store: Store, library: FlowLibrary, rounds: Sequence[Round],
                          people: set[str]) -> list[MeasureChange]:
    """Per flow asked at two or more labels: first label vs last (``baseline``/``end``
    when present), as the dashboard's results page compares them."""
    labels: dict[str, list[str]] = defaultdict(list)
    for r in rounds:
        if r.label and r.label not in labels[r.flow_id]:
            labels[r.flow_id].append(r.label)
    out = []
    for flow_id, names in labels.items():
        if len(names) < 2 or flow_id not in library:
            continue
        before = "baseline" if "baseline" in names else names[0]
        after = "end" if "end" in names else names[-1]
        rows = [a for a in await store.answers(flow_id=flow_id) if a.participant_id in people]
        ids = {lab: {r.id for r in rounds if r.label == lab and r.flow_id == flow_id}
               for lab in (before, after)}
        b = [a for a in rows if a.round_id in ids[before]]
        a = [x for x in rows if x.round_id in ids[after]]
        for fld, _, change in paired(library.get(flow_id), b, a):
            out.append(MeasureChange(flow_id, fld, before, after, change))
        if flow_id in scored_flows():
            out.append(MeasureChange(flow_id, "total (published scoring)", before, after,
                                     scored_change(flow_id, b, a)))
    return out


async def endorsements(store: Store, rounds: Sequence[Round]) -> list[Endorsement]:
    out = []
    for finding in await store.findings_all():
        ids = {r.id for r in rounds if r.finding_id == finding.id}
        if not ids:
            continue
        views = Counter(str(a.value) for a in await store.answers(flow_id="endorsement")
                        if a.round_id in ids and a.field == "endorse" and not a.skipped)
        out.append(Endorsement(finding.id, finding.title, views.most_common(),
                               finding.changes))
    return out


async def cost(store: Store, config: Config, rounds: Sequence[Round], people: int,
               start: dt.datetime | None, end: dt.datetime | None) -> Cost:
    ids = {r.id for r in rounds}
    segments = sum(o.segments or 0 for o in await store.outbox_all()
                   if o.channel == "sms" and o.status == "sent" and within(o.created_at,
                                                                          start, end)
                   and (o.round_id in ids or o.round_id is None))
    # credits earned in the period: paid (in a paid batch) or still owed
    batches = {b.id: b.status for b in await store.payout_batches()}
    in_batch = await store.payout_of_entries()
    value = config.credits.value_per_credit / 100
    paid = owed = 0.0
    for e in await store.ledger():
        if e.payable and within(e.at, start, end):
            if batches.get(in_batch.get(e.id or -1, "")) == "paid":
                paid += e.amount * value
            else:
                owed += e.amount * value
    hours = sum(e.minutes for e in await store.hour_entries()
                if e.kind == "earned" and within(e.at, start, end)) / 60
    return Cost(people, segments, segments * config.sms.segment_price, paid, owed, hours)


async def collect(store: Store, config: Config, library: FlowLibrary, now: dt.datetime,
                  start: dt.datetime | None = None, end: dt.datetime | None = None
                  ) -> ReportData:
    everyone = await store.list_participants()
    live = {p.id for p in everyone if p.status != "erased"}
    rounds = sorted((r for r in await store.rounds_all()
                     if r.status != "draft" and within(r.start_at, start, end)),
                    key=lambda r: r.start_at)
    data = ReportData(config.project.name, start, end, now,
                      sum(1 for p in everyone if p.status == "consented"))
    data.rounds = await round_lines(store, rounds)
    data.representation = {
        dim: representation(rows, config.representation.tolerance)
        for dim, rows in (await dimension_rows(store, config, rounds)).items()}
    data.changes = await measure_changes(store, library, rounds, live)
    data.endorsements = await endorsements(store, rounds)
    takers = set()
    for r in rounds:
        takers |= {t.participant_id for t in await store.targets_of(r.id)
                   if t.status == "completed"}
    data.cost = await cost(store, config, rounds, len(takers), start, end)
    answers = [a for a in await free_text(store, library) if within(a.at, start, end)]
    tags = await store.answer_themes()
    data.themes = counts(tags, await store.themes_all(), {a.id for a in answers if a.id})
    data.saturation = saturation(answers, tags).new_per_batch
    for event in await store.events_all():
        if within(event.at, start, end):
            rsvps = await store.rsvps_of(event.id)
            data.events.append((event.title, event.capacity,
                                sum(r.seat == "booked" for r in rsvps),
                                sum(r.attended_at is not None for r in rsvps)))
    return data
