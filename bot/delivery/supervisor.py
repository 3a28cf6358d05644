"""Supervised background tasks: nothing long-running may die silently.

Every long-running loop of ``parley serve`` (each channel's dispatcher and senders, the
inbox sweeper, the scheduler, ambiguity re-checks) runs under a ``Supervisor``. When a
loop raises, the error is logged, counted in ``parley_task_restarts_total{task}``, and
the loop is started again after a back-off (0.5 s, 1 s, 2 s … at most 30 s, reset once a
run has lasted a minute). While it waits to restart, the task is *down*, and
``problems()`` names it, so ``/healthz`` answers 503 with the cause instead of 200 while
nothing is sent (issue #11: a storage error killed the SMS dispatcher for five minutes).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from bot.metrics import Metrics

log = logging.getLogger("parley.supervisor")
FIRST_BACKOFF = 0.5
MAX_BACKOFF = 30.0
HEALTHY_RUN = 60.0
"""A run that lasted this long was healthy: the next failure starts the back-off again."""


def restart_delay(failures: int) -> float:
    """0.5, 1, 2, 4 … seconds after consecutive failures, at most 30."""
    return min(FIRST_BACKOFF * 2.0 ** max(failures - 1, 0), MAX_BACKOFF)


class Supervisor:
    """Runs named loops, restarting any that fails; knows which are down and why."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._down: dict[str, str] = {}
        self._stopping: set[str] = set()
        self.restarts: dict[str, int] = {}

    def spawn(self, name: str, run: Callable[[], Awaitable[None]]) -> asyncio.Task[None]:
        """Start ``run()`` as the task ``name``; it is restarted whenever it raises or
        returns, until ``cancel``. A name already running is replaced."""
        old = self._tasks.get(name)
        if old is not None and not old.done():
            old.cancel()
        self._stopping.discard(name)
        task = asyncio.create_task(self._keep(name, run), name=name)
        self._tasks[name] = task
        return task

    async def _keep(self, name: str, run: Callable[[], Awaitable[None]]) -> None:
        loop = asyncio.get_running_loop()
        failures = 0
        while True:
            started = loop.time()
            try:
                await run()
                why = "stopped by itself"
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # any bug or fault: log, count, restart
                if name in self._stopping:
                    return
                why = f"{type(exc).__name__}: {exc}"[:200]
                log.exception("task %s failed; restarting", name)
            else:
                # being stopped: on Python 3.11 a cancellation can be swallowed (by
                # asyncio.wait_for) and the loop then ends normally; that is not a fault
                if name in self._stopping:
                    return
                log.error("task %s ended unexpectedly; restarting", name)
            failures = 1 if loop.time() - started >= HEALTHY_RUN else failures + 1
            self._down[name] = why
            self.restarts[name] = self.restarts.get(name, 0) + 1
            self.metrics.inc("parley_task_restarts_total", task=name)
            try:
                await asyncio.sleep(restart_delay(failures))
            finally:
                self._down.pop(name, None)

    def failed(self, name: str, why: str) -> None:
        """For work run by someone else (the scheduler's passes, run by APScheduler):
        one pass of ``name`` failed; it is down until ``recovered``."""
        self._down[name] = why[:200]
        self.restarts[name] = self.restarts.get(name, 0) + 1
        self.metrics.inc("parley_task_restarts_total", task=name)

    def recovered(self, name: str) -> None:
        self._down.pop(name, None)

    def problems(self) -> list[str]:
        """One line per task that is down (waiting to restart) or gone, for /healthz."""
        found = [f"task {name} is down ({why})" for name, why in sorted(self._down.items())]
        found += [f"task {name} has stopped" for name, task in sorted(self._tasks.items())
                  if task.done() and not task.cancelled() and name not in self._down]
        return found

    def names(self) -> list[str]:
        return sorted(self._tasks)

    async def cancel(self, *names: str) -> None:
        """Stop the named tasks (all when none is named) and wait for them."""
        chosen = list(names) or list(self._tasks)
        self._stopping.update(chosen)
        tasks = [self._tasks.pop(n) for n in chosen if n in self._tasks]
        pending = set(tasks)
        for _ in range(3):  # again if a cancellation was swallowed (Python 3.11 wait_for)
            for task in pending:
                task.cancel()
            if not pending:
                break
            _, pending = await asyncio.wait(pending, timeout=2.0)
        for task in pending:  # never let one stuck task hang a shutdown
            log.error("task %s did not stop when asked", task.get_name())
        await asyncio.gather(*(t for t in tasks if t.done()), return_exceptions=True)
        for name in chosen:
            self._down.pop(name, None)
