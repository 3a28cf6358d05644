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

Failures are also written to the database (``login_failures``) and read back before each
try, so the limits hold across every process sharing it and across a restart (issue 16).
Tries in flight are counted per process only: with N processes, at most N × limit checks
can be running for one key at the same instant, and their failures then count for all.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from bot.errors import StoreError
from bot.metrics import Metrics
from bot.store.login_limits import LoginLimitsStore
from bot.web.dashboard.auth import verify_password

EMAIL_LIMIT = 5
ADDRESS_LIMIT = 20
WINDOW_SECONDS = 15 * 60
MAX_KEYS = 10_000
log = logging.getLogger("parley.dashboard")


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

    def adopt(self, key: str, shared: Sequence[float], read_at: float) -> None:
        """Take the failures the database held at ``read_at`` for ``key`` (every
        process's, and this one's before a restart) as the record, plus this process's
        failures since then (the read may have missed them: counted twice, not never).
        Tries in flight stay counted here."""
        slot = self._slot(key)
        slot.failures = deque(sorted([*shared, *(at for at in slot.failures
                                                 if at >= read_at)]))
        self._slot(key)  # drop what the window has passed

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
                 now: Callable[[], float] | None = None,
                 store: LoginLimitsStore | None = None) -> None:
        # failures shared through the database are dated by the wall clock
        now = now or (time.time if store is not None else time.monotonic)
        self.store, self.window, self._now = store, window, now
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
        await self._shared(email, address)
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
            # on record before the slot is released: a try in between counts it either way
            await self._record(email, address, failed=not ok)
            self.by_email.release("e:" + email, failed=not ok)
            self.by_address.release("a:" + address, failed=not ok)

    async def failed(self, email: str, address: str) -> None:
        """Count a refused login whose password matched (e.g. a disabled coordinator)."""
        self.by_email.reserve("e:" + email)
        self.by_address.reserve("a:" + address)
        await self._record(email, address, failed=True)
        self.by_email.release("e:" + email, failed=True)
        self.by_address.release("a:" + address, failed=True)

    async def _shared(self, email: str, address: str) -> None:
        """Bring in the failures the database holds for this email and address."""
        if self.store is None:
            return
        keys = ("e:" + email, "a:" + address)
        read_at = self._now()
        try:
            found = await self.store.login_failures_since(keys, read_at - self.window)
        except StoreError as exc:  # this process's own count still holds
            log.warning("dashboard: login failures could not be read: %s", exc)
            return
        self.by_email.adopt(keys[0], found.get(keys[0], ()), read_at)
        self.by_address.adopt(keys[1], found.get(keys[1], ()), read_at)

    async def _record(self, email: str, address: str, *, failed: bool) -> None:
        if self.store is None:
            return
        try:
            if failed:
                now = self._now()
                await self.store.login_failure_add(("e:" + email, "a:" + address),
                                                   now, now - self.window)
            else:  # a good login forgives its email's failures, not its address's
                await self.store.login_failures_clear("e:" + email)
        except StoreError as exc:
            log.warning("dashboard: a login failure could not be recorded: %s", exc)
