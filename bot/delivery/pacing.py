"""Send-rate limits as providers enforce them: counted where the provider counts.

Telegram and Twilio count messages arriving in a window. Two things make a naive limiter
earn 429s: a token bucket lets a full burst through and then refills, putting 1.5× the
limit inside one second; and timestamps taken when a request *leaves* say nothing of
when it *arrives* — one slow request lands late, inside the next second's window.

So each send holds a slot from the moment it is dispatched until its answer comes back
(its arrival lies somewhere in between), and a new send may go only when the slot it
replaces was answered a full window ago. Per chat, likewise, the next message waits
until the previous one was answered, plus the interval.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from contextvars import ContextVar

MARGIN = 1.005
"""A hair over one second: a window measured on our clock, not the provider's."""
POLL = 0.002


class Slot:
    """One send's place in the window: open until ``close``, then dated by the answer."""

    __slots__ = ("at", "open")

    def __init__(self, at: float) -> None:
        self.at, self.open = at, True

    def close(self, at: float) -> None:
        self.at, self.open = at, False


HELD: ContextVar[Slot | None] = ContextVar("parley_held_slot", default=None)
"""The slot the outbox sender holds for the row being sent in this task, so a transport
that sends one row as several requests (SMS parts) renews it instead of waiting for a
second slot while holding the first: at 1/s that wait never ended (issue #11)."""


def _limits(rate: float) -> tuple[int, float]:
    """``(sends, per seconds)`` for a rate: 30/s is 30 per window, 0.5/s one per 2."""
    if rate >= 1:
        return int(rate), MARGIN
    return 1, MARGIN / rate


class SlidingWindow:
    """At most ``rate`` sends in any window of ``MARGIN`` seconds, measured between the
    answer to a send and the dispatch of the one that takes its place."""

    def __init__(self, rate: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.clock = clock
        self.rate = rate
        self.count, self.window = _limits(rate)
        self._slots: deque[Slot] = deque()
        self._held_until = float("-inf")

    def share(self, processes: int) -> None:
        """Keep to ``rate / processes``: the provider's limit is per bot or account, and
        ``processes`` senders share it (see ``bot/delivery/membership.py``)."""
        self.count, self.window = _limits(self.rate / max(1, processes))

    def hold(self, seconds: float) -> None:
        """No send for ``seconds`` (a process joining others waits until they have
        counted it, so together they never exceed the provider's limit)."""
        self._held_until = max(self._held_until, self.clock() + seconds)

    def delay(self) -> float:
        """Seconds to wait before the next send may leave (0 if now)."""
        now = self.clock()
        if now < self._held_until:
            return self._held_until - now
        # the same expression as the delay returned below, so "wait 0" always frees a slot
        while self._slots and not self._slots[0].open and \
                self._slots[0].at + self.window <= now:
            self._slots.popleft()
        if len(self._slots) < self.count:
            return 0.0
        oldest = self._slots[0]
        return POLL if oldest.open else oldest.at + self.window - now

    def take(self) -> Slot:
        slot = Slot(self.clock())
        self._slots.append(slot)
        return slot

    async def acquire(self) -> Slot:
        while (wait := self.delay()) > 0:
            await asyncio.sleep(wait)
        return self.take()

    def close(self, slot: Slot) -> None:
        """The send's answer came back (or it failed before leaving)."""
        slot.close(self.clock())

    def refund(self, slot: Slot) -> None:
        """No request was made for ``slot`` (its row was claimed by another process, or
        cancelled): it no longer counts, and the next send may take its place at once."""
        if slot in self._slots:
            self._slots.remove(slot)

    async def renew(self, slot: Slot) -> None:
        """The request ``slot`` covered was answered and the same sender has another
        (the next part of one message): close it now, wait for room as any send would,
        then take it again. Whoever holds ``slot`` still closes it once at the end."""
        slot.close(self.clock())
        while (wait := self.delay()) > 0:
            await asyncio.sleep(wait)
        if slot in self._slots:  # still counted: move it to the newest place
            self._slots.remove(slot)
        slot.at, slot.open = self.clock(), True
        self._slots.append(slot)

    async def next_request(self) -> Slot | None:
        """Pace one more request of a send already under way: renew the slot held for
        it (see ``HELD``), or take a fresh one — returned, for the caller to close —
        when the send holds none (a send outside the sender pool)."""
        held = HELD.get()
        if held is not None:
            await self.renew(held)
            return None
        return await self.acquire()


class PerChat:
    """At most ``rate`` sends per second to any one chat, counted from the previous
    send's answer, plus explicit pauses (after a 429 or a retry). With ``burst`` > 1 a
    chat may get that many back to back, then ``burst`` per ``burst / rate`` seconds: the
    same average pace, without dripping a reply's few messages one a second."""

    def __init__(self, rate: float | None, *, burst: int = 1,
                 clock: Callable[[], float] = time.monotonic):
        self.interval = MARGIN / rate if rate else 0.0
        self.burst = max(1, burst)
        self.clock = clock
        self._next: dict[str, float] = {}
        self._recent: dict[str, deque[float]] = {}

    def ready(self, chat: str) -> bool:
        now = self.clock()
        if self._next.get(chat, 0.0) > now:
            return False
        recent = self._recent.get(chat)
        if self.burst == 1 or not recent:
            return True
        while recent and recent[0] + self.burst * self.interval <= now:
            recent.popleft()
        return len(recent) < self.burst

    def record(self, chat: str) -> None:
        """Call when a send to ``chat`` has been answered."""
        if self.burst > 1:  # the window in ``ready`` paces; ``_next`` only dates it
            self._recent.setdefault(chat, deque()).append(self.clock())
            self._next[chat] = max(self._next.get(chat, 0.0), self.clock())
        else:
            self._next[chat] = max(self._next.get(chat, 0.0), self.clock() + self.interval)
        if len(self._next) > 50_000:  # forget chats whose pause has long passed
            now = self.clock()
            self._next = {c: t for c, t in self._next.items() if t > now}
            self._recent = {c: r for c, r in self._recent.items() if c in self._next}

    def served_at(self, chat: str) -> float:
        """When ``chat`` was last answered (-inf for a chat not served lately)."""
        found = self._next.get(chat)
        return float("-inf") if found is None else found - self.interval

    def pause(self, chat: str, seconds: float) -> None:
        self._next[chat] = max(self._next.get(chat, 0.0), self.clock() + seconds)
