"""The running service: inbox, outbox senders, channels and background jobs together.

``parley serve`` builds one ``ParleyService`` and serves its Starlette app. Tests build
the same thing in-process or run the real ``parley serve`` process against local fakes.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from starlette.routing import BaseRoute

from bot.delivery.health import HealthCheck
from bot.delivery.inbox import InboxProcessor
from bot.delivery.outbox import OutboxSender
from bot.delivery.supervisor import Supervisor
from bot.delivery.transport import Transport
from bot.errors import StoreError
from bot.metrics import Metrics
from bot.runtime import Runtime
from bot.store.records import Channel

log = logging.getLogger("parley.service")


class ChannelPlugin(Protocol):
    """A channel: its webhook routes, its transport for the outbox, and start/stop."""

    name: Channel
    transport: Transport

    def routes(self) -> list[BaseRoute]: ...
    async def start(self, service: ParleyService) -> None: ...
    async def stop(self) -> None: ...


class BackgroundJob(Protocol):
    """Anything else that runs beside the web app (the scheduler, for one)."""

    async def start(self, service: ParleyService) -> None: ...
    async def stop(self) -> None: ...


class ParleyService:
    def __init__(self, runtime: Runtime, *, senders_paused: bool = False,
                 processing_paused: bool = False,
                 sender_workers: int = 16) -> None:
        self.runtime = runtime
        self.metrics = Metrics()
        self.supervisor = Supervisor(self.metrics)
        self.checks = HealthCheck(runtime.store, runtime.clock, self.supervisor,
                                  runtime.config.server.health_max_send_lag)
        self.inbox = InboxProcessor(runtime.store, runtime.conversations, runtime.clock,
                                    self.metrics, paused=processing_paused,
                                    supervisor=self.supervisor)
        self.inbox.on_processed = self.wake_senders
        self.channels: dict[str, ChannelPlugin] = {}
        self.senders: dict[str, OutboxSender] = {}
        self.jobs: list[BackgroundJob] = []
        self.early_jobs: list[BackgroundJob] = []
        self.senders_paused = senders_paused
        self.sender_workers = sender_workers
        self.store_ok = True
        self.store_problem = ""

    def add_channel(self, plugin: ChannelPlugin) -> None:
        self.channels[plugin.name] = plugin
        self.senders[plugin.name] = OutboxSender(
            self.runtime.store, plugin.transport, self.runtime.clock, self.metrics,
            workers=self.sender_workers, paused=self.senders_paused,
            supervisor=self.supervisor,
            # DESIGN §3: Telegram cannot be asked whether a message arrived
            resend_ambiguous=(plugin.name == "telegram"
                              and self.runtime.config.telegram.ambiguous == "resend_once"))

    def wake_senders(self) -> None:
        """New outbox rows may be due: senders look now instead of at their next poll."""
        for sender in self.senders.values():
            sender.wake()

    def add_job(self, job: BackgroundJob, *, before_senders: bool = False) -> None:
        """``before_senders``: started before the senders (and stopped after them)."""
        (self.early_jobs if before_senders else self.jobs).append(job)

    def routes(self) -> list[BaseRoute]:
        return [route for plugin in self.channels.values() for route in plugin.routes()]

    async def start(self) -> None:
        for plugin in self.channels.values():
            await plugin.start(self)
        for job in self.early_jobs:
            await job.start(self)
        for sender in self.senders.values():
            await sender.start()
        await self.inbox.start()
        for job in self.jobs:
            await job.start(self)

    async def stop(self) -> None:
        for job in reversed(self.jobs):
            await job.stop()
        await self.inbox.stop()
        for sender in self.senders.values():
            await sender.stop()
        for job in reversed(self.early_jobs):
            await job.stop()
        for plugin in self.channels.values():
            await plugin.stop()
        await self.runtime.close()

    async def health(self) -> tuple[bool, str]:
        try:
            await asyncio.wait_for(self.runtime.store.health(), timeout=3.0)
        except (StoreError, TimeoutError) as exc:
            self.store_ok, self.store_problem = False, str(exc) or "store did not answer"
            return False, self.store_problem
        self.store_ok, self.store_problem = True, ""
        try:
            # a sender paused on purpose (--senders paused) is maintenance, not a stall
            problem = await self.checks.problem(
                [name for name, sender in self.senders.items() if not sender.paused])
        except StoreError as exc:
            return False, str(exc) or "store did not answer"
        return (not problem), problem

    async def wait_idle(self, timeout: float = 10.0) -> None:
        await self.inbox.wait_idle(timeout)
        for sender in self.senders.values():
            await sender.wait_idle(timeout)
