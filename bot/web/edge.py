"""The HTTP edge of ``parley serve``: what every request and response passes through.

- **Bodies** are read here, whole, before any route sees them: more than
  ``[server] max_body_bytes`` is 413 whether or not a ``Content-Length`` was sent
  (a chunked body is counted as it arrives); a client slower than ``read_timeout``
  seconds between two pieces gets 408; a client that goes away mid-body is logged once at
  DEBUG and nothing else happens (it used to be an ERROR traceback per request).
- **Responses** get ``X-Content-Type-Options: nosniff`` (static files and JSON too),
  ``Strict-Transport-Security`` when the public URL is https, and a ``Location`` that
  points at the request's own host is made relative, so a forged ``Host`` header is never
  echoed back as a redirect target.
- **JSON** bodies are parsed by ``bot.text_hygiene.loads_bounded`` (too deep: 400).
"""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import urlsplit

from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("parley.web")
HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")
NOSNIFF = (b"x-content-type-options", b"nosniff")


class _Gone(Exception):
    """The client went away before its body arrived."""


class HttpEdge:
    """ASGI middleware around the whole app (see the module docstring)."""

    def __init__(self, app: ASGIApp, *, limit: int, read_timeout: float = 30.0,
                 https: bool = False, direct: dict[str, ASGIApp] | None = None) -> None:
        """``direct``: POST routes (the providers' webhooks) handed their request here,
        past Starlette's routing and middleware, which cost a webhook as much as the
        answer itself (issue 18); their errors are answered 500 here as Starlette's
        would be."""
        self.app, self.limit, self.read_timeout, self.https = app, limit, read_timeout, https
        self.direct = direct or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        send = self._headers(scope, send)
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await _answer(scope, receive, send, 413, "request body too large")
            return
        try:
            body = await self._body(receive)
        except _Gone:
            log.debug("web: client went away before sending its whole body (%s %s)",
                      scope.get("method"), scope.get("path"))
            return
        except TimeoutError:
            await _answer(scope, receive, send, 408, "request body too slow")
            return
        if body is None:
            await _answer(scope, receive, send, 413, "request body too large")
            return
        direct = self.direct.get(scope["path"]) if scope["method"] == "POST" else None
        if direct is None:
            await self.app(scope, _replay(body, receive), send)
            return
        try:
            await direct(scope, _replay(body, receive), send)
        except Exception:
            log.exception("web: %s %s failed", scope["method"], scope["path"])
            await _answer(scope, receive, send, 500, "Internal Server Error")

    async def _body(self, receive: Receive) -> bytes | None:
        """The whole body, or None when it is over the limit."""
        parts: list[bytes] = []
        size = 0
        while True:
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for runs the receive in a
            # task of its own, a tenth of a webhook's CPU
            async with asyncio.timeout(self.read_timeout):
                message = await receive()
            if message["type"] == "http.disconnect":
                raise _Gone
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                return None
            parts.append(chunk)
            if not message.get("more_body", False):
                return b"".join(parts)

    def _headers(self, scope: Scope, send: Send) -> Send:
        host = dict(scope.get("headers", [])).get(b"host", b"").decode("latin-1").lower()

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, _relative(v, host) if k.lower() == b"location" else v)
                           for k, v in message.get("headers", [])]
                names = {k.lower() for k, _ in headers}
                if NOSNIFF[0] not in names:
                    headers.append(NOSNIFF)
                if self.https and HSTS[0] not in names:
                    headers.append(HSTS)
                message = {**message, "headers": headers}
            await send(message)

        return sending


def _relative(location: bytes, host: str) -> bytes:
    """``http://<this host>/path?q`` → ``/path?q``; other locations unchanged."""
    parts = urlsplit(location.decode("latin-1"))
    if not parts.netloc or parts.netloc.lower() != host:
        return location
    path = parts.path or "/"
    if path.startswith("//"):  # would read as another host once relative
        path = "/" + path.lstrip("/")
    return (path + (f"?{parts.query}" if parts.query else "")).encode("latin-1")


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # after the body: only a disconnect can come

    return replay


async def _answer(scope: Scope, receive: Receive, send: Send, status: int, text: str) -> None:
    headers = {"Connection": "close"}
    await PlainTextResponse(text, status_code=status, headers=headers)(scope, receive, send)
