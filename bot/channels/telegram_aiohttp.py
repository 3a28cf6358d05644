"""python-telegram-bot's ``Bot`` over aiohttp, for the outbox's sends.

Why: PTB's default backend (``HTTPXRequest``) spends about 1.6 ms of CPU per Bot API
call in httpx and httpcore, the most expensive step of a conversation turn. aiohttp is a
maintained client with a C-accelerated HTTP parser and its own keep-alive pool; it plugs
into PTB through PTB's documented extension point (``telegram.request.BaseRequest``), so
request encoding, answer parsing and the exceptions PTB raises (``RetryAfter``,
``Forbidden``, ``BadRequest``, ``TimedOut``, ``NetworkError``) stay PTB's own.

Failures keep aiohttp's own exception as ``__cause__`` (raised ``from`` it, never made
up), so ``telegram_transport.outcome_of`` tells them apart by type alone:

- ``aiohttp.ConnectionTimeoutError`` (no free connection or no connection in time) and
  ``aiohttp.ClientConnectorError`` (refused, DNS, TLS handshake): nothing was written,
  safe to send again;
- ``aiohttp.SocketTimeoutError`` (no answer in time), ``ServerDisconnectedError`` and
  other ``ClientError``: the request may have been written, so the send is ambiguous;
- ``ResponseTooLarge``: an answer over ``max_response_bytes`` (Telegram's answers to
  sends are a few kilobytes; a huge one is refused rather than read into memory). The
  request was answered, so Telegram may have acted: ambiguous too.

Uploads (``multipart``) go to the ``BaseRequest`` given as ``files`` (PTB's
``HTTPXRequest``), which also serves every request when a proxy is configured
(``TelegramChannel``). Idle connections are dropped after ``max_idle`` seconds, shorter
than common servers' keep-alive timeouts, so a send is almost never written into a
connection the server is closing (which would make it ambiguous).
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from typing import Any, cast

import aiohttp
from telegram.error import NetworkError, TelegramError, TimedOut
from telegram.request import BaseRequest, RequestData

from bot.json_codec import dumps_bytes, dumps_text, loads

log = logging.getLogger("parley.telegram")
MAX_RESPONSE_BYTES = 4 * 1024 * 1024
JSON_BODY = {"Content-Type": "application/json", "Accept": "*/*"}
"""Bodies are PTB's ``RequestData.json_payload``: the same parameters PTB's own backend
form-encodes (each value already JSON text, as Telegram reads form fields), as one JSON
object, which the Bot API accepts for every method but uploads. Form-encoding quotes the
keyboard's JSON byte by byte in Python: a sixth of a send's CPU."""


def json_body(request_data: RequestData) -> bytes:
    """``request_data.json_payload``, encoded by orjson the way PTB's documentation says
    another JSON library should do it: each value that is not a string as JSON text of
    its own, then the whole object."""
    return dumps_bytes({name: value if isinstance(value, str) else dumps_text(value)
                        for name, value in request_data.parameters.items()})


class ResponseTooLarge(Exception):
    """The Bot API's answer was longer than the cap."""


def _ssl_context() -> ssl.SSLContext:
    try:
        import certifi  # what httpx trusts, so both backends trust the same servers

        return ssl.create_default_context(cafile=certifi.where())
    except ImportError:  # pragma: no cover - certifi comes with httpx
        return ssl.create_default_context()


def _seconds(value: object, default: float | None) -> float | None:
    """A per-call timeout PTB passes: a number, ``None`` (no limit), or its
    ``DEFAULT_NONE`` marker meaning "this backend's default"."""
    if value is None or isinstance(value, int | float):
        return None if value is None else float(value)
    return default


