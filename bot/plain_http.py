"""A route answered in plain text straight over ASGI, without Starlette's ``Request`` and
``Response`` objects.

For the providers' webhooks: the busiest routes by far (one request per message a
participant sends), whose answer is only a status and a word. Starlette's request and
response wrappers around them were a tenth of a Telegram turn's CPU (issue 18). The
routes stay in the one Starlette app, behind ``bot.web.edge.HttpEdge`` (which has read
and bounded the body already) and Starlette's error middleware.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from starlette.types import Receive, Scope, Send

Headers = Sequence[tuple[bytes, bytes]]
"""The request's headers as ASGI gives them: lower-case names, raw values."""
Handler = Callable[[Headers, bytes], Awaitable[tuple[int, str]]]
"""Headers and body in; the status and the plain-text answer out."""

PLAIN = b"text/plain; charset=utf-8"


def header(headers: Headers, name: bytes) -> bytes | None:
    """The first value of header ``name`` (lower case), or None."""
    for key, value in headers:
        if key == name:
            return value
    return None


class PlainEndpoint:
    """An ASGI endpoint for ``starlette.routing.Route`` (an instance, not a function, so
    Starlette hands it the raw request)."""

    def __init__(self, handle: Handler) -> None:
        self.handle = handle

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = await read_body(receive)
        status, text = await self.handle(scope["headers"], body)
        data = text.encode("utf-8")
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", PLAIN),
                                (b"content-length", str(len(data)).encode("ascii"))]})
        await send({"type": "http.response.body", "body": data})


async def read_body(receive: Receive) -> bytes:
    """The whole body (``HttpEdge`` hands it over in one piece, bounded)."""
    parts: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":  # the client went away
            break
        parts.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(parts)
