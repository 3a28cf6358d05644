"""The phone simulator: a coordinator chats with the real engine; nothing is sent.

Each logged-in browser gets its own throw-away ``Runtime`` over a fresh ``ScratchStore``
(the project's flows and templates, none of its people), and a ``SimulatedPhone`` that
collects replies from that store's outbox. The real store and channels are never
touched, so no message can reach anyone.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from bot.clock import SystemClock
from bot.conversations import Conversations
from bot.ids import SequentialIds
from bot.runtime import Runtime
from bot.service import ParleyService
from bot.simulator import Received, SimulatedPhone, enrolled_phone
from bot.store.dashboard import DashboardSession
from bot.store.scratch import ScratchStore
from bot.text.render import sms_bodies
from bot.text.sms_encoding import measure
from bot.web.dashboard.core import Dashboard, form_text
from bot.wiring import attach

MAX_PHONES = 32
IDLE_SECONDS = 3600
ADDRESS = {"telegram": "telegram:1001", "sms": "tel:+447700900001"}


@dataclass
class Line:
    """One bubble: what the coordinator typed, or one message from Parley."""

    mine: bool
    text: str
    choices: list[tuple[str, str]] = field(default_factory=list)
    encoding: str | None = None
    segments: int | None = None


@dataclass
class SimPhone:
    flow_id: str
    locale: str
    channel: str
    runtime: Runtime
    phone: SimulatedPhone
    participant_id: str
    ended: bool = False
    lines: list[Line] = field(default_factory=list)
    used: float = field(default_factory=time.monotonic)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def show(self, received: list[Received]) -> None:
        for msg in received:
            choices = [(str(c["key"]), str(c["label"])) for c in msg.choices]
            if self.channel == "telegram":
                self.lines.append(Line(False, msg.text, choices))
                continue
            for body in sms_bodies(msg.payload):
                self.lines.append(Line(False, body.text, [], body.encoding, body.segments))

    @property
    def segments(self) -> int:
        return sum(line.segments or 0 for line in self.lines if not line.mine)

class Simulator:
    def __init__(self, dash: Dashboard) -> None:
        self.dash = dash
        self.phones: OrderedDict[str, SimPhone] = OrderedDict()

    def _key(self, request: Request) -> str:
        session: DashboardSession = request.state.dashboard
        return session.token_hash

    def _mine(self, request: Request) -> SimPhone | None:
        found = self.phones.get(self._key(request))
        if found is not None:
            found.used = time.monotonic()
        return found

    async def _drop(self, key: str) -> None:
        old = self.phones.pop(key, None)
        if old is not None:
            await old.runtime.close()

    async def close_all(self) -> None:
        """Close every phone's scratch store (its connection thread, its temporary file)."""
        for key in list(self.phones):
            await self._drop(key)

    async def _sweep(self) -> None:
        cutoff = time.monotonic() - IDLE_SECONDS
        for key in [k for k, p in self.phones.items() if p.used < cutoff]:
            await self._drop(key)
        while len(self.phones) >= MAX_PHONES:
            await self._drop(next(iter(self.phones)))

    async def page(self, request: Request) -> Response:
        live = self.dash.service.runtime
        sim = self._mine(request)
        findings = await self.dash.store.findings_all()
        latest = findings[-1] if findings else None
        flows = [live.library.get(f) for f in live.library.ids]
        return self.dash.html(
            request, "simulator.html", title="Phone simulator", active="simulator",
            sim=sim, flows=flows, locales=live.config.project.locales,
            sample=self._sample_vars(latest),
            error="Pick a flow, locale and channel." if request.query_params.get(
                "notice") == "pick" else "")

    @staticmethod
    def _sample_vars(finding: Any) -> dict[str, str]:
        if finding is None:
            return {"finding_id": "F-sample", "finding_title": "A sample finding",
                    "finding_text": "People on low incomes pay more for essentials."}
        return {"finding_id": finding.id, "finding_title": finding.title,
                "finding_text": finding.text}

    async def start(self, request: Request) -> Response:
        live = self.dash.service.runtime
        flow_id = await form_text(request, "flow")
        locale = await form_text(request, "locale", live.config.project.locales[0])
        channel = await form_text(request, "channel", "sms")
        if flow_id not in live.library or channel not in ADDRESS \
                or locale not in live.config.project.locales:
            return RedirectResponse("/admin/simulator?notice=pick",
                                    status_code=303)
        flow = live.library.get(flow_id)
        form = await request.form()
        variables = {}
        for name in flow.vars:
            given = form.get(f"var_{name}")
            variables[name] = given.strip() if isinstance(given, str) and given.strip() \
                else f"(sample {name.replace('_', ' ')})"
        key = self._key(request)
        await self._drop(key)
        await self._sweep()
        store = ScratchStore(clock=SystemClock())
        await store.open()
        clock = SystemClock()
        conversations = Conversations(store=store, library=live.library,
                                      renderer=live.renderer, config=live.config, clock=clock,
                                      ids=SequentialIds())
        attach(conversations)  # credits and BALANCE behave as in the real service
        runtime = Runtime(live.config, live.renderer, live.library, store, conversations, clock)
        phone, pid = await enrolled_phone(runtime, ADDRESS[channel], locale)
        await conversations.start_flow(pid, flow_id, variables)
        sim = SimPhone(flow_id, locale, channel, runtime, phone, pid)
        sim.show(await phone.collect())
        await self._check_end(sim)
        self.phones[key] = sim
        return RedirectResponse("/admin/simulator#phone", status_code=303)

    async def say(self, request: Request) -> Response:
        sim = self._mine(request)
        if sim is None:
            return RedirectResponse("/admin/simulator", status_code=303)
        text = await form_text(request, "text")
        press = await form_text(request, "press")
        async with sim.lock:
            if press:
                label = next((lab for line in reversed(sim.lines) for k, lab in line.choices
                              if k == press), press)
                sim.lines.append(Line(True, label))
                try:
                    sim.show(await sim.phone.press(press))
                except ValueError:
                    sim.lines.append(Line(False, "(that button is no longer active)"))
            elif text:
                sim.lines.append(Line(True, text[:1600], encoding=None))
                sim.show(await sim.phone.say(text[:1600]))
            await self._check_end(sim)
        return RedirectResponse("/admin/simulator#composer", status_code=303)

    @staticmethod
    async def _check_end(sim: SimPhone) -> None:
        sim.ended = await sim.runtime.store.active_session(sim.participant_id) is None

    async def reset(self, request: Request) -> Response:
        await self._drop(self._key(request))
        return RedirectResponse("/admin/simulator", status_code=303)

    async def measure(self, request: Request) -> Response:
        text = request.query_params.get("text", "")[:2000]
        info = measure(text)
        return JSONResponse({"characters": len(text), "encoding": info.encoding,
                             "segments": info.segments})


@dataclass
class PhonesJob:
    """Stops with the service (a ``BackgroundJob``): the phones' stores are closed, so
    their connection threads end and the server can exit."""

    sim: Simulator

    async def start(self, service: ParleyService) -> None:
        """Nothing to start: phones are made on demand."""

    async def stop(self) -> None:
        await self.sim.close_all()


def routes(dash: Dashboard) -> list[BaseRoute]:
    sim = Simulator(dash)
    dash.service.jobs.append(PhonesJob(sim))
    return [Route("/simulator", dash.protect(sim.page)),
            Route("/simulator/start", dash.protect(sim.start), methods=["POST"]),
            Route("/simulator/say", dash.protect(sim.say), methods=["POST"]),
            Route("/simulator/reset", dash.protect(sim.reset), methods=["POST"]),
            Route("/simulator/measure", dash.protect(sim.measure))]


__all__ = ["Simulator", "routes"]
