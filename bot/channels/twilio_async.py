"""Twilio's REST ``Client`` over twilio's own asynchronous HTTP client.

``AsyncTwilioHttpClient`` (twilio's, on aiohttp) keeps sends on the event loop instead
of a thread each. Two things a send needs it does not do by itself, added here with
public APIs only:

- **a bound on every request.** The client hands aiohttp no timeout of its own (its
  ``timeout`` argument is not passed on, so aiohttp's five-minute default would apply),
  so each call runs under ``asyncio.timeout(request_timeout)``;
- **whether the request was written.** aiohttp's request tracing (``TraceConfig``, its
  documented hook) marks the attempt as soon as the request's headers have been sent.
  A failure before that mark — refused, DNS, TLS, or the time running out while
  connecting — certainly never reached Twilio (``NeverSent``: safe to send again). A
  failure after it — no answer in time, the connection dropped — may have reached
  Twilio (``NoAnswer``: look the message up before sending again), as DESIGN §3 asks.

Errors Twilio answers with (4xx/5xx) stay twilio's own ``TwilioRestException``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from types import SimpleNamespace
from typing import TypeVar

import aiohttp
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

T = TypeVar("T")


class NeverSent(Exception):
    """The request certainly never reached Twilio (no connection, or none in time)."""


class NoAnswer(Exception):
    """The request was written but no answer came back: Twilio may have acted on it."""


@dataclass
class _Attempt:
    written: bool = False


_ATTEMPT: ContextVar[_Attempt | None] = ContextVar("parley_twilio_attempt", default=None)
"""The call under way in this task: the trace callback runs inside the same task (aiohttp
awaits it from the request), so it finds the attempt the caller set."""


async def _headers_sent(session: aiohttp.ClientSession, context: SimpleNamespace,
                        params: aiohttp.TraceRequestHeadersSentParams) -> None:
    attempt = _ATTEMPT.get()
    if attempt is not None:
        attempt.written = True


class AsyncTwilio:
    """One ``Client`` with its ``AsyncTwilioHttpClient``; make it inside the running loop
    (the HTTP client opens its aiohttp session when made)."""

    def __init__(self, account_sid: str, auth_token: str, *, timeout: float,
                 base_url: str = "") -> None:
        trace = aiohttp.TraceConfig()
        trace.on_request_headers_sent.append(_headers_sent)
        self.timeout = timeout
        self.http = AsyncTwilioHttpClient(timeout=timeout, trace_configs=[trace])
        self.client = Client(account_sid, auth_token, http_client=self.http)
        if base_url:
            self.client.api.base_url = base_url.rstrip("/")

    async def call(self, make: Callable[[], Awaitable[T]]) -> T:
        """Run one request (``make`` starts it, e.g. ``lambda: messages.create_async(…)``)
        within the timeout; a transport failure becomes ``NeverSent`` or ``NoAnswer``."""
        attempt = _Attempt()
        token = _ATTEMPT.set(attempt)
        try:
            async with asyncio.timeout(self.timeout):
                return await make()
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            what = f"{type(exc).__name__}: {exc}".rstrip(": ")
            if attempt.written and not isinstance(exc, aiohttp.ClientConnectorError):
                raise NoAnswer(f"no answer from Twilio ({what})") from exc
            raise NeverSent(f"Twilio unreachable ({what})") from exc
        finally:
            _ATTEMPT.reset(token)

    async def close(self) -> None:
        await self.http.close()

