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
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from bot.clock import ManualClock
from bot.config import Config, CreditRule
from bot.credits.ledger import balances, credits_text, money_text
from bot.credits.payouts import export, mark_paid
from bot.demo_agenda import agenda_step
from bot.demo_cycle import FINDING_V1, FINDING_V2, PERSONAS, Cycle, Persona, _line
from bot.findings.publish import publish
from bot.ids import SequentialIds
from bot.runtime import Runtime, open_runtime
from bot.store.records import Address, Participant
from bot.store.sqlite import SqliteStore
from bot.text.render import sms_bodies
from bot.wiring import round_service


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


async def run_demo(config: Config, console: Console, count: int = 2, *,
                   database: Path | None = None) -> None:
    """Run the demo cycle and print the transcript and a summary of what was stored;
    the SQLite database is kept at ``database`` when given (else it goes with the temp
    folder)."""
    with tempfile.TemporaryDirectory(prefix="parley-demo-") as tmp:
        folder = Path(tmp)
        config = _demo_config(config)
        db = database or folder / "parley.db"
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
    await _balances(cycle, config)
    total_batches = []
    for period in ("2026-03", "2026-04", "2026-05"):
        batch_id = await _export(cycle, config, period)
        if batch_id is not None:
            total_batches.append(batch_id)
    store, console = cycle.runtime.store, cycle.console
    again = await export(store, config, "2026-05", cycle.folder / "again.csv",
                         actor="coordinator@demo", now=cycle.clock.now())
    console.print("A second export of 2026-05 pays "
                  + ("nothing new." if again.batch is None else "again (a bug!)"))
    for batch_id in total_batches:
        await mark_paid(store, batch_id, actor="coordinator@demo", now=cycle.clock.now())
    if total_batches:
        console.print(f"parley credits mark-paid: {', '.join(total_batches)} paid. Payment "
                      "details never pass through chat: the team pays from its own records.")


async def _balances(cycle: Cycle, config: Config) -> None:
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


async def _export(cycle: Cycle, config: Config, period: str) -> str | None:
    """``parley credits export`` for one month, printed; the batch id, if any."""
    store, console = cycle.runtime.store, cycle.console
    out = cycle.folder / f"payout-{period}.csv"
    result = await export(store, config, period, out, actor="coordinator@demo",
                          now=cycle.clock.now())
    if result.batch is None:
        console.print(f"parley credits export --period {period}: nothing new to pay")
        return None
    b = result.batch
    console.print(f"parley credits export --period {period}: batch {b.id}, {b.rows} "
                  f"people, {credits_text(b.total)} credits "
                  f"({config.credits.unit}{money_text(b.total, config)})")
    for line in out.read_text(encoding="utf-8").splitlines():
        console.print(f"  [dim]{escape(line)}[/]", markup=True)
    if result.participation_file is not None and period == "2026-05":
        console.print("Participation record (everyone who took part, paid or not):")
        for line in result.participation_file.read_text(encoding="utf-8").splitlines():
            console.print(f"  [dim]{escape(line)}[/]", markup=True)
    return b.id


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
