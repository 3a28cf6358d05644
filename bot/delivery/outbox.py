"""Outbox senders: a bounded pool per channel that paces, retries and never double-sends.

Every outbound message is a row written in the same transaction as the change that
caused it. A sender marks the row ``sending`` (committed) *before* the request, so a
crash mid-request leaves ``sending`` rows that start-up turns into ``ambiguous``: they
may have gone out, so they are never blindly resent (Telegram has no idempotency key);
an SMS is looked up at the provider first. Outcomes follow DESIGN §3.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import zlib
from collections.abc import Callable

from bot.clock import Clock
from bot.delivery import address_problems
from bot.delivery.ambiguity import RESEND_DELAY, AmbiguousSends
from bot.delivery.pacing import HELD, PerChat, SlidingWindow, Slot
from bot.delivery.supervisor import Supervisor
from bot.delivery.transport import SendResult, Transport
from bot.errors import (
    AmbiguousSend,
    RateLimited,
    Rejected,
    StoreError,
    TransientError,
    Unreachable,
)
from bot.metrics import Metrics
from bot.store.queues import OutboxQueue
from bot.store.records import Address, OutboxItem

log = logging.getLogger("parley.outbox")
MAX_ATTEMPTS = 8
DUE_WINDOW = 2000
"""How many due rows the dispatcher looks at: enough to see every chat of a broadcast,
so all chats progress together instead of the last ones trailing at 1/s per chat."""
REFRESH_EVERY = 1.0
"""Seconds the dispatcher works from the due rows it last read before reading them
again. New rows wake it at once (``wake``) and its own retries note when they fall due,
so this only bounds how late it sees a row whose time came by other means (a delayed
send, a row queued by another process)."""
MAX_BACKOFF = 300.0
UNPACED_KINDS = frozenset({"press_ack"})
"""Payload kinds that are not messages in the chat (a Telegram button press answered and
its question edited), so the per-chat pace neither holds nor counts them."""


def backoff(attempts: int) -> float:
    """1, 2, 4 … seconds, capped at five minutes."""
    return float(min(2 ** max(attempts - 1, 0), MAX_BACKOFF))


class OutboxSender(AmbiguousSends):
    """Sends one channel's outbox rows through its transport."""

    def __init__(self, store: OutboxQueue, transport: Transport, clock: Clock, metrics: Metrics,
                 *, workers: int = 4, poll_interval: float = 0.05, paused: bool = False,
                 max_attempts: int = MAX_ATTEMPTS,
                 on_unreachable: Callable[[OutboxItem, Unreachable], object] | None = None,
                 supervisor: Supervisor | None = None, resend_ambiguous: bool = False,
                 resend_delay: float = RESEND_DELAY) -> None:
        self.store, self.transport, self.clock, self.metrics = store, transport, clock, metrics
        self.channel = transport.channel
        self.workers = workers
        self.poll_interval = poll_interval
        self.paused = paused
        self.max_attempts = max_attempts
        self.supervisor = supervisor or Supervisor(metrics)
        self.resend_ambiguous, self.resend_delay = resend_ambiguous, resend_delay
        self.window = SlidingWindow(transport.pacing.per_second)
        self.partition = (0, 1)
        """``(index, count)`` among the processes sharing the database (membership)."""
        self.per_chat = PerChat(transport.pacing.per_chat_per_second,
                                burst=transport.pacing.per_chat_burst)
        self._queue: asyncio.Queue[OutboxItem] = asyncio.Queue(maxsize=workers * 2)
        # The due rows last read, oldest first. Reading up to DUE_WINDOW rows for every
        # send cost most of a broadcast's CPU; the list is read again when new rows are
        # committed, when a retry falls due, or every REFRESH_EVERY seconds. A row that
        # changed meanwhile (cancelled, erased) is refused by outbox_mark_sending.
        self._due: dict[int, OutboxItem] = {}
        self._stale = True
        self._read_at = float("-inf")
        self._recheck_at = float("inf")
        self._in_flight: set[int] = set()
        self._slots: dict[int, Slot] = {}
        self._busy_chats: set[str] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = asyncio.Event()
        self._idle = asyncio.Event()
        self._wake = asyncio.Event()

    # -- lifecycle ----------------------------------------------------------------------
    async def start(self) -> None:
        await self.transport.start()
        await self.resolve_ambiguous()
        self._tasks = [self.supervisor.spawn(f"outbox-{self.channel}", self._dispatch)]
        self._tasks += [self.supervisor.spawn(f"sender-{self.channel}-{i}", self._work)
                        for i in range(self.workers)]

    async def stop(self) -> None:
        self._stopping.set()
        await self.supervisor.cancel(*self.task_names())
        self._tasks = []
        await self.transport.stop()

    def task_names(self) -> list[str]:
        return [f"outbox-{self.channel}",
                *(f"sender-{self.channel}-{i}" for i in range(self.workers))]

    async def wait_idle(self, timeout: float = 10.0) -> None:
        """For tests and the demo: until nothing is due or in flight."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            due = await self.store.outbox_due(self.channel, self.clock.now(), 1)
            if not due and not self._in_flight and self._queue.empty():
                return
            await asyncio.sleep(0.02)
        raise TimeoutError(f"{self.channel} outbox still busy after {timeout}s")

    def wake(self) -> None:
        """New rows were committed: read the due rows now rather than at the next poll,
        so a reply does not wait out the poll interval."""
        self._stale = True
        self._wake.set()

    async def _nap(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), self.poll_interval)

    # -- the dispatcher keeps pacing and per-chat order; workers do the I/O ---------------
    async def _dispatch(self) -> None:
        while not self._stopping.is_set():
            if self.paused:
                await asyncio.sleep(self.poll_interval)
                continue
            self._wake.clear()  # before the query: a wake during it is not lost
            if self._must_read():
                try:
                    await self._read_due()
                except StoreError as exc:
                    log.warning("outbox %s: store unavailable (%s); retrying",
                                self.channel, exc)
                    await asyncio.sleep(1.0)
                    continue
            handed = 0
            batch: list[OutboxItem] = []
            for item in self._ready(list(self._due.values())):
                assert item.id is not None
                if self.window.delay() > 0 and batch:
                    break  # hand over what may go now; the rest waits for its slot
                self._slots[item.id] = await self.window.acquire()
                self._in_flight.add(item.id)
                self._busy_chats.add(item.address)
                batch.append(item)
            if batch:
                try:
                    handed = await self._hand_over(batch)
                except StoreError as exc:  # a full disk must not end the dispatcher
                    log.warning("outbox %s: could not hand rows over (%s); retrying",
                                self.channel, exc)
                    await asyncio.sleep(1.0)
                    continue
            if not handed:
                await self._nap()

    def _must_read(self) -> bool:
        now = asyncio.get_running_loop().time()
        age = now - self._read_at
        return (self._stale or age >= REFRESH_EVERY or now >= self._recheck_at
                or (not self._due and age >= self.poll_interval))

    async def _read_due(self) -> None:
        loop = asyncio.get_running_loop()
        self._stale, self._recheck_at = False, float("inf")  # before: a wake is not lost
        self._read_at = loop.time()
        ids = [i for i in await self.store.outbox_due_ids(self.channel, self.clock.now(),
                                                          DUE_WINDOW)
               if i not in self._in_flight]
        # only rows not read before are fetched whole (a broadcast's thousands of rows
        # would otherwise be decoded again at every read)
        known = self._due
        new = await self.store.outbox_rows([i for i in ids if i not in known])
        fetched = {item.id: item for item in new}
        self._due = {i: item for i in ids
                     if (item := known.get(i) or fetched.get(i)) is not None}

    def mine(self, address: str) -> bool:
        """Whether this process sends to ``address``: all of them alone; with several
        processes sharing the database, the addresses in its part (``partition``)."""
        index, count = self.partition
        return count <= 1 or zlib.crc32(address.encode()) % count == index

    def _ready(self, due: list[OutboxItem]) -> list[OutboxItem]:
        """The oldest message of each chat that may be sent now, least recently served
        chat first: a broadcast then reaches every chat in turn, rather than chat by
        chat, which would leave the last chats trailing at 1/s each."""
        held: set[str] = set()
        ready: list[OutboxItem] = []
        for item in due:
            assert item.id is not None
            if item.id in self._in_flight or not self.mine(item.address):
                continue
            chat = item.address
            # acknowledging a button press is not a new message in the chat: it must
            # not wait for, nor delay, the chat's next message (per-chat pacing)
            unpaced = item.payload.get("kind") in UNPACED_KINDS
            if chat not in held and chat not in self._busy_chats and (
                    unpaced or self.per_chat.ready(chat)):
                ready.append(item)
            held.add(chat)  # an older message for this chat goes first
        ready.sort(key=lambda item: self.per_chat.served_at(item.address))  # stable
        return ready

    async def _hand_over(self, batch: list[OutboxItem]) -> int:
        """Cancel what may no longer be sent, mark the rest ``sending`` in one durable
        commit, then give them to the workers (who send at once). A store error (a full
        disk) gives every row of the batch back unsent and is raised."""
        try:
            ready = await self._unsuppressed(batch)
            marked = await self.store.outbox_mark_sending(ready)
        except BaseException:
            for item in batch:
                if item.id in self._in_flight:
                    self._release(item, sent=False)
            self._stale = True  # read them again: they are still due
            raise
        if len(marked) < len(ready):  # changed since it was read: not ours to send
            self._stale = True  # another process sharing the database took them: re-read
            taken = {id(item) for item in marked}
            for item in ready:
                if id(item) not in taken:
                    self._release(item, sent=False)
            ready = marked
        for item in ready:
            self.metrics.inc("parley_outbound_attempts_total", channel=self.channel)
            await self._queue.put(item)
        return len(ready)

    async def _unsuppressed(self, batch: list[OutboxItem]) -> list[OutboxItem]:
        """The rows of ``batch`` that may still be sent; the others are cancelled."""
        ready: list[OutboxItem] = []
        known = await self.store.addresses_named({item.address for item in batch})
        for item in batch:
            assert item.id is not None
            self._due.pop(item.id, None)
            if self._suppressed_by(item, known.get(item.address)):
                await self._cancel(item)
                self._release(item)
            else:
                ready.append(item)
        return ready

    def _release(self, item: OutboxItem, *, sent: bool = True) -> None:
        """The send is over (answered, failed or cancelled): pacing counts from now.
        ``sent=False``: no request was made, so the chat's pace is not held."""
        assert item.id is not None
        slot = self._slots.pop(item.id, None)
        if slot is not None and sent:
            self.window.close(slot)
        elif slot is not None:  # no request left: the provider saw nothing to count
            self.window.refund(slot)
        if sent and item.payload.get("kind") not in UNPACED_KINDS:
            self.per_chat.record(item.address)
        self._in_flight.discard(item.id)
        self._busy_chats.discard(item.address)
        self._wake.set()  # the chat's next message may go now

    async def _cancel(self, item: OutboxItem) -> None:
        item.status, item.last_error = "cancelled", "address opted out or erased"
        await self.store.outbox_update(item)
        self.metrics.inc("parley_outbound_total", channel=self.channel, outcome="cancelled")

    async def _work(self) -> None:
        while True:
            item = await self._queue.get()
            assert item.id is not None
            held = HELD.set(self._slots.get(item.id))  # later parts renew this slot
            try:
                await self._deliver(item)
            except StoreError as exc:
                log.warning("outbox %s: could not record a send (%s)", self.channel, exc)
            except Exception:  # a bug must not kill the sender pool
                log.exception("outbox %s: unexpected error sending row %s", self.channel,
                              item.id)
            finally:
                HELD.reset(held)
                self._release(item)

    # -- one row ----------------------------------------------------------------------------
    async def send_one(self, item: OutboxItem) -> None:
        """Send one row now, outside the pool (suppression check, durable mark, send)."""
        if await self._suppressed(item):
            await self._cancel(item)
            return
        if not await self.store.outbox_mark_sending([item]):  # durable before the request
            return  # sent, cancelled or erased meanwhile
        self.metrics.inc("parley_outbound_attempts_total", channel=self.channel)
        await self._deliver(item)

    async def _deliver(self, item: OutboxItem) -> None:
        """The request for a row already marked ``sending``, and its outcome."""
        now = self.clock.now()
        try:
            result = await self.transport.send(item)
        except RateLimited as exc:
            self.per_chat.pause(item.address, exc.retry_after)
            self._retry(item, now, exc.retry_after, f"rate limited ({exc.retry_after}s)")
            outcome = "retry"
        except TransientError as exc:
            if item.attempts >= self.max_attempts:
                item.status, item.last_error = "failed", f"gave up: {exc}"
                outcome = "failed"
            else:
                wait = backoff(item.attempts)
                self.per_chat.pause(item.address, wait)
                self._retry(item, now, wait, str(exc))
                outcome = "retry"
        except Unreachable as exc:
            item.status, item.last_error = "failed", exc.reason
            await self._mark_address(item, exc)
            outcome = "failed"
        except AmbiguousSend as exc:
            item.status, item.last_error = "ambiguous", str(exc)
            await self._maybe_resend(item, now)
            outcome = "ambiguous"
        except Rejected as exc:  # the same request would be refused again
            item.status, item.last_error = "failed", f"rejected: {exc}"
            outcome = "failed"
        except StoreError as exc:  # the provider may have it, but it could not be noted
            item.status, item.last_error = "ambiguous", f"could not record the send: {exc}"
            outcome = "ambiguous"  # an SMS is looked up at Twilio by the re-check
        else:
            self._sent(item, result, now)
            outcome = "sent"
        await self._save_outcome(item)
        if item.payload.get("forget_after_send") and outcome in ("sent", "failed"):
            assert item.id is not None  # the goodbye after an erasure keeps no number
            await self.store.outbox_forget(item.id)
        self.metrics.inc("parley_outbound_total", channel=self.channel, outcome=outcome)

    async def _save_outcome(self, item: OutboxItem) -> None:
        """Keep a send's outcome, waiting out a full or locked store: a row left
        ``sending`` would hold back its address's later messages until a restart."""
        failures = 0
        while True:
            try:
                await self.store.outbox_update(item)
                return
            except StoreError as exc:
                failures += 1
                if self._stopping.is_set():
                    raise  # shutting down: start-up will find the row ambiguous
                if failures == 1:
                    log.warning("outbox %s: could not record the outcome of row %s (%s); "
                                "retrying", self.channel, item.id, exc)
                await asyncio.sleep(min(0.5 * 2.0 ** (failures - 1), 10.0))

    def _sent(self, item: OutboxItem, result: SendResult, now: dt.datetime) -> None:
        item.status, item.sent_at, item.last_error = "sent", now, None
        item.provider_id = result.provider_id
        if result.segments is not None:
            item.segments = result.segments
            self.metrics.inc("parley_sms_segments_total", result.segments, channel=self.channel)

    def _retry(self, item: OutboxItem, now: dt.datetime, seconds: float, why: str) -> None:
        item.status, item.last_error = "retry", why
        item.next_attempt_at = now + dt.timedelta(seconds=seconds)
        # read the due rows again when this one falls due, not a refresh later
        due_at = asyncio.get_running_loop().time() + seconds
        self._recheck_at = min(self._recheck_at, due_at)
        # and now: the store holds back this chat's later rows until this one is sent,
        # so the list read before must not send them meanwhile
        self._stale = True

    async def _suppressed(self, item: OutboxItem) -> bool:
        """Nothing goes to an opted-out address except the STOP acknowledgement itself
        (and the answer to a button press, which only stops the button's spinner)."""
        return self._suppressed_by(item, await self.store.get_address(item.address))

    @staticmethod
    def _suppressed_by(item: OutboxItem, address: Address | None) -> bool:
        if address is None:
            return bool(item.participant_id)  # erased since it was queued
        return address.opted_out and item.payload.get("kind") not in ("stop_ack", "press_ack")

    async def _mark_address(self, item: OutboxItem, exc: Unreachable) -> None:
        await address_problems.mark(self.store, item.address,
                                    address_problems.on_send(exc.code, exc.reason,
                                                             self.clock.now()))
