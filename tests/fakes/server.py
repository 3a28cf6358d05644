"""Serving plumbing shared by the fake Telegram and Twilio services.

Why this exists: tests and benchmarks must talk to the fakes over a real loopback
socket, through the real client libraries (python-telegram-bot on httpx, twilio on
requests/aiohttp), so that timeouts, dropped connections and HTTP status handling are
exercised exactly as in production.  Everything binds to 127.0.0.1 on an ephemeral
port (port 0) and reports the port the kernel actually chose.

Contents:

* :class:`ServedApp` - run an ASGI app with uvicorn in a background thread
  (``with ServedApp(app) as srv: srv.base_url``; ``async with`` works too).
* :func:`serve_forever` / :func:`add_server_args` - the ``python -m tests.fakes.X
  --port 0 --port-file F`` entry point used by benchmarks.
* Tools shared by both fakes: :class:`DroppedConnection` (close the socket without
  answering), :class:`SlidingWindow` (rate limiting), :func:`sleep_unless`
  (interruptible "hang"), :class:`FailureScript` / :class:`ScriptedFailure`
  (the ``fail_next`` queue) and :class:`ScriptedFake`, the base both fakes build on.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import os
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import uvicorn
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

LOOPBACK = "127.0.0.1"


def bind_loopback(port: int = 0, host: str = LOOPBACK) -> socket.socket:
    """Bind and listen on ``host:port`` ourselves, so the real port is known up front.

    Listening before uvicorn starts means clients that learn the port early (for
    example via a port file) simply queue in the backlog instead of being refused.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock


def _uvicorn_config(app: ASGIApp, graceful_shutdown_s: int) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan="off",
        # Hanging requests must not keep a test waiting at teardown for long.
        timeout_graceful_shutdown=graceful_shutdown_s,
    )


class ServedApp:
    """Run an ASGI app on 127.0.0.1:<ephemeral> in a daemon thread with its own loop.

    Because the server owns a separate thread and event loop, the same object works
    from sync tests and from async tests (the test's loop is never blocked by the
    server).  ``before_shutdown`` lets a fake release requests it is deliberately
    holding open ("hang") so shutdown is quick.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        port: int = 0,
        startup_timeout: float = 10.0,
        shutdown_timeout: float = 5.0,
        before_shutdown: Callable[[], None] | None = None,
    ) -> None:
        self._app = app
        self._requested_port = port
        self._startup_timeout = startup_timeout
        self._shutdown_timeout = shutdown_timeout
        self._before_shutdown = before_shutdown
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self.port: int = 0

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>`` with no trailing slash."""
        if not self.port:
            raise RuntimeError("ServedApp is not running")
        return f"http://{LOOPBACK}:{self.port}"

    def url(self, path: str) -> str:
        return self.base_url + "/" + path.lstrip("/")

    def start(self) -> ServedApp:
        if self._thread is not None:
            raise RuntimeError("ServedApp already started")
        sock = bind_loopback(self._requested_port)
        self.port = sock.getsockname()[1]
        server = uvicorn.Server(_uvicorn_config(self._app, graceful_shutdown_s=1))
        self._server = server

        def run() -> None:
            try:
                server.run(sockets=[sock])
            except BaseException as exc:  # surfaced to the starting thread
                self._error = exc
            finally:
                sock.close()

        self._thread = threading.Thread(target=run, name=f"fake-server-{self.port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + self._startup_timeout
        while not server.started:
            if not self._thread.is_alive():
                raise RuntimeError(f"fake server failed to start: {self._error!r}")
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"fake server did not start within {self._startup_timeout}s")
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        if self._before_shutdown is not None:
            self._before_shutdown()
        server.should_exit = True
        thread.join(self._shutdown_timeout)
        if thread.is_alive():
            server.force_exit = True
            thread.join(self._shutdown_timeout)
        self._server = self._thread = None
        if thread.is_alive():
            raise RuntimeError("fake server thread did not stop")

    def __enter__(self) -> ServedApp:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> ServedApp:
        return await asyncio.to_thread(self.start)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await asyncio.to_thread(self.stop)


# --------------------------------------------------------------------------- standalone


def add_server_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=0, help="0 = ephemeral (default)")
    parser.add_argument("--port-file", type=Path, help="write the bound port here (atomically)")


