"""``parley demo``: a whole co-production cycle in seconds, on embedded defaults.

A fresh SQLite project in a temporary folder and simulated participants on
Telegram-style and SMS-style phones. The clock is simulated and jumps weeks at a time;
everything else is real: rounds are created and started as ``parley rounds`` does, and
the scheduler's own ``due(now)`` sends them, with reminders, quiet hours and each
person's time zone. The cycle follows the co-production method:

1. first contact: language, consent, getting started (and someone imported from a
   list, who is introduced and asked for consent by the first round);
2. a baseline wellbeing survey (ONS4);
3. a fortnightly check-in, with a reminder for someone who has not answered;
4. a draft finding to endorse, amend or reject; then its revision, sent back to the
   people who commented ("you said, we did");
5. the end-of-project survey and feedback;
6. credits earned, and a payout batch exported and marked paid.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from bot.channels.render import button_labels, sms_bodies
from bot.clock import ManualClock
from bot.config import Config, CreditRule
from bot.credits.ledger import balances, credits_text, money_text
from bot.credits.payouts import export, mark_paid
from bot.demo_agenda import agenda_step
from bot.findings.publish import publish
from bot.findings.summary import summarise
from bot.ids import SequentialIds
from bot.rounds.wiring import due_work, round_service
from bot.runtime import Runtime, open_runtime
from bot.simulator import Received, SimulatedPhone
from bot.store.records import Address, Participant
from bot.store.sqlite import SqliteStore

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
        from bot.scheduler.timing import zone

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


async def _enrol_imported(runtime: Runtime, persona: Persona) -> None:
    """Someone on the team's list who has never been contacted (``participants import``)."""
    now = runtime.clock.now()
    pid = runtime.conversations.ids.new("p")
    person = Participant(id=pid, created_at=now, name=persona.name, imported=True,
                         timezone=persona.timezone, preferred_channel="sms")
    await runtime.store.import_participants([(person, [Address(persona.address, pid, "sms",
                                                               now)])])


def _demo_config(config: Config) -> Config:
    config = config.model_copy(deep=True)
    if len(config.project.locales) < 2:
        config.project.locales = ["en", "cy"]
    if config.project.name == "Parley":
        config.project.name = "Money Voices"
    config.project.contact = "text or call Sam on 0800 123 4567"
    if not config.credits.rules:
        config.credits.rules = [CreditRule(flow="ons4", amount=5),
                                CreditRule(flow="endorsement", amount=10),
                                CreditRule(flow="feedback", amount=5)]
    return config


