"""The inbox: persist every inbound message, acknowledge, then process it.

A webhook is answered 200 only after its message is committed (``Store.inbox_put``), so
a crash at any point loses nothing: start-up processes whatever is still pending.
Processing is in arrival order per address (one drainer per address; a failing message
holds back the later ones) and concurrent across addresses, bounded by a semaphore.
Conversations marks the inbox row done in the same transaction as its effects, so a row
is never half-processed.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections import deque
from collections.abc import Callable

from bot.clock import Clock
from bot.conversations import Conversations, Inbound
from bot.delivery.supervisor import Supervisor
from bot.errors import AlreadyProcessed, StoreError
from bot.metrics import Metrics
from bot.store.queues import InboxQueue
from bot.store.records import InboxItem
from bot.text_hygiene import clean, clean_text

log = logging.getLogger("parley.inbox")
MAX_ATTEMPTS = 5
FINISHED_MEMORY = 10_000
MAX_RETRY_DELAY = 30.0


def retry_delay(failures: int) -> float:
    """Seconds before a message that failed is tried again: 0.5, 1, 2 … at most 30."""
    return min(0.5 * 2.0 ** max(failures - 1, 0), MAX_RETRY_DELAY)


def to_inbound(item: InboxItem) -> Inbound:
    """Inbox rows hold the normalised message, never a provider's raw update (which
    carries names we may not keep before consent)."""
    p = item.payload
    return Inbound(channel=item.channel, address=item.address, received_at=item.received_at,
                   text=str(p.get("text") or ""), kind=p.get("kind", "text"),
                   press=p.get("press"), invite=p.get("invite"), ack=p.get("ack"),
                   source_id=p.get("source_id"), inbox_id=item.id,
                   media=tuple(p.get("media") or ()))


class InboxProcessor:
    def __init__(self, store: InboxQueue, conversations: Conversations, clock: Clock,
                 metrics: Metrics, *, concurrency: int = 32, sweep_interval: float = 2.0,
                 paused: bool = False, supervisor: Supervisor | None = None):
        self.store, self.conversations, self.clock = store, conversations, clock
        self.metrics = metrics
        self._slots = asyncio.Semaphore(concurrency)
        self._queues: dict[str, deque[InboxItem]] = {}
        self._known: set[int] = set()
        # ids finished lately: a sweep that read a row as pending while it was being
        # processed must not schedule it again (the store would refuse it anyway)
        self._finished: dict[int, None] = {}
        self._attempts: dict[int, int] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.supervisor = supervisor or Supervisor(metrics)
        self.sweep_interval = sweep_interval
        self.paused = paused
        """Accept and store, but process nothing (maintenance; a later start processes)."""
        self.on_processed: Callable[[], None] | None = None
        """Called after each message is processed (the service wakes the senders)."""

    async def accept(self, item: InboxItem) -> bool:
        """Store durably; False for a duplicate. Processing starts in the background."""
        # every channel's input passes here: valid Unicode only from now on
        item.address, item.dedupe_key = clean_text(item.address), clean_text(item.dedupe_key)
        item.payload = clean(item.payload)
        is_new = await self.store.inbox_put(item)
        if not is_new:
            self.metrics.inc("parley_inbound_duplicates_total", channel=item.channel)
            return False
        self.metrics.inc("parley_inbound_total", channel=item.channel)
        if not self.paused:
            self.schedule(item)
        return True

    def schedule(self, item: InboxItem) -> None:
        assert item.id is not None
        if item.id in self._known or item.id in self._finished:
            return
        self._known.add(item.id)
        queue = self._queues.get(item.address)
        if queue is not None:
            queue.append(item)
            return
        self._queues[item.address] = deque([item])
        task = asyncio.create_task(self._drain(item.address))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _drain(self, address: str) -> None:
        """Process one address's messages strictly in order. A message that fails stays
        at the head and is retried with back-off, holding back the later ones: handing it
        to the sweeper let the next message overtake it, so answers were stored against
        the wrong questions (issue #11)."""
        queue = self._queues[address]
        failures = 0
        try:
            while queue:
                item = queue[0]
                if await self._older_first(queue, item):
                    continue
                async with self._slots:
                    done = await self._process_guarded(item)
                if not done:
                    failures += 1
                    await asyncio.sleep(retry_delay(failures))
                    continue
                failures = 0
                queue.popleft()
                assert item.id is not None
                self._finished[item.id] = None
                if len(self._finished) > FINISHED_MEMORY:
                    del self._finished[next(iter(self._finished))]
                self._known.discard(item.id)
                self._attempts.pop(item.id, None)
        finally:  # cancelled (shutdown): what is left stays pending in the store
            for rest in queue:
                self._known.discard(rest.id or 0)
            del self._queues[address]

    async def _older_first(self, queue: deque[InboxItem], item: InboxItem) -> bool:
        """Put the address's older pending messages (another process's, or ones left to
        the sweeper) ahead of ``item``: order is kept in the store, not only here."""
        assert item.id is not None
        try:
            older = await self.store.inbox_pending_before(item.address, item.id)
        except StoreError:
            return False  # processing will meet the same error and retry
        waiting = {i.id for i in queue}
        missing = [i for i in older if i.id not in waiting]
        for earlier in reversed(missing):
            assert earlier.id is not None
            self._known.add(earlier.id)
            queue.appendleft(earlier)
        return bool(missing)

    async def _process_guarded(self, item: InboxItem) -> bool:
        """``_process``, but a failure while recording a failure is one more failure."""
        try:
            return await self._process(item)
        except Exception:
            log.exception("inbox: message %s could not be processed or recorded", item.id)
            return False

    async def _process(self, item: InboxItem) -> bool:
        assert item.id is not None
        try:
            await self.conversations.handle(to_inbound(item))
        except AlreadyProcessed:
            # a sweep read the row as pending just before its processing committed; the
            # store refused the second run whole, so nothing is answered twice
            log.info("inbox: message %s was already processed; skipped", item.id)
            self.metrics.inc("parley_inbound_processed_total", channel=item.channel,
                             result="duplicate")
            return True
        except StoreError as exc:
            log.warning("inbox: store unavailable, message %s will be retried: %s", item.id, exc)
            return False
        except Exception:
            attempts = self._attempts.get(item.id, 0) + 1
            self._attempts[item.id] = attempts
            log.exception("inbox: processing message %s failed (attempt %d)", item.id, attempts)
            if attempts < MAX_ATTEMPTS:
                return False
            await self.store.inbox_mark(item.id, "failed", self.clock.now())
            self.metrics.inc("parley_inbound_processed_total", channel=item.channel,
                             result="failed")
            return True
        self.metrics.inc("parley_inbound_processed_total", channel=item.channel, result="done")
        if self.on_processed is not None:
            self.on_processed()
        return True

    async def recover(self) -> int:
        """Schedule every pending row (after a restart, or ones that failed to process)."""
        pending = await self.store.inbox_pending(10_000)
        for item in pending:
            self.schedule(item)
        return len(pending)

    async def sweep(self) -> int:
        """Schedule the rows pending for a whole sweep interval: those left by a process
        that stopped. A younger row is being processed by the process sharing the
        database that accepted it; taking it too made both run it, the store refusing
        the second (4 % of turns with two processes, wasted work)."""
        cutoff = self.clock.now() - dt.timedelta(seconds=self.sweep_interval)
        pending = [item for item in await self.store.inbox_pending(10_000)
                   if item.received_at <= cutoff]
        for item in pending:
            self.schedule(item)
        return len(pending)

    async def start(self) -> None:
        if self.paused:
            return
        count = await self.recover()
        if count:
            log.info("inbox: resuming %d message(s) received before a restart", count)
        self.supervisor.spawn("inbox-sweeper", self._sweep)

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(self.sweep_interval)
            try:
                await self.sweep()
            except StoreError as exc:
                log.warning("inbox: sweep skipped, store unavailable: %s", exc)

    async def stop(self) -> None:
        await self.supervisor.cancel("inbox-sweeper")
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def wait_idle(self, timeout: float = 10.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self._queues and loop.time() < deadline:
            await asyncio.sleep(0.01)
        if self._queues:
            raise TimeoutError("inbox still processing")
