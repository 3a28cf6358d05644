"""``parley demo``: a whole co-production cycle in seconds, on embedded defaults.

A fresh SQLite project in a temporary folder; simulated participants on Telegram-style
and SMS-style phones go through language, consent, onboarding, the ONS4 wellbeing
questions, endorsement of a draft finding and feedback. Everything but the providers is
real: the engine, the store, the templates and the flows shipped with Parley.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from bot.channels.render import button_labels, sms_bodies
from bot.clock import ManualClock
from bot.config import Config
from bot.ids import SequentialIds
from bot.runtime import open_runtime
from bot.simulator import Received, SimulatedPhone
from bot.store.sqlite import SqliteStore

FINDING = {
    "finding_id": "F1",
    "finding_title": "Fees push people further into debt",
    "finding_text": "Many of us were charged fees for missed payments that we could not "
                    "avoid. These fees made the debt bigger and harder to escape.",
}


@dataclass
class Persona:
    name: str
    address: str
    script: dict[str, list[str]]


PERSONAS = [
    Persona("Amira", "telegram:1001", {
        "hello": ["Hi"], "language": ["English"], "consent": ["Yes"],
        "onboarding": ["Amira", "Evening", "Telegram", "Bank transfer"],
        "ons4": ["6", "7/10", "seven", "3"],
        "endorsement": ["Partly agree", "Say 'charged fees' – some of us were never told why",
                        "Name me as a co-author"],
        "feedback": ["Good", "Send the questions earlier in the day", "Yes"],
    }),
    Persona("Bryn", "tel:+447700900123", {
        "hello": ["hello"], "language": ["1"], "consent": ["y"],
        "onboarding": ["SKIP", "4", "2", "3"],
        "ons4": ["eleven", "5", "6", "4", "8"],
        "endorsement": ["1", "Spot on", "2"],
        "feedback": ["2", "SKIP", "yes"],
    }),
    Persona("Ceri", "tel:+447700900456", {
        "hello": ["Helo"], "language": ["2"], "consent": ["ie"],
        "onboarding": ["Ceri", "1", "2", "1"],
        "ons4": ["8", "9", "7", "2"],
        "endorsement": ["3", "Nid ffioedd yw'r broblem fwyaf, ond y llog", "2"],
        "feedback": ["1", "Dim", "ie"],
    }),
]


def _line(console: Console, who: str, text: str, style: str) -> None:
    console.print(f"  [{style}]{escape(who):>8}[/] │ {escape(text)}", markup=True,
                  highlight=False)


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


async def _talk(console: Console, phone: SimulatedPhone, persona: Persona, step: str) -> None:
    for text in persona.script.get(step, []):
        _line(console, persona.name, text, "green")
        if phone.channel == "telegram" and phone.inbox and phone.inbox[-1].choices and any(
                c["label"] == text for c in phone.inbox[-1].choices):
            replies = await phone.press(text)
        else:
            replies = await phone.say(text)
        for msg in replies:
            _show(console, msg)


async def run_demo(config: Config, console: Console, count: int = 2) -> None:
    """Run the demo cycle and print the transcript and a summary of what was stored."""
    with tempfile.TemporaryDirectory(prefix="parley-demo-") as tmp:
        config = config.model_copy(deep=True)
        if len(config.project.locales) < 2:
            config.project.locales = ["en", "cy"]
        config.project.name = config.project.name if config.project.name != "Parley" \
            else "Money Voices"
        config.project.contact = "text or call Sam on 0800 123 4567"
        db = Path(tmp) / "parley.db"
        clock = ManualClock(datetime(2026, 3, 2, 10, 0, tzinfo=UTC))
        runtime = await open_runtime(config, store=SqliteStore(db), clock=clock,
                                     ids=SequentialIds())
        personas = [PERSONAS[i % len(PERSONAS)] for i in range(count)]
        phones = []
        for i, persona in enumerate(personas):
            address = persona.address if i < len(PERSONAS) else (
                f"telegram:{2000 + i}" if i % 2 == 0 else f"tel:+4477009{i:05d}")
            phones.append(SimulatedPhone(runtime, address))
        console.print(Panel.fit(
            f"[bold]Parley demo[/] — project '{config.project.name}'\n"
            f"A fresh SQLite project at {db}\n"
            f"{count} simulated participants: "
            + ", ".join(f"{p.name} ({'Telegram' if ph.channel == 'telegram' else 'SMS'})"
                        for p, ph in zip(personas, phones, strict=True)),
            title="Money Voices", border_style="blue"))

        async def stage(title: str, steps: list[str]) -> None:
            console.rule(f"[bold]{title}[/]  ({clock.now():%a %d %b %Y})")
            for phone, persona in zip(phones, personas, strict=True):
                console.print(f"[bold]{persona.name}[/] "
                              f"[dim]({'Telegram' if phone.channel == 'telegram' else 'SMS'})[/]")
                for step_name in steps:
                    await _talk(console, phone, persona, step_name)

        await stage("1. First contact: language, consent and getting started",
                    ["hello", "language", "consent", "onboarding"])
        await _round(console, runtime, phones, personas, clock,
                     "2. Baseline wellbeing survey (ONS4)", "ons4", {}, "ons4", timedelta(days=1))
        await _round(console, runtime, phones, personas, clock,
                     "3. Check-back: endorse a draft finding", "endorsement", FINDING,
                     "endorsement", timedelta(days=13))
        await _round(console, runtime, phones, personas, clock, "4. End of project: feedback",
                     "feedback", {}, "feedback", timedelta(days=28))
        await _summary(console, runtime)
        await runtime.close()


async def _round(console: Console, runtime: object, phones: list[SimulatedPhone],
                 personas: list[Persona], clock: ManualClock, title: str, flow_id: str,
                 variables: dict[str, str], script: str, jump: timedelta) -> None:
    from bot.runtime import Runtime

    assert isinstance(runtime, Runtime)
    clock.advance(jump)
    console.rule(f"[bold]{title}[/]  ({clock.now():%a %d %b %Y})")
    for phone, persona in zip(phones, personas, strict=True):
        participant = await runtime.store.participant_for_address(phone.address)
        if participant is None or participant.status != "consented":
            continue
        console.print(f"[bold]{persona.name}[/] "
                      f"[dim]({'Telegram' if phone.channel == 'telegram' else 'SMS'})[/]")
        await runtime.conversations.start_flow(participant.id, flow_id, dict(variables))
        for msg in await phone.collect():
            _show(console, msg)
        await _talk(console, phone, persona, script)


async def _summary(console: Console, runtime: object) -> None:
    from bot.runtime import Runtime

    assert isinstance(runtime, Runtime)
    store = runtime.store
    console.rule("[bold]What Parley stored[/]")
    people = Table(title="Participants")
    for col in ("id", "status", "locale", "preferred name", "channel", "payment", "consent"):
        people.add_column(col)
    for p in await store.list_participants():
        consents = await store.consents_of(p.id)
        people.add_row(p.id, p.status, p.locale, str(p.profile.get("preferred_name") or "—"),
                       str(p.preferred_channel or "—"),
                       str(p.profile.get("payment_preference") or "—"),
                       ", ".join(f"{c.decision} v{c.version}" for c in consents) or "—")
    console.print(people)
    answers = await store.answers()
    table = Table(title="Answers")
    for col in ("participant", "flow", "field", "value", "as written"):
        table.add_column(col)
    for a in answers:
        table.add_row(a.participant_id, a.flow_id, a.field or a.node,
                      "skipped" if a.skipped else repr(a.value), a.raw or "")
    console.print(table)
    sent = await store.outbox_all()
    by_channel = Counter(item.channel for item in sent)
    segments = sum(body.segments for item in sent if item.channel == "sms"
                   for body in sms_bodies(item.payload))
    ons = [a for a in answers if a.flow_id == "ons4" and not a.skipped]
    console.print(
        f"{len(await store.list_participants())} participants, {len(answers)} answers "
        f"({len(ons)} ONS4 scores), {len(sent)} messages sent "
        f"({by_channel.get('telegram', 0)} Telegram, {by_channel.get('sms', 0)} SMS using "
        f"{segments} segments).")