async def run_demo(config: Config, console: Console, count: int = 2) -> None:
    """Run the demo cycle and print the transcript and a summary of what was stored."""
    with tempfile.TemporaryDirectory(prefix="parley-demo-") as tmp:
        folder = Path(tmp)
        config = _demo_config(config)
        db = folder / "parley.db"
        clock = ManualClock(datetime(2026, 3, 2, 10, 0, tzinfo=UTC))
        runtime = await open_runtime(config, store=SqliteStore(db), clock=clock,
                                     ids=SequentialIds())
        personas = []
        for i in range(max(count, 3)):
            base = PERSONAS[i % len(PERSONAS)]
            address = base.address if i < len(PERSONAS) else (
                f"telegram:{2000 + i}" if i % 2 == 0 else f"tel:+4477009{i:05d}")
            name = base.name if i < len(PERSONAS) else f"{base.name} {i + 1}"
            personas.append(Persona(name, address, base.script, base.imported,
                                    base.timezone))
        cycle = Cycle(runtime, clock, console, personas, folder)
        console.print(Panel(
            f"[bold]Parley demo[/] — project '{escape(config.project.name)}'\n"
            f"A fresh SQLite project at {db}; the clock is simulated.\n"
            f"{len(personas)} simulated participants: "
            + ", ".join(f"{p.name} ({cycle._channel(p)}{', imported' if p.imported else ''})"
                        for p in personas),
            title="Money Voices", border_style="blue"))

        cycle.title("1. First contact: language, consent and getting started")
        for persona in personas:
            if persona.imported:
                await _enrol_imported(runtime, persona)
                console.print(f"[dim]{persona.name} is on the team's list (parley "
                              "participants import); the first round will introduce us.[/]",
                              markup=True)
                continue
            console.print(f"[bold]{persona.name}[/] [dim]({cycle._channel(persona)})[/]",
                          markup=True)
            for text in persona.script["hello"]:
                _line(console, persona.name, text, "green")
                await cycle.converse(persona, await cycle.phones[persona.name].say(text))
            p = await runtime.store.participant_for_address(persona.address)
            if p is not None and persona.timezone:
                p.timezone = persona.timezone
                from bot.store.records import Changes

                await runtime.store.apply(Changes(participant=p))

        cycle.title("2. Baseline wellbeing survey (ONS4), Monday 10:00 London time")
        await cycle.send_round("ons4", "baseline", days=3)

        clock.set(datetime(2026, 3, 16, 10, 0, tzinfo=UTC))
        cycle.title("3. Fortnightly check-in, with a reminder after a day")
        await cycle.send_round("ons4", "checkin", remind_after="1d", days=3)

        folder.joinpath("finding.md").write_text(FINDING_V1, encoding="utf-8")
        finding = await publish(runtime.store, folder / "finding.md", replaces=None,
                                actor="coordinator@demo", now=clock.now())
        clock.set(datetime(2026, 3, 30, 10, 0, tzinfo=UTC))
        cycle.title(f"4. Check-back: endorse draft finding {finding.id}")
        await cycle.send_round("endorsement", f"endorse-{finding.id}", finding=finding.id,
                               days=2)
        await cycle.finding_summary(finding.id)

        folder.joinpath("finding-v2.md").write_text(FINDING_V2, encoding="utf-8")
        revised = await publish(runtime.store, folder / "finding-v2.md", replaces=finding.id,
                                actor="coordinator@demo", now=clock.now())
        clock.set(datetime(2026, 4, 13, 10, 0, tzinfo=UTC))
        cycle.title(f"5. You said, we did: revision {revised.id} to those who commented")
        await cycle.send_round("endorsement", "revision", finding=revised.id,
                               audience=f"commented:{revised.id}", days=2)
        await cycle.finding_summary(revised.id)

        clock.set(datetime(2026, 4, 27, 10, 0, tzinfo=UTC))
        cycle.title("6. Participants set the agenda: suggestions, a vote, the result")
        await agenda_step(cycle)

        clock.set(datetime(2026, 5, 25, 10, 0, tzinfo=UTC))
        cycle.title("7. End of project: wellbeing survey again, and feedback")
        await cycle.send_round("ons4", "end", days=1)
        await cycle.send_round("feedback", "feedback", days=1)

        clock.set(datetime(2026, 6, 1, 10, 0, tzinfo=UTC))
        cycle.title("8. Credits and a payout batch")
        await _payouts(cycle, config)
        await _summary(console, runtime)
        await runtime.close()


