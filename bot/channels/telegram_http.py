"""A lean HTTP/1.1 backend for python-telegram-bot's ``Bot``, for the outbox's sends.

Why: in our measurements PTB's default backend (``HTTPXRequest``) spends about 1.6 ms of
CPU per Bot API call in httpx and httpcore (connection-pool bookkeeping, anyio, a
per-request failed ``import sniffio``), which made the send the most expensive step of a
conversation turn. Bot API calls are simple: one POST of a form, one JSON answer. This
class does exactly that over keep-alive connections (asyncio streams, TLS via the
system's or certifi's CA bundle) for about a tenth of the CPU, and plugs into PTB
through its documented extension point (``telegram.request.BaseRequest``), so request
encoding, answer parsing and the exceptions PTB raises (``RetryAfter``, ``Forbidden``,
``BadRequest``, ``TimedOut``, ``NetworkError``) are PTB's own.

Failures are raised the way ``HTTPXRequest`` raises them, with the same httpx exception
as ``__cause__``, so ``telegram_transport.outcome_of`` can tell a request that never
left (``ConnectError``, ``ConnectTimeout``, ``PoolTimeout``: safe to resend) from one
that was written and then went unanswered (``ReadTimeout``, ``WriteTimeout``,
``RemoteProtocolError``: ambiguous, never resent).

What it does not do, and who does: uploads (``multipart``) go to the ``HTTPXRequest``
given as ``files``; proxies are not supported, so ``TelegramChannel`` uses
``HTTPXRequest`` for everything when a proxy is set in the environment; long polling
(``getUpdates``) always uses ``HTTPXRequest``.

Keep-alive safety: a connection is reused only if the server has not closed it (its
end-of-stream would have been seen while idle) and it has been idle for less than
``max_idle`` seconds, shorter than common servers' keep-alive timeouts, so a send is
almost never written into a connection the server is closing (which would make it
ambiguous).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

MAX_HEADER_LINES = 100


@dataclass
class _Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    idle_since: float = 0.0

    def usable(self, max_idle: float) -> bool:
        return (not self.reader.at_eof() and not self.writer.is_closing()
                and time.monotonic() - self.idle_since < max_idle)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.close()


def _ssl_context() -> ssl.SSLContext:
    try:
        import certifi  # what httpx trusts, so both backends trust the same servers

        return ssl.create_default_context(cafile=certifi.where())
    except ImportError:  # pragma: no cover - certifi comes with httpx
        return ssl.create_default_context()


class _ProtocolError(Exception):
    """The answer was cut short or malformed."""


class LeanRequest(BaseRequest):
    """``BaseRequest`` over a small pool of keep-alive HTTP/1.1 connections per host."""

    def __init__(self, *, files: BaseRequest, pool_size: int = 32,
                 read_timeout: float | None = 10.0, write_timeout: float | None = 10.0,
                 connect_timeout: float | None = 5.0, pool_timeout: float | None = 5.0,
                 max_idle: float = 4.0) -> None:
        self._files = files
        self._pool_size = pool_size
        self._timeouts = {"read": read_timeout, "write": write_timeout,
                          "connect": connect_timeout, "pool": pool_timeout}
        self._max_idle = max_idle
        self._slots = asyncio.Semaphore(pool_size)
        self._idle: dict[tuple[str, str, int], list[_Connection]] = {}
        self._ssl: ssl.SSLContext | None = None
        self._urls: dict[str, tuple[str, str, int, str, str]] = {}

    @property
    def read_timeout(self) -> float | None:
        return self._timeouts["read"]

    async def initialize(self) -> None:
        await self._files.initialize()

    async def shutdown(self) -> None:
        for connections in self._idle.values():
            for connection in connections:
                connection.close()
        self._idle.clear()
        await self._files.shutdown()

    def _timeout(self, value: ODVInput[float], name: str) -> float | None:
        return self._timeouts[name] if isinstance(value, DefaultValue) else value

    def _target(self, url: str) -> tuple[str, str, int, str, str]:
        """``(scheme, host, port, path, Host header)``, parsed once per URL."""
        found = self._urls.get(url)
        if found is None:
            parts = urlsplit(url)
            scheme, host = parts.scheme, parts.hostname or ""
            port = parts.port or (443 if scheme == "https" else 80)
            path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            default = (scheme, port) in (("https", 443), ("http", 80))
            found = (scheme, host, port, path, host if default else f"{host}:{port}")
            if len(self._urls) < 1000:
                self._urls[url] = found
        return found

    async def do_request(
        self, url: str, method: str, request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if request_data is not None and request_data.contains_files:
            return await self._files.do_request(url, method, request_data, read_timeout,
                                                write_timeout, connect_timeout, pool_timeout)
        scheme, host, port, path, host_header = self._target(url)
        body = request_data.url_encoded_parameters().encode() if request_data else b""
        head = (f"{method} {path} HTTP/1.1\r\nHost: {host_header}\r\n"
                f"User-Agent: {self.USER_AGENT}\r\nAccept: */*\r\n"
                f"Content-Type: application/x-www-form-urlencoded\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode("latin-1")
        try:
            await asyncio.wait_for(self._slots.acquire(),
                                   self._timeout(pool_timeout, "pool"))
        except TimeoutError:
            raise TimedOut("Pool timeout: All connections in the connection pool are "
                           "occupied. Request was *not* sent to Telegram.") from \
                httpx.PoolTimeout("no free connection")
        connection: _Connection | None = None
        try:
            connection = await self._connection(scheme, host, port,
                                                self._timeout(connect_timeout, "connect"))
            status, payload, keep = await self._exchange(
                connection, head + body, self._timeout(write_timeout, "write"),
                self._timeout(read_timeout, "read"))
        except BaseException:  # errors, and cancellation half-way through an answer
            if connection is not None:
                connection.close()
            raise
        finally:
            self._slots.release()
        if keep:
            connection.idle_since = time.monotonic()
            self._idle.setdefault((scheme, host, port), []).append(connection)
        else:
            connection.close()
        return status, payload

    async def _connection(self, scheme: str, host: str, port: int,
                          timeout: float | None) -> _Connection:
        idle = self._idle.get((scheme, host, port), [])
        while idle:
            connection = idle.pop()
            if connection.usable(self._max_idle):
                return connection
            connection.close()
        if scheme == "https" and self._ssl is None:
            self._ssl = _ssl_context()
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(
                host, port, ssl=self._ssl if scheme == "https" else None), timeout)
        except TimeoutError as exc:
            raise TimedOut("Timed out connecting") from httpx.ConnectTimeout(str(exc))
        except OSError as exc:
            raise NetworkError(f"httpx.ConnectError: {exc}") from httpx.ConnectError(str(exc))
        return _Connection(reader, writer)

    async def _exchange(self, connection: _Connection, request: bytes,
                        write_timeout: float | None, read_timeout: float | None,
                        ) -> tuple[int, bytes, bool]:
        """Write the request and read the answer: ``(status, body, keep-alive)``."""
        try:
            connection.writer.write(request)
            await asyncio.wait_for(connection.writer.drain(), write_timeout)
        except TimeoutError as exc:
            connection.close()
            raise TimedOut("Timed out writing the request") from httpx.WriteTimeout(str(exc))
        except OSError as exc:
            connection.close()
            raise NetworkError(f"httpx.WriteError: {exc}") from httpx.WriteError(str(exc))
        try:
            return await asyncio.wait_for(self._read(connection.reader), read_timeout)
        except TimeoutError as exc:
            connection.close()
            raise TimedOut("Timed out waiting for the answer") from httpx.ReadTimeout(str(exc))
        except (OSError, EOFError, ValueError, _ProtocolError) as exc:
            connection.close()
            message = str(exc) or "Server disconnected without sending a response."
            raise NetworkError(f"httpx.RemoteProtocolError: {message}") from \
                httpx.RemoteProtocolError(message)

    async def _read(self, reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
        status_line = await reader.readline()
        if not status_line:
            raise _ProtocolError("Server disconnected without sending a response.")
        parts = status_line.split(None, 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
            raise _ProtocolError("malformed status line")
        status = int(parts[1])
        keep = parts[0] == b"HTTP/1.1"
        length: int | None = None
        chunked = False
        for _ in range(MAX_HEADER_LINES):
            line = await reader.readline()
            if line in (b"\r\n", b"\n"):
                break
            if not line:
                raise _ProtocolError("connection closed in the headers")
            name, _, value = line.partition(b":")
            name, value = name.strip().lower(), value.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value
            elif name == b"connection":
                keep = value != b"close" if keep else value == b"keep-alive"
        else:
            raise _ProtocolError("too many header lines")
        if chunked:
            body = await self._chunks(reader)
        elif length is not None:
            body = await reader.readexactly(length)
        else:  # the body runs to the end of the connection
            body, keep = await reader.read(), False
        return status, body, keep

    @staticmethod
    async def _chunks(reader: asyncio.StreamReader) -> bytes:
        body = bytearray()
        while True:
            size = int((await reader.readline()).split(b";")[0].strip() or b"x", 16)
            if size == 0:
                while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return bytes(body)
            body += await reader.readexactly(size)
            await reader.readexactly(2)
