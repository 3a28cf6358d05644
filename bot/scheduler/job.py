"""The one APScheduler 3.x ``AsyncIOScheduler`` inside ``parley serve``.

It holds no state of its own (memory job store, nothing persisted): it only wakes
``DueWork.due(now)`` every ``interval`` seconds and, sooner, at the next moment the last
pass said something is due. What is due lives in our tables, so a restart, a missed tick
or a laptop asleep overnight simply finds the work on the next pass. ``max_instances=1``
and a lock mean passes never overlap. Nothing outside this module imports APScheduler.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.clock import Clock
from bot.delivery.supervisor import Supervisor
from bot.metrics import Metrics
from bot.scheduler.due import DueReport, DueWork
from bot.scheduler.leadership import Leadership

log = logging.getLogger("parley.scheduler")
TICK_ID, WAKE_ID, LEASE_ID = "parley-due", "parley-wake", "parley-lease"


class Wakes(Protocol):
    """The running service, as far as the scheduler needs it: what a pass queued goes
    out now, and a failing pass is counted (and shown by /healthz). A Protocol, so the
    scheduler sits below the service that runs it."""

    @property
    def supervisor(self) -> Supervisor: ...

    @property
    def metrics(self) -> Metrics: ...

    def wake_senders(self) -> None: ...


class SchedulerJob:
    """A ``BackgroundJob`` (see ``bot/service.py``)."""

    def __init__(self, work: DueWork, clock: Clock, *, interval: float = 20.0,
                 leadership: Leadership | None = None) -> None:
        self.work, self.clock = work, clock
        self.leadership = leadership
        """``None``: this process is the only one and always runs the passes."""
        self.interval = interval
        self.scheduler: AsyncIOScheduler | None = None
        self.passes = 0
        self.last: DueReport | None = None
        self._lock = asyncio.Lock()
        self._service: Wakes | None = None
        self._also: list[tuple[str, Callable[[dt.datetime], Awaitable[None]], float]] = []

    def also(self, job_id: str, work: Callable[[dt.datetime], Awaitable[None]],
             every: float) -> None:
        """Run ``work(now)`` every ``every`` seconds too (first at start), on the same
        scheduler: e.g. the daily retention purge. A failure is logged and retried at
        the next run."""
        self._also.append((job_id, work, every))

    async def start(self, service: Wakes | None = None) -> None:
        # a tick skipped because the previous pass is still busy is expected, not news
        logging.getLogger("apscheduler.scheduler").setLevel(logging.ERROR)
        self._service = service
        if service is not None and self.leadership is not None:
            leadership = self.leadership
            service.metrics.gauge("parley_scheduler_leader",
                                  lambda: {(): 1.0 if leadership.leading else 0.0})
        scheduler = AsyncIOScheduler(timezone=dt.UTC, job_defaults={
            "coalesce": True, "max_instances": 1, "misfire_grace_time": None})
        scheduler.add_job(self.tick, "interval", seconds=self.interval, id=TICK_ID,
                          next_run_time=dt.datetime.now(dt.UTC))
        if self.leadership is not None:  # renewed apart from the passes, which may be long
            scheduler.add_job(self._renew, "interval", seconds=self.leadership.renew_every,
                              id=LEASE_ID)
        for job_id, work, every in self._also:
            scheduler.add_job(self._run_also, "interval", args=(job_id, work),
                              seconds=every, id=job_id, next_run_time=dt.datetime.now(dt.UTC))
        scheduler.start()
        self.scheduler = scheduler

    async def _renew(self) -> None:
        if self.leadership is not None:
            await self.leadership.check()

    async def leads(self) -> bool:
        """Whether this process should run the passes now (asks the store)."""
        return self.leadership is None or await self.leadership.check()

    async def _run_also(self, job_id: str,
                        work: Callable[[dt.datetime], Awaitable[None]]) -> None:
        if not await self.leads():
            return
        try:
            await work(self.clock.now())
        except Exception:
            log.exception("scheduler: %s failed; retrying at its next run", job_id)

    async def stop(self) -> None:
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
            self.scheduler = None
        async with self._lock:  # let a pass in progress finish its transaction
            pass
        if self.leadership is not None:
            await self.leadership.release()

    async def tick(self) -> DueReport | None:
        """One pass (skipped if one is already running, or if another process leads)."""
        if self._lock.locked():
            return None
        async with self._lock:
            if not await self.leads():
                return None
            try:
                report = await self.work.due(self.clock.now())
            except Exception as exc:  # a pass that fails is retried on the next tick
                log.exception("scheduler: due() failed; retrying on the next tick")
                if self._service is not None:  # counted, and /healthz says so meanwhile
                    self._service.supervisor.failed("scheduler", f"{type(exc).__name__}: {exc}")
                return None
            if self._service is not None:
                self._service.supervisor.recovered("scheduler")
            self.passes += 1
            self.last = report
            if report.work:
                log.info("scheduler: %s", _describe(report))
                if self._service is not None:  # what it queued goes out now
                    self._service.wake_senders()
            self._wake_at(report)
            return report

    def _wake_at(self, report: DueReport) -> None:
        """An extra wake at the next known due moment, if it is before the next tick."""
        if self.scheduler is None or report.next_due is None:
            return
        wait = (report.next_due - self.clock.now()).total_seconds()
        if wait >= self.interval:
            return
        when = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=max(wait, 0.05))
        self.scheduler.add_job(self.tick, "date", run_date=when, id=WAKE_ID,
                               replace_existing=True)


def _describe(report: DueReport) -> str:
    parts: list[Any] = []
    for name in ("timers", "sent", "queued", "reminded", "skipped_reminders", "deferred",
                 "closed", "final", "stale"):
        value = getattr(report, name)
        if value:
            parts.append(f"{name.replace('_', ' ')} {value}")
    if report.spawned:
        parts.append(f"new occurrences {', '.join(report.spawned)}")
    if report.rounds_closed:
        parts.append(f"rounds closed {', '.join(report.rounds_closed)}")
    return ", ".join(str(p) for p in parts)