async def _payouts(cycle: Cycle, config: Config) -> None:
    store, console = cycle.runtime.store, cycle.console
    names = {}
    for persona in cycle.personas:
        person = await store.participant_for_address(persona.address)
        if person is not None:
            names[person.id] = persona.name
    table = Table(title=f"parley credits balance ({config.credits.unit}"
                        f"{config.credits.value_per_credit} a credit)")
    for col in ("participant", "completions", "earned", "owed", "payment"):
        table.add_column(col)
    prefs = {p.id: str(p.profile.get("payment_preference") or "—")
             for p in await store.list_participants()}
    for pid, bal in (await balances(store)).items():
        table.add_row(escape(names.get(pid, pid)), str(bal.completions),
                      credits_text(bal.earned), credits_text(bal.owed), prefs.get(pid, "—"))
    console.print(table)
    total_batches = []
    for period in ("2026-03", "2026-04", "2026-05"):
        out = cycle.folder / f"payout-{period}.csv"
        result = await export(store, config, period, out, actor="coordinator@demo",
                              now=cycle.clock.now())
        if result.batch is None:
            console.print(f"parley credits export --period {period}: nothing new to pay")
            continue
        b = result.batch
        total_batches.append(b.id)
        console.print(f"parley credits export --period {period}: batch {b.id}, {b.rows} "
                      f"people, {credits_text(b.total)} credits "
                      f"({config.credits.unit}{money_text(b.total, config)})")
        for line in out.read_text(encoding="utf-8").splitlines():
            console.print(f"  [dim]{escape(line)}[/]", markup=True)
        if result.participation_file is not None and period == "2026-05":
            console.print("Participation record (everyone who took part, paid or not):")
            for line in result.participation_file.read_text(encoding="utf-8").splitlines():
                console.print(f"  [dim]{escape(line)}[/]", markup=True)
    again = await export(store, config, "2026-05", cycle.folder / "again.csv",
                         actor="coordinator@demo", now=cycle.clock.now())
    console.print("A second export of 2026-05 pays "
                  + ("nothing new." if again.batch is None else "again (a bug!)"))
    for batch_id in total_batches:
        await mark_paid(store, batch_id, actor="coordinator@demo", now=cycle.clock.now())
    if total_batches:
        console.print(f"parley credits mark-paid: {', '.join(total_batches)} paid. Payment "
                      "details never pass through chat: the team pays from its own records.")


async def _summary(console: Console, runtime: Runtime) -> None:
    store = runtime.store
    console.rule("[bold]What Parley stored[/]")
    people = Table(title="Participants")
    for col in ("id", "status", "locale", "preferred name", "channel", "payment", "consent"):
        people.add_column(col)
    for p in await store.list_participants():
        consents = await store.consents_of(p.id)
        people.add_row(p.id, p.status, p.locale,
                       escape(str(p.profile.get("preferred_name") or "—")),
                       str(p.preferred_channel or "—"),
                       str(p.profile.get("payment_preference") or "—"),
                       ", ".join(f"{c.decision} v{c.version}" for c in consents) or "—")
    console.print(people)
    rounds = Table(title="Rounds")
    for col in ("round", "flow", "label", "targeted", "sent", "completed", "late",
                "SMS segments (sent/estimated)"):
        rounds.add_column(col)
    for item in await store.rounds_all():
        s = await cycle_status(runtime, item.id)
        late = sum(1 for t in await store.targets_of(item.id) if t.late)
        rounds.add_row(item.id, item.flow_id, item.label or "—", str(s["targeted"]),
                       str(s["sent"]), str(s["completed"]), str(late),
                       f"{s['segments_sent']}/{s['segments_estimated']}")
    console.print(rounds)
    answers = await store.answers()
    sent = await store.outbox_all()
    by_channel = {ch: sum(1 for item in sent if item.channel == ch) for ch in ("telegram",
                                                                              "sms")}
    segments = sum(body.segments for item in sent if item.channel == "sms"
                   for body in sms_bodies(item.payload))
    ons = [a for a in answers if a.flow_id == "ons4" and not a.skipped]
    console.print(
        f"{len(await store.list_participants())} participants, {len(answers)} answers "
        f"({len(ons)} ONS4 scores), {len(sent)} messages sent ({by_channel['telegram']} "
        f"Telegram, {by_channel['sms']} SMS using {segments} segments), "
        f"{len(await store.ledger())} ledger entries, "
        f"{len(await store.audit_log(1000))} coordinator actions in the audit log.")


async def cycle_status(runtime: Runtime, round_id: str) -> dict[str, int]:
    return await round_service(runtime.conversations).status(round_id)