class AiohttpRequest(BaseRequest):
    """``BaseRequest`` over one ``aiohttp.ClientSession`` (see the module)."""

    def __init__(self, *, files: BaseRequest, pool_size: int = 32,
                 read_timeout: float | None = 10.0, write_timeout: float | None = 10.0,
                 connect_timeout: float | None = 5.0, pool_timeout: float | None = 5.0,
                 max_idle: float = 4.0, max_response_bytes: int = MAX_RESPONSE_BYTES) -> None:
        self._files = files
        self._pool_size = pool_size
        self._read, self._write = read_timeout, write_timeout
        self._connect, self._pool = connect_timeout, pool_timeout
        self._max_idle = max_idle
        self.max_response_bytes = max_response_bytes
        self._session: aiohttp.ClientSession | None = None
        self._timeouts: dict[tuple[float | None, ...], aiohttp.ClientTimeout] = {}

    @property
    def read_timeout(self) -> float | None:
        return self._read

    def _open(self) -> aiohttp.ClientSession:
        """The session, made on first use (it must be made inside the running loop)."""
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self._pool_size,
                                             keepalive_timeout=self._max_idle,
                                             ssl=_ssl_context())
            # the Bot API sets no cookies: no jar to filter for every request
            self._session = aiohttp.ClientSession(
                connector=connector, headers={"User-Agent": self.USER_AGENT},
                cookie_jar=aiohttp.DummyCookieJar())
        return self._session

    @staticmethod
    def parse_json_payload(payload: bytes) -> dict[str, Any]:
        """PTB's documented hook for another JSON parser: orjson (``bot.json_codec``),
        otherwise as PTB's own (invalid UTF-8 replaced, a ``TelegramError`` when the
        answer is not JSON)."""
        try:
            result = loads(payload.decode("utf-8", "replace"))
        except ValueError as exc:
            log.warning("telegram: the Bot API answered with invalid JSON (%d bytes)",
                        len(payload))
            raise TelegramError("Invalid server response") from exc
        return cast(dict[str, Any], result)

    async def initialize(self) -> None:
        self._open()
        await self._files.initialize()

    async def shutdown(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
        await self._files.shutdown()

    async def do_request(  # wider timeout types than PTB's (allowed): see ``_seconds``
        self, url: str, method: str, request_data: RequestData | None = None,
        read_timeout: object = BaseRequest.DEFAULT_NONE,
        write_timeout: object = BaseRequest.DEFAULT_NONE,
        connect_timeout: object = BaseRequest.DEFAULT_NONE,
        pool_timeout: object = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if request_data is not None and request_data.contains_files:
            return await self._files.do_request(
                url, method, request_data, read_timeout,  # type: ignore[arg-type]
                write_timeout, connect_timeout, pool_timeout)  # type: ignore[arg-type]
        read, write = _seconds(read_timeout, self._read), _seconds(write_timeout, self._write)
        connect = _seconds(connect_timeout, self._connect)
        pool = _seconds(pool_timeout, self._pool)
        timeout = self._timeout(read, connect, pool)
        body = json_body(request_data) if request_data else b""
        overall = None if None in (read, write, connect, pool) else \
            sum(t for t in (read, write, connect, pool) if t is not None)
        try:
            async with asyncio.timeout(overall):  # bounds a write aiohttp does not time
                return await self._exchange(url, method, body, timeout)
        except aiohttp.ServerTimeoutError as exc:  # connect (nothing sent) or read
            raise TimedOut(f"aiohttp.{type(exc).__name__}: {exc}") from exc
        except TimeoutError as exc:
            raise TimedOut("no answer in time after the request was sent") from exc
        except (aiohttp.ClientError, ResponseTooLarge) as exc:
            raise NetworkError(f"aiohttp.{type(exc).__name__}: {exc}") from exc

    def _timeout(self, read: float | None, connect: float | None,
                 pool: float | None) -> aiohttp.ClientTimeout:
        """aiohttp's timeouts for PTB's; made once per distinct set (a send's are the
        bot's defaults, so in practice one object)."""
        key = (read, connect, pool)
        timeout = self._timeouts.get(key)
        if timeout is None:
            # aiohttp's ``connect`` covers waiting for a pooled connection and opening
            # one: either way nothing has been written when it expires
            timeout = aiohttp.ClientTimeout(
                total=None, sock_read=read, sock_connect=connect,
                connect=None if connect is None or pool is None else connect + pool)
            if len(self._timeouts) < 64:  # PTB's callers pass a few; never grows unbounded
                self._timeouts[key] = timeout
        return timeout

    async def _exchange(self, url: str, method: str, body: bytes,
                        timeout: aiohttp.ClientTimeout) -> tuple[int, bytes]:
        async with self._open().request(method, url, data=body, headers=JSON_BODY,
                                        timeout=timeout) as response:
            length = response.content_length
            if length is not None and length > self.max_response_bytes:
                raise ResponseTooLarge(f"an answer of {length} bytes")
            payload = bytearray()
            async for chunk in response.content.iter_chunked(65536):
                payload += chunk
                if len(payload) > self.max_response_bytes:
                    raise ResponseTooLarge(f"an answer over {self.max_response_bytes} bytes")
            return response.status, bytes(payload)
