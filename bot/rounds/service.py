"""Coordinators' operations on rounds, shared by the CLI and chat-side commands.

A round is created as a draft (``create``), can be previewed (``preview``) and sent to
the coordinators' own phones (``test_send``), then ``start`` plans one target row per
person and the scheduler takes it from there. ``pause``/``resume``/``cancel`` act on a
whole repeating series. Every action is written to the audit log with who did it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.burden.estimate import messages
from bot.burden.invitation import Durations
from bot.clock import Clock
from bot.config import Config
from bot.conversations import channel_of, payload_of
from bot.durations import parse_duration
from bot.engine import StepContext, begin
from bot.errors import ParleyError
from bot.findings.publish import finding_vars
from bot.findings.summary import commenters
from bot.findings.translations import translation_vars
from bot.flows.loader import FlowLibrary
from bot.i18n.renderer import Renderer
from bot.representation import dimension_rows, gap_warnings
from bot.rounds.audience import Audience, audience_candidates, audience_of, parse_audience
from bot.rounds.burden_limits import BurdenReport, apply_limits, note_paused
from bot.rounds.checks import SENDABLE, check_schedule
from bot.rounds.cost import Estimator
from bot.rounds.planner import plan_targets
from bot.rounds.status import round_status
from bot.store.base import Store
from bot.store.records import Changes, OutboxItem
from bot.store.round_records import AuditEntry, Candidate, Round, RoundTarget
from bot.timing import add_local, parse_local


@dataclass
class Preview:
    """What ``rounds create --dry-run`` shows: nothing is written."""

    round: Round
    targets: list[RoundTarget]
    names: dict[str, str] = field(default_factory=dict)
    burden: BurdenReport = field(default_factory=BurdenReport)
    """Who the ``[burden]`` limits leave out or delay, and who is paused."""
    gaps: list[str] = field(default_factory=list)
    """Representativeness gaps this round would widen (``bot.representation``)."""

    def by_channel(self) -> dict[str, int]:
        out = {"telegram": 0, "sms": 0, "whatsapp": 0, "none": 0}
        for t in self.targets:  # opted out / unreachable count as "none": not sent
            sent = t.status == SENDABLE and t.channel in ("telegram", "sms", "whatsapp")
            out[t.channel if sent and t.channel else "none"] += 1
        return out

    @property
    def segments(self) -> int:
        return sum(t.segments_estimated for t in self.targets)


class RoundService:
    def __init__(self, *, store: Store, config: Config, library: FlowLibrary,
                 renderer: Renderer, clock: Clock) -> None:
        self.store, self.config, self.library = store, config, library
        self.renderer, self.clock = renderer, clock

    # -- creating ---------------------------------------------------------------------
    async def new_id(self) -> str:
        known = {r.id for r in await self.store.rounds_all()}
        heads = sum(1 for r in known if "-" not in r)
        n = heads + 1
        while f"r{n}" in known:
            n += 1
        return f"r{n}"

    async def _finding_vars(self, finding: str) -> dict[str, str]:
        found = await self.store.finding_get(finding)
        if found is None:
            raise ParleyError(f"--finding: no finding '{finding}' "
                              "(publish it with: parley findings publish FILE.md)")
        return {**finding_vars(found), **await translation_vars(self.store, found)}

    async def build(self, *, flow: str, audience: str, finding: str | None = None,
                    start: str | None = None, every: str | None = None,
                    until: str | None = None, remind_after: str | None = None,
                    close_after: str | None = None, label: str | None = None,
                    actor: str = "", base: Path | None = None,
                    extra_vars: dict[str, str] | None = None) -> Round:
        """A validated draft round (not stored); ParleyError saying what is wrong.
        ``extra_vars``: flow variables worked out by the caller (a vote's options)."""
        if flow not in self.library:
            raise ParleyError(f"--flow: no flow called '{flow}' "
                              f"(known: {', '.join(self.library.ids)})")
        spec = self._audience(audience, base)
        tz = self.config.schedule.timezone
        now = self.clock.now()
        try:
            start_at = parse_local(start, tz) if start else now
            until_at = parse_local(until, tz) if until else None
        except ValueError as exc:
            raise ParleyError(f"--start/--until: {exc}") from exc
        if until_at is not None and every is None:
            raise ParleyError("--until needs --every (it ends a repeating round)")
        reminders = tuple(p.strip() for p in (remind_after or "").split(",") if p.strip())
        _check_durations(every, close_after, reminders)
        check_schedule(start_at, until_at, reminders, close_after)
        variables: dict[str, str] = dict(extra_vars or {})
        if finding is not None:
            variables.update(await self._finding_vars(finding))
        missing = [n for n, v in self.library.get(flow).vars.items()
                   if v.required and n not in variables]
        if missing:
            raise ParleyError(f"flow '{flow}' needs {', '.join(missing)}"
                              + (": pass --finding ID" if "finding_text" in missing else "")
                              + (": pass --from-suggestions or --budget" if "options" in missing
                                 else ""))
        if spec.kind == "commented" and finding is None:
            raise ParleyError("audience commented:ID needs --finding (the new version)")
        rid = await self.new_id()
        return Round(id=rid, flow_id=flow, audience=spec.spec, created_at=now,
                     start_at=start_at, label=label, finding_id=finding, vars=variables,
                     every=every, until=until_at, remind_after=reminders,
                     close_after=close_after, series_id=rid if every else None,
                     audience_ids=spec.ids, created_by=actor)

    def _audience(self, spec: str, base: Path | None) -> Audience:
        if spec.startswith("commented:"):
            return Audience("commented", spec.split(":", 1)[1].strip())
        return parse_audience(spec, base)

    async def create(self, item: Round, actor: str) -> Round:
        await self.store.round_add(item)
        await self.audit(actor, "round.create", item.id, {
            "flow": item.flow_id, "audience": item.audience, "label": item.label,
            "start_at": item.start_at.isoformat(), "every": item.every})
        return item

    # -- planning -----------------------------------------------------------------------
    async def people(self, item: Round) -> tuple[list[Candidate], dict[str, dict[str, str]]]:
        """Who the round goes to now, and any per-person flow variables."""
        if item.audience.startswith("commented:"):
            finding = await self.store.finding_get(item.finding_id or "")
            if finding is None:
                return [], {}
            said = await commenters(self.store, finding)
            people = await self.store.candidates(ids=list(said))
            return people, {pid: {"you_said": words, "we_did": finding.changes}
                            for pid, words in said.items()}
        return await audience_candidates(self.store, audience_of(item.audience,
                                                                 item.audience_ids)), {}

    def estimator(self, item: Round) -> Estimator:
        consent = self.library.get("consent") if "consent" in self.library else None
        return Estimator(self.library.get(item.flow_id), self.renderer,
                         self.config.project_data(), item.vars, consent)

    async def targets(self, item: Round, now: dt.datetime) -> list[RoundTarget]:
        return (await self.limited(item, now))[0]

    async def limited(self, item: Round,
                      now: dt.datetime) -> tuple[list[RoundTarget], BurdenReport]:
        """The plan, after the ``[burden]`` limits have left out or delayed people."""
        people, extra = await self.people(item)
        estimate = self.estimator(item)
        targets = list(plan_targets(item, people, self.config, now, estimate.segments, extra,
                                    estimate.first_contact))
        report = await apply_limits(self.store, self.config, item, targets,
                                    messages(self.library.get(item.flow_id)), people)
        return targets, report

    async def preview(self, item: Round) -> Preview:
        now = self.clock.now()
        targets, report = await self.limited(item, now)
        everyone = await self.store.list_participants()
        names = {p.id: p.name or str(p.profile.get("preferred_name") or "")
                 for p in everyone}
        note_paused(report, targets, everyone, now)
        going = {t.participant_id for t in targets if t.status == "planned"}
        gaps = gap_warnings(await dimension_rows(self.store, self.config,
                                                 await self.store.rounds_all()),
                            [p for p in everyone if p.id in going],
                            self.config.representation.tolerance)
        return Preview(item, targets, names, report, gaps)

    async def plan(self, item: Round, now: dt.datetime) -> int:
        """Write one target per person and set the round running (one transaction)."""
        targets, _ = await self.limited(item, now)
        item.status, item.started_at = "running", now
        return await self.store.round_plan(item, targets)

    # -- lifecycle ------------------------------------------------------------------------
    async def get(self, round_id: str) -> Round:
        found = await self.store.round_get(round_id)
        if found is None:
            known = [r.id for r in await self.store.rounds_all()]
            raise ParleyError(f"no round '{round_id}' (known: {', '.join(known) or 'none'})")
        return found

    async def start(self, round_id: str, actor: str) -> tuple[Round, int]:
        item = await self.get(round_id)
        if item.status != "draft":
            raise ParleyError(f"round {round_id} is {item.status}; only a draft can be started")
        count = await self.plan(item, self.clock.now())
        await self.audit(actor, "round.start", round_id, {"targets": count})
        return item, count

    async def series(self, item: Round) -> list[Round]:
        if item.series_id is None:
            return [item]
        return [r for r in await self.store.rounds_all() if r.series_id == item.series_id]

    async def pause(self, round_id: str, actor: str) -> list[Round]:
        item = await self.get(round_id)
        members = await self.series(item)
        latest = max(members, key=lambda r: r.occurrence)
        changed = []
        for r in members:
            if r.status == "running" or (r is latest and r.status == "closed"):
                r.status = "paused"
                await self.store.round_save(r)
                changed.append(r)
        if not changed:
            raise ParleyError(f"round {round_id} is {item.status}; nothing to pause")
        await self.audit(actor, "round.pause", round_id, {"rounds": [r.id for r in changed]})
        return changed

    async def resume(self, round_id: str, actor: str) -> list[Round]:
        item = await self.get(round_id)
        changed = []
        for r in await self.series(item):
            if r.status == "paused":
                r.status = "running"
                await self.store.round_save(r)
                changed.append(r)
        if not changed:
            raise ParleyError(f"round {round_id} is {item.status}; nothing to resume")
        await self.audit(actor, "round.resume", round_id, {"rounds": [r.id for r in changed]})
        return changed

    async def cancel(self, round_id: str, actor: str) -> int:
        item = await self.get(round_id)
        now = self.clock.now()
        count, touched = 0, []
        for r in await self.series(item):
            if r.status in ("draft", "running", "paused") or (
                    r.series_id is not None and r.status == "closed"):
                r.status, r.closed_at = "cancelled", r.closed_at or now
                count += await self.store.round_cancel(r, now)
                touched.append(r.id)
        if not touched:
            raise ParleyError(f"round {round_id} is {item.status}; nothing to cancel")
        await self.audit(actor, "round.cancel", round_id, {"rounds": touched,
                                                           "targets_cancelled": count})
        return count

    async def status(self, round_id: str) -> dict[str, Any]:
        return await round_status(self.store, await self.get(round_id))

    # -- a test send to the coordinators' own phones ------------------------------------
    def coordinator_addresses(self) -> list[str]:
        from bot.people import normalise_phone

        out = [f"telegram:{i}" for i in self.config.coordinators.telegram_ids]
        for phone in self.config.coordinators.phones:
            try:
                out.append("tel:" + normalise_phone(phone, self.config.sms.default_region))
            except ValueError:
                continue
        return out

    async def test_send(self, round_id: str, actor: str) -> list[str]:
        """The round's first messages, marked as a test, to every coordinator address;
        nothing about the round or any participant changes."""
        item = await self.get(round_id)
        addresses = self.coordinator_addresses()
        if not addresses:
            raise ParleyError("no coordinators configured: add [coordinators] telegram_ids "
                              "or phones to the config")
        flow = self.library.get(item.flow_id)
        now = self.clock.now()
        locale = self.config.project.locales[0]
        ctx = StepContext(renderer=self.renderer, project=self.config.project_data(),
                          timezone=self.config.schedule.timezone)
        result = begin(flow, session_id=f"test-{item.id}", participant_id="coordinator",
                       locale=locale, now=now, ctx=ctx, vars=item.vars)
        rows = []
        for address in addresses:
            channel = channel_of(address)
            label = f"[TEST of round {item.id}: {flow.title}]"
            rows.append(OutboxItem(participant_id="", address=address, channel=channel,
                                   payload={"text": label, "plain": label, "kind": "test",
                                            "choices": [], "layout": "list"},
                                   created_at=now, not_before=now))
            outputs = Durations(self.renderer, self.config).invite(  # as people get it
                result.outputs, flow, locale, channel)
            for output in outputs:
                payload = payload_of(output, None)
                payload["kind"] = "test"
                rows.append(OutboxItem(participant_id="", address=address, channel=channel,
                                       payload=payload, created_at=now, not_before=now))
        await self.store.apply(Changes(outbox=rows))
        await self.audit(actor, "round.test_send", round_id, {"to": addresses})
        return addresses

    # -- repeating rounds -------------------------------------------------------------
    def occurrence_start(self, head: Round, n: int) -> dt.datetime:
        assert head.every is not None
        return add_local(head.start_at, head.every, self.config.schedule.timezone, n - 1)

    async def spawn_due(self, now: dt.datetime) -> list[Round]:
        """Plan the next occurrence of each repeating round whose time has come. After
        downtime only the latest missed occurrence is sent, not every one."""
        every_round = await self.store.rounds_all()
        spawned = []
        for head in every_round:
            if head.every is None or head.series_id != head.id:
                continue
            members = [r for r in every_round if r.series_id == head.id]
            latest = max(members, key=lambda r: r.occurrence)
            if latest.status in ("draft", "paused", "cancelled"):
                continue
            n = latest.occurrence + 1
            if self.occurrence_start(head, n) > now:
                continue
            while self.occurrence_start(head, n + 1) <= now:
                n += 1
            start = self.occurrence_start(head, n)
            if head.until is not None and start > head.until:
                continue
            item = Round(id=f"{head.id}-{n}", flow_id=head.flow_id, audience=head.audience,
                         created_at=now, start_at=start, label=head.label,
                         finding_id=head.finding_id, vars=dict(head.vars), every=head.every,
                         until=head.until, remind_after=head.remind_after,
                         close_after=head.close_after, series_id=head.id, occurrence=n,
                         audience_ids=head.audience_ids, created_by=head.created_by)
            await self.store.round_add(item)
            await self.plan(item, now)
            await self.audit("scheduler", "round.occurrence", item.id,
                             {"series": head.id, "occurrence": n})
            spawned.append(item)
        return spawned

    async def audit(self, actor: str, action: str, subject: str,
                    detail: dict[str, Any]) -> None:
        await self.store.audit_add(AuditEntry(self.clock.now(), actor or "unknown", action,
                                              subject, detail))


def _check_durations(every: str | None, close_after: str | None,
                     reminders: tuple[str, ...]) -> None:
    for name, value in [("--every", every), ("--close-after", close_after),
                        *[("--remind-after", r) for r in reminders]]:
        if value is not None:
            try:
                parse_duration(value)
            except ValueError as exc:
                raise ParleyError(f"{name}: {exc}") from exc
