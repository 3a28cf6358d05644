"""The demo's simulated project: personas with scripted replies, their phones, and the
``Cycle`` that moves the simulated clock and runs the scheduler's ``due(now)``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from bot.clock import ManualClock
from bot.findings.summary import summarise
from bot.runtime import Runtime
from bot.simulator import Received, SimulatedPhone
from bot.text.render import button_labels, sms_bodies
from bot.wiring import due_work, round_service

WAIT = "(no reply yet)"
FINDING_V1 = """# Fees push people further into debt

Many of us were charged fees for missed payments that we could not avoid. These fees made
the debt bigger and harder to escape.
"""
FINDING_V2 = """# Unexplained fees push people further into debt

Many of us were charged fees for missed payments that we could not avoid, often without
being told why. These fees made the debt bigger and harder to escape.

## What we changed
We now say that the fees were often not explained.
"""


@dataclass
class Persona:
    name: str
    address: str
    script: dict[str, list[str]]
    """Replies per flow id, used in order; ``WAIT`` leaves a question unanswered."""
    imported: bool = False
    timezone: str | None = None
    used: dict[str, int] = field(default_factory=dict)

    def next_reply(self, flow_id: str) -> str | None:
        """The next reply, or None: out of replies, or ``WAIT`` (not now: the next time
        the question comes, e.g. with a reminder, they answer)."""
        replies = self.script.get(flow_id, [])
        n = self.used.get(flow_id, 0)
        if n >= len(replies):
            return None
        self.used[flow_id] = n + 1
        return None if replies[n] == WAIT else replies[n]


PERSONAS = [
    Persona("Amira", "telegram:1001", {
        "hello": ["Hi"], "language": ["English"], "consent": ["Yes"],
        "onboarding": ["Amira", "Evening", "Telegram", "Bank transfer"],
        "ons4": ["6", "7/10", "seven", "3",            # baseline
                 "7", "7", "8", "3",                   # check-in
                 "8", "8", "8", "2"],                  # end of project
        "endorsement": ["Partly agree", "Say 'charged fees' – some of us were never told why",
                        "Name me as a co-author",
                        "Agree", "Thank you for listening", "Name me as a co-author"],
        "feedback": ["Good", "Send the questions earlier in the day", "Yes"],
        "suggest": ["SUGGEST cheaper bus fares to the advice centre"], "vote": ["1 2"],
    }),
    Persona("Bryn", "tel:+447700900123", {
        "hello": ["hello"], "language": ["1"], "consent": ["y"],
        "onboarding": ["SKIP", "4", "2", "3"],
        "ons4": ["eleven", "5", "6", "4", "8",
                 WAIT, "5", "6", "6", "5",
                 "6", "7", "7", "4"],
        "endorsement": ["1", "Spot on", "2", "1", "Still right", "2"],
        "feedback": ["2", "SKIP", "yes"],
        "suggest": ["suggest: the bus costs too much"], "vote": ["1"],
    }, timezone="America/New_York"),
    Persona("Ceri", "tel:+447700900456", {
        "language": ["2"], "consent": ["ie"],
        "onboarding": ["Ceri", "1", "2", "1"],
        "ons4": ["8", "9", "7", "2", "7", "8", "7", "3", "8", "9", "8", "2"],
        "endorsement": ["3", "Nid ffioedd yw'r broblem fwyaf, ond y llog", "2",
                        "2", "Gwell, ond mae'r llog yn bwysicach", "2"],
        "feedback": ["1", "Dim", "ie"],
        "suggest": ["AWGRYM llai o ffurflenni i'w llenwi"], "vote": ["2"],
    }, imported=True),
]


def _line(console: Console, who: str, text: str, style: str) -> None:
    console.print(f"  [{style}]{who:>8}[/] │ {escape(text)}", markup=True, highlight=False)


def _show(console: Console, msg: Received) -> None:
    if msg.channel == "telegram":
        _line(console, "Parley", msg.text.replace("\n", "\n           │ "), "cyan")
        if msg.choices:
            buttons = "  ".join(f"[reverse] {escape(label)} [/]"
                                for label in button_labels(msg.payload))
            console.print(f"           │ {buttons}", markup=True, highlight=False)
        return
    for body in sms_bodies(msg.payload):
        _line(console, "Parley", body.text.replace("\n", "\n           │ "), "cyan")
        console.print(f"           │ [dim]SMS: {body.encoding}, {body.segments} segment"
                      f"{'s' if body.segments != 1 else ''}[/]", markup=True)


class DemoPhone(SimulatedPhone):
    """A simulated phone that also records SMS segments, as the real sender does."""

    async def collect(self) -> list[Received]:
        store, now = self.runtime.store, self.runtime.clock.now()
        got = []
        for item in await store.outbox_due(self.channel, now, 10_000):
            if item.address != self.address:
                continue
            item.status, item.sent_at, item.attempts = "sent", now, item.attempts + 1
            if self.channel == "sms":
                item.segments = sum(b.segments for b in sms_bodies(item.payload))
            await store.outbox_update(item)
            got.append(Received(item.payload, self.channel))
        self.inbox.extend(got)
        return got


class Cycle:
    """The simulated project: phones, personas and the scheduler's ``due``."""

    def __init__(self, runtime: Runtime, clock: ManualClock, console: Console,
                 personas: list[Persona], folder: Path) -> None:
        self.runtime, self.clock, self.console = runtime, clock, console
        self.personas, self.folder = personas, folder
        self.phones = {p.name: DemoPhone(runtime, p.address) for p in personas}
        self.rounds = round_service(runtime.conversations)
        self.work = due_work(runtime)

    def title(self, text: str) -> None:
        self.console.rule(f"[bold]{text}[/]  ({self.clock.now():%a %d %b %Y, %H:%M} UTC)")

    async def converse(self, persona: Persona, got: list[Received]) -> None:
        """Show what arrived and let the persona answer while they have answers."""
        phone = self.phones[persona.name]
        while got:
            for msg in got:
                _show(self.console, msg)
            latest = got[-1]
            flow_id = str(latest.payload.get("flow_id") or "")
            if latest.payload.get("kind") not in ("question", "reprompt"):
                return
            reply = persona.next_reply(flow_id)
            if reply is None:
                if flow_id:
                    _line(self.console, persona.name, WAIT, "dim")
                return
            _line(self.console, persona.name, reply, "green")
            if phone.channel == "telegram" and reply in button_labels(latest.payload):
                got = await phone.press(reply)
            else:
                got = await phone.say(reply)

    async def tick(self) -> datetime | None:
        """One pass of the scheduler, then let people read and answer; returns when the
        next known piece of work is due."""
        report = await self.work.due(self.clock.now())
        for persona in self.personas:
            got = await self.phones[persona.name].collect()
            if got:
                self.console.print(f"[bold]{persona.name}[/] [dim]({self._channel(persona)}, "
                                   f"{self._local(persona)})[/]", markup=True)
                await self.converse(persona, got)
        return report.next_due

    async def run_for(self, span: timedelta) -> None:
        """Let simulated time pass, waking the scheduler when something is due (as the
        APScheduler job in ``parley serve`` does)."""
        end = self.clock.now() + span
        while True:
            next_due = await self.tick()
            now = self.clock.now()
            if now >= end:
                return
            wake = next_due if next_due is not None and next_due > now else end
            self.clock.set(min(max(wake, now + timedelta(minutes=1)), end))

    def _local(self, persona: Persona) -> str:
        from bot.timing import zone

        tz = persona.timezone or self.runtime.config.schedule.timezone
        return f"{self.clock.now().astimezone(zone(tz)):%a %H:%M} their time"

    def _channel(self, persona: Persona) -> str:
        where = "Telegram" if persona.address.startswith("telegram:") else "SMS"
        return where + (f", {persona.timezone}" if persona.timezone else "")

    async def send_round(self, flow: str, label: str, *, finding: str | None = None,
                         audience: str = "all", remind_after: str | None = None,
                         every: str | None = None, days: int = 6,
                         extra_vars: dict[str, str] | None = None) -> str:
        """Create, start and run a round through ``days`` of the scheduler's passes."""
        if audience.startswith("commented:"):
            item = await self.rounds.build(flow=flow, audience=audience, finding=finding,
                                           label=label, remind_after=remind_after,
                                           close_after="7d", actor="demo")
        else:
            item = await self.rounds.build(flow=flow, audience=audience, finding=finding,
                                           label=label, remind_after=remind_after,
                                           every=every, close_after="7d", actor="demo",
                                           until=(self.clock.now() + timedelta(days=20))
                                           .isoformat() if every else None,
                                           extra_vars=extra_vars)
        await self.rounds.create(item, "coordinator@demo")
        _, count = await self.rounds.start(item.id, "coordinator@demo")
        self.console.print(f"[dim]parley rounds start {item.id}: {flow} ({label}) planned for "
                           f"{count} people, sent at a good time in each person's day[/]",
                           markup=True)
        await self.run_for(timedelta(days=days))
        await self.status(item.id)
        return item.id

    async def status(self, round_id: str) -> None:
        s = await self.rounds.status(round_id)
        self.console.print(
            f"[dim]parley rounds status {round_id}: {s['targeted']} targeted, {s['sent']} "
            f"sent, {s['started']} started, {s['completed']} completed; SMS segments "
            f"{s['segments_sent']} sent of {s['segments_estimated']} estimated[/]",
            markup=True)

    async def finding_summary(self, finding_id: str) -> None:
        finding = await self.runtime.store.finding_get(finding_id)
        assert finding is not None
        s = await summarise(self.runtime.store, finding)
        table = Table(title=f"parley findings summary {finding_id}: v{finding.version} "
                            f"'{finding.title}' — agree {s.counts['agree']}, partly "
                            f"{s.counts['partly']}, disagree {s.counts['disagree']}")
        for col in ("who", "view", "comment", "proposed amendment"):
            table.add_column(col, overflow="fold")
        for r in s.responses:
            table.add_row(escape(r.who), r.view or "—", escape(r.comment) or "—",
                          escape(r.amendment) or "—")
        self.console.print(table)
        self.console.print("Co-authors who asked to be named: "
                           + escape(", ".join(s.coauthors) or "none"))
