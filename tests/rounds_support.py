"""A small co-production project on an injected clock, for round and scheduler tests.

``Project`` holds a runtime (a scratch or SQLite store), the scheduler's ``DueWork`` and a
simulated phone per person. ``run_until`` drives ``due(now)`` the way the real scheduler
does (waking at the next due moment), delivers what the senders would send, records
every delivery with its time, and lets scripted people reply.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bot.clock import ManualClock
from bot.config import Config
from bot.conversations.bundle import kinds
from bot.ids import SequentialIds
from bot.rounds.service import RoundService
from bot.runtime import Runtime, open_runtime
from bot.scheduler.due import DueReport, DueWork
from bot.simulator import Received, SimulatedPhone
from bot.store.base import Store
from bot.store.records import Address, Changes, Participant
from bot.store.scratch import ScratchStore
from bot.wiring import due_work, round_service

ROOT = Path(__file__).resolve().parent.parent
UTC = dt.UTC

CHECKIN_FLOW = """schema_version = 1
id = "checkin"
title = "Fortnightly check-in"
start = "how"

[nodes.how]
type = "ask"
text = "checkin.how"
answer = { kind = "scale", min = 0, max = 10 }
save_as = "fortnight"
next = "thanks"

[nodes.thanks]
type = "end"
text = "checkin.thanks"
"""
CHECKIN_TEXT = """how = "How have the last two weeks been for you, from 0 to 10?"
thanks = "Thank you."
"""


def project_dir(tmp: Path) -> Path:
    """The shipped flows and templates plus a one-question ``checkin`` flow."""
    shutil.copytree(ROOT / "flows", tmp / "flows")
    shutil.copytree(ROOT / "templates", tmp / "templates")
    (tmp / "flows" / "checkin.toml").write_text(CHECKIN_FLOW, encoding="utf-8")
    for locale in ("en", "cy"):
        (tmp / "templates" / locale / "checkin.toml").write_text(CHECKIN_TEXT,
                                                                 encoding="utf-8")
    return tmp


def project_config(tmp: Path, **sections: dict[str, Any]) -> Config:
    data: dict[str, Any] = {
        "project": {"name": "Money Voices", "contact": "call 0800 123 456",
                    "locales": ["en"], "flows_dir": str(tmp / "flows"),
                    "templates_dir": str(tmp / "templates")},
        "schedule": {"timezone": "Europe/London", "quiet_hours": "21:00-09:00"},
        "credits": {"unit": "£", "value_per_credit": 1.0, "cap_per_month": 40,
                    "rules": [{"flow": "checkin", "amount": 5},
                              {"flow": "ons4", "amount": 5},
                              {"flow": "endorsement", "amount": 10}]},
    }
    for key, value in sections.items():
        data[key] = {**data.get(key, {}), **value}
    return Config.model_validate(data)


@dataclass
class Delivery:
    at: dt.datetime
    who: str
    kind: str
    text: str

    def line(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M}Z {self.who} {self.kind}"


Script = Callable[["Project", str, list[Received]], Awaitable[None]]


@dataclass
class Project:
    runtime: Runtime
    clock: ManualClock
    work: DueWork
    rounds: RoundService
    phones: dict[str, SimulatedPhone] = field(default_factory=dict)
    pids: dict[str, str] = field(default_factory=dict)
    log: list[Delivery] = field(default_factory=list)
    replies: list[tuple[dt.datetime, str, str]] = field(default_factory=list)
    reports: list[DueReport] = field(default_factory=list)

    @property
    def store(self) -> Store:
        return self.runtime.store

    async def person(self, name: str, address: str, *, status: str = "consented",
                     timezone: str | None = None, **profile: Any) -> str:
        now = self.clock.now()
        pid = f"p_{name.lower()}"
        consent = self.runtime.library.get("consent")
        channel = "telegram" if address.startswith("telegram:") else "sms"
        person = Participant(id=pid, created_at=now, status=status,  # type: ignore[arg-type]
                             timezone=timezone, name=name,
                             pathway_done=status == "consented",
                             imported=status == "new",
                             consent_version=(consent.consent_version or consent.version)
                             if status == "consented" else None,
                             preferred_channel=channel,  # type: ignore[arg-type]
                             profile={"preferred_name": name, **profile}
                             if status == "consented" else {})
        await self.store.apply(Changes(participant=person, addresses=[
            Address(address, pid, channel, now)]))  # type: ignore[arg-type]
        self.phones[name] = SimulatedPhone(self.runtime, address)
        self.pids[name] = pid
        return pid

    def reply_at(self, when: dt.datetime, who: str, text: str) -> None:
        self.replies.append((when, who, text))
        self.replies.sort()

    async def deliver(self, script: Script | None = None) -> None:
        for name, phone in self.phones.items():
            got = await phone.collect()
            for msg in got:  # one line per part a rich channel folded together
                self.log.extend(Delivery(self.clock.now(), name, kind, msg.text)
                                for kind in kinds(msg.payload))
            if got and script is not None:
                await script(self, name, got)

    async def say(self, who: str, text: str, script: Script | None = None) -> list[Received]:
        got = await self.phones[who].say(text)
        for msg in got:
            self.log.extend(Delivery(self.clock.now(), who, kind, msg.text)
                            for kind in kinds(msg.payload))
        if got and script is not None:
            await script(self, who, got)
        await self.deliver(script)
        return got

    async def run_until(self, end: dt.datetime, script: Script | None = None,
                        max_step: dt.timedelta = dt.timedelta(hours=6)) -> None:
        """Wake ``due`` at each next due moment (or a reply, or ``max_step``)."""
        while True:
            report = await self.work.due(self.clock.now())
            self.reports.append(report)
            await self.deliver(script)
            now = self.clock.now()
            while self.replies and self.replies[0][0] <= now:
                _, who, text = self.replies.pop(0)
                await self.say(who, text, script)
            if now >= end:
                return
            candidates = [now + max_step, end]
            if report.next_due is not None:
                candidates.append(report.next_due)
            if self.replies:
                candidates.append(self.replies[0][0])
            self.clock.set(max(min(candidates), now + dt.timedelta(minutes=1)))

OPENED: list[Runtime] = []


async def open_project(tmp: Path, start: dt.datetime, *, store: Store | None = None,
                       clock: ManualClock | None = None,
                       **sections: dict[str, Any]) -> Project:
    config = project_config(project_dir(tmp), **sections)
    clock = clock or ManualClock(start)
    runtime = await open_runtime(config, store=store or ScratchStore(clock=clock), clock=clock,
                                 ids=SequentialIds())
    OPENED.append(runtime)
    return Project(runtime, clock, due_work(runtime), round_service(runtime.conversations))


@pytest.fixture(autouse=True)
async def close_projects() -> AsyncIterator[None]:
    """Close every project a test opened (an open aiosqlite connection is a thread that
    would keep the test process from exiting)."""
    yield
    while OPENED:
        await OPENED.pop().close()