def _write_port_file(path: Path, port: int) -> None:
    """Write atomically so a polling reader never sees an empty or partial file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w") as fh:
        fh.write(f"{port}\n")
    os.replace(tmp, path)


def serve_forever(app: ASGIApp, *, port: int = 0, port_file: Path | None = None) -> None:
    """Serve ``app`` on 127.0.0.1 in the foreground until SIGINT/SIGTERM."""
    sock = bind_loopback(port)
    bound = sock.getsockname()[1]
    if port_file is not None:
        _write_port_file(port_file, bound)
    print(f"listening on http://{LOOPBACK}:{bound}", file=sys.stderr, flush=True)
    try:
        uvicorn.Server(_uvicorn_config(app, graceful_shutdown_s=1)).run(sockets=[sock])
    finally:
        sock.close()


# ------------------------------------------------------------------ shared fake plumbing


class DroppedConnection(Response):
    """A "response" that closes the TCP connection without sending a status line.

    Clients observe the server vanishing mid-request: httpx raises
    ``httpx.RemoteProtocolError("Server disconnected without sending a response.")``
    and requests raises ``requests.exceptions.ConnectionError`` (RemoteDisconnected).

    How: uvicorn's ``receive`` callable is a bound method of its per-request cycle
    object, which holds the asyncio transport; we close that transport and wait for
    uvicorn to notice the disconnect, so it neither logs an error nor sends a 500.
    If a future uvicorn hides the transport, we fall back to sending headers that
    promise a body and then returning without it; uvicorn then closes the socket and
    the client sees a truncated response (still a protocol error, after a status line).
    """

    def __init__(self) -> None:
        super().__init__(content=b"", status_code=200)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        transport: Any = getattr(getattr(receive, "__self__", None), "transport", None)
        if transport is not None and hasattr(transport, "close"):
            transport.close()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(receive(), timeout=1.0)  # -> http.disconnect
            return
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"64")],
            }
        )


class SlidingWindow:
    """At most ``limit`` events in any ``window`` seconds (true sliding window).

    Not thread-safe on its own: callers hold their fake's lock.
    """

    def __init__(self, limit: int, window: float = 1.0) -> None:
        if limit < 1:
            raise ValueError("limit must be >= 1")
        self.limit = limit
        self.window = window
        self._events: collections.deque[float] = collections.deque()

    def _expire(self, now: float) -> None:
        while self._events and self._events[0] <= now - self.window:
            self._events.popleft()

    def retry_after(self, now: float) -> float:
        """Seconds until one more event would be admitted (0.0 = admitted now)."""
        self._expire(now)
        if len(self._events) < self.limit:
            return 0.0
        return self._events[0] + self.window - now

    def add(self, now: float) -> None:
        self._events.append(now)


async def sleep_unless(released: threading.Event, seconds: float) -> None:
    """Sleep up to ``seconds``, returning early once ``released`` is set (any thread)."""
    deadline = time.monotonic() + seconds
    while not released.is_set():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return
        await asyncio.sleep(min(0.02, remaining))


@dataclass
class ScriptedFailure:
    """One scripted misbehaviour, consumed by the next ``remaining`` matching requests.

    ``target`` is the chat id (Telegram) or ``To`` number (Twilio); ``None`` matches
    any.  ``method`` is the API operation name; ``None`` matches any.  ``delivered``
    says whether the provider really performed the operation before the answer was
    lost ("hang": yes by default; "drop": no by default).
    """

    kind: str
    target: object | None
    method: str | None
    remaining: int = 1
    retry_after: int = 3
    hang_seconds: float = 5.0
    delivered: bool = False

    def matches(self, method: str, target: object | None) -> bool:
        if self.method is not None and self.method.lower() != method.lower():
            return False
        return self.target is None or self.target == target


class FailureScript:
    """FIFO of :class:`ScriptedFailure`; thread-safe (tests add, server thread takes)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[ScriptedFailure] = []

    def add(self, rule: ScriptedFailure) -> None:
        if rule.remaining < 1:
            raise ValueError("count must be >= 1")
        with self._lock:
            self._rules.append(rule)

    def take(self, method: str, target: object | None) -> ScriptedFailure | None:
        with self._lock:
            for rule in self._rules:
                if rule.matches(method, target):
                    rule.remaining -= 1
                    if rule.remaining == 0:
                        self._rules.remove(rule)
                    return rule
        return None

    def pending(self) -> int:
        with self._lock:
            return sum(rule.remaining for rule in self._rules)

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()


class ScriptedFake:
    """What both provider fakes share: a lock over state that uvicorn's thread serves
    while tests read it from theirs, the ``fail_next`` script, and hung requests that
    are released on shutdown. Subclasses set ``app``, ``failure_kinds`` and
    ``_reset_state`` (and may extend ``reset``)."""

    app: ASGIApp
    failure_kinds: frozenset[str] = frozenset()

    def __init__(self, *, hang_seconds: float) -> None:
        self.hang_seconds = hang_seconds
        self._lock = threading.Lock()
        self._released = threading.Event()
        self._failures = FailureScript()

    def _reset_state(self) -> None:
        raise NotImplementedError

    def serve(self, **kwargs: Any) -> ServedApp:
        """``ServedApp`` for this fake that releases hung requests on shutdown."""
        return ServedApp(self.app, before_shutdown=self.release_hangs, **kwargs)

    def release_hangs(self) -> None:
        """End all current and future "hang"s (and long polls) immediately."""
        self._released.set()

    def reset(self) -> None:
        with self._lock:
            self._reset_state()
        self._failures.clear()
        self._released.clear()

    def _script(self, kind: str, target: object | None, method: str | None, count: int, *,
                hang_seconds: float | None, delivered: bool | None,
                retry_after: int = 3) -> None:
        """Queue a ``fail_next`` rule: "hang" delivers by default, "drop" does not."""
        kind = str(kind)
        if kind not in self.failure_kinds:
            raise ValueError(
                f"unknown failure kind {kind!r}; expected one of {sorted(self.failure_kinds)}"
            )
        self._failures.add(ScriptedFailure(
            kind=kind, target=target, method=method, remaining=count,
            retry_after=retry_after,
            hang_seconds=self.hang_seconds if hang_seconds is None else hang_seconds,
            delivered=(kind == "hang") if delivered is None else delivered,
        ))
