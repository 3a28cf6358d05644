"""Send-rate limits as providers enforce them: a sliding window, not a token bucket.

Telegram and Twilio count messages in a window; a token bucket that allows a full burst
and then refills can put 1.5× the limit inside one second and earn 429s. We keep the
times of recent sends and wait until the oldest leaves the window, with a small margin
for network jitter between our clock and theirs.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable

MARGIN = 1.02


class SlidingWindow:
    """At most ``rate`` events in any window of ``MARGIN`` seconds."""

    def __init__(self, rate: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.clock = clock
        if rate >= 1:
            self.count, self.window = int(rate), MARGIN
        else:  # e.g. 0.5/s: one event every 2 s
            self.count, self.window = 1, MARGIN / rate
        self._times: deque[float] = deque()

    def delay(self) -> float:
        """Seconds to wait before the next event may happen (0 if now)."""
        now = self.clock()
        while self._times and now - self._times[0] >= self.window:
            self._times.popleft()
        if len(self._times) < self.count:
            return 0.0
        return self._times[0] + self.window - now

    def record(self) -> None:
        self._times.append(self.clock())

    async def acquire(self) -> None:
        while (wait := self.delay()) > 0:
            await asyncio.sleep(wait)
        self.record()


class PerChat:
    """At most ``rate`` events per second to any one chat, plus explicit pauses
    (after a 429 or a retry) so a chat's messages stay in order."""

    def __init__(self, rate: float | None, *, clock: Callable[[], float] = time.monotonic):
        self.interval = MARGIN / rate if rate else 0.0
        self.clock = clock
        self._next: dict[str, float] = {}

    def ready(self, chat: str) -> bool:
        return self._next.get(chat, 0.0) <= self.clock()

    def record(self, chat: str) -> None:
        self._next[chat] = max(self._next.get(chat, 0.0), self.clock() + self.interval)
        if len(self._next) > 50_000:  # forget chats whose pause has long passed
            now = self.clock()
            self._next = {c: t for c, t in self._next.items() if t > now}

    def pause(self, chat: str, seconds: float) -> None:
        self._next[chat] = max(self._next.get(chat, 0.0), self.clock() + seconds)
