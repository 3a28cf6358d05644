"""Guarding the login form: an atomic attempt limiter and bounded password checks.

Two ways the login form was abused (issue 12):

- **Racing the limiter.** Checking the limit, awaiting the password check and only then
  recording the failure let 25 simultaneous guesses through a limit of 5. Here a try
  *reserves* its slot synchronously (no ``await`` between looking and reserving), so the
  in-flight tries count against the limit: with a limit of 5, at most 5 password checks
  can run for one email or one client address per window, however many arrive at once.
- **Stalling the server.** argon2 is deliberately slow; run on the event loop, a handful
  of parallel posts stalled every webhook. Checks now run in a small dedicated thread
  pool (argon2-cffi releases the GIL while hashing), at most ``concurrency`` at a time,
  and at most ``queue`` more may wait; beyond that the form answers 429 at once.

Limits are per email (protects one coordinator's password from a botnet) and per
client address (stops one machine trying many emails). The client address is the TCP
peer unless ``[server] trusted_proxies`` names the proxy in front (see ``bot.server``).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from bot.metrics import Metrics
from bot.web.dashboard.auth import verify_password

EMAIL_LIMIT = 5
ADDRESS_LIMIT = 20
WINDOW_SECONDS = 15 * 60
MAX_KEYS = 10_000


@dataclass
class _Slot:
    failures: deque[float] = field(default_factory=deque)
    pending: int = 0


class AttemptLimiter:
    """At most ``limit`` failed-or-in-flight tries per key in a sliding ``window``."""

    def __init__(self, limit: int, window: float = WINDOW_SECONDS,
                 now: Callable[[], float] = time.monotonic, *,
                 forgive_on_success: bool = True) -> None:
        self.limit, self.window, self._now = limit, window, now
        # per address, one good login must not wipe the record of many bad guesses
        self.forgive_on_success = forgive_on_success
        self._slots: dict[str, _Slot] = {}

    def _slot(self, key: str) -> _Slot:
        slot = self._slots.setdefault(key, _Slot())
        cutoff = self._now() - self.window
        while slot.failures and slot.failures[0] <= cutoff:
            slot.failures.popleft()
        return slot

    def blocked_for(self, key: str) -> float:
        """Seconds until a try may start (0 when one may start now)."""
        slot = self._slot(key)
        if len(slot.failures) + slot.pending < self.limit:
            return 0.0
        if not slot.failures:  # all slots are in flight: retry once they finish
            return 1.0
        return max(slot.failures[0] + self.window - self._now(), 1.0)

    def reserve(self, key: str) -> None:
        self._slot(key).pending += 1

    def release(self, key: str, *, failed: bool) -> None:
        slot = self._slot(key)
        slot.pending = max(slot.pending - 1, 0)
        if failed:
            slot.failures.append(self._now())
        elif self.forgive_on_success:
            slot.failures.clear()
        if len(self._slots) > MAX_KEYS:  # bound memory under a flood of made-up emails
            for k in [k for k, v in self._slots.items() if not v.failures and not v.pending]:
                del self._slots[k]


class LoginBusy(Exception):
    """More password checks are running or waiting than the server allows."""


class LoginGuard:
    """One per dashboard: limiters by email and by address, and the checking pool."""

    def __init__(self, metrics: Metrics, *, email_limit: int = EMAIL_LIMIT,
                 address_limit: int = ADDRESS_LIMIT,
                 window: float = WINDOW_SECONDS, concurrency: int = 2, queue: int = 8,
                 now: Callable[[], float] = time.monotonic) -> None:
        self.by_email = AttemptLimiter(email_limit, window, now)
        self.by_address = AttemptLimiter(address_limit, window, now,
                                         forgive_on_success=False)
        self._pool = ThreadPoolExecutor(max_workers=concurrency,
                                        thread_name_prefix="parley-login")
        self._slots = asyncio.Semaphore(concurrency)
        self._capacity = concurrency + queue
        self._busy = 0
        self.metrics = metrics

    def blocked_for(self, email: str, address: str) -> float:
        """Seconds to wait before this email or address may try again (0: may try)."""
        return max(self.by_email.blocked_for("e:" + email),
                   self.by_address.blocked_for("a:" + address))

    async def check(self, email: str, address: str, stored_hash: str | None,
                    password: str) -> bool | None:
        """The password check, or None when the limit is reached (nothing was checked).

        Raises LoginBusy when too many checks are already running or waiting."""
        if self.blocked_for(email, address) > 0:
            self.metrics.inc("parley_login_refused_total", reason="limited")
            return None
        if self._busy >= self._capacity:
            self.metrics.inc("parley_login_refused_total", reason="busy")
            raise LoginBusy
        # reserved before the first await: a concurrent try sees this one in flight
        self.by_email.reserve("e:" + email)
        self.by_address.reserve("a:" + address)
        self._busy += 1
        ok = False
        try:
            async with self._slots:
                self.metrics.inc("parley_login_checks_total")
                loop = asyncio.get_running_loop()
                ok = await loop.run_in_executor(self._pool, verify_password, stored_hash,
                                                password)
            return ok
        finally:
            self._busy -= 1
            self.by_email.release("e:" + email, failed=not ok)
            self.by_address.release("a:" + address, failed=not ok)

    def failed(self, email: str, address: str) -> None:
        """Count a refused login whose password matched (e.g. a disabled coordinator)."""
        self.by_email.reserve("e:" + email)
        self.by_email.release("e:" + email, failed=True)
        self.by_address.reserve("a:" + address)
        self.by_address.release("a:" + address, failed=True)
