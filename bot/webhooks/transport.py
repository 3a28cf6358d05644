"""POSTing one webhook row with httpx: signed, bounded in time, response body unread.

Outcomes (for the outbox sender): 2xx delivered; 429 ``RateLimited`` (its Retry-After,
bounded); 408, 5xx, timeouts and connection errors ``TransientError`` (retried with
back-off: receivers de-duplicate by ``id``, so a request that may have arrived is simply
sent again); any other status ``Rejected`` (redirects are not followed).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

import httpx

from bot.delivery.transport import Pacing, SendResult
from bot.errors import RateLimited, Rejected, TransientError
from bot.store.records import Channel, OutboxItem
from bot.webhook_config import WebhookConfig

SIGNATURE_HEADER = "X-Parley-Signature"
MAX_RETRY_AFTER = 300.0


def sign(secret: str, raw: bytes) -> str:
    """The ``X-Parley-Signature`` value: ``sha256=`` and the hex HMAC-SHA256 of the body."""
    return "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def _retry_after(response: httpx.Response) -> float:
    try:
        seconds = float(response.headers.get("Retry-After", "30"))
    except ValueError:
        seconds = 30.0
    return min(max(seconds, 1.0), MAX_RETRY_AFTER)


class WebhookTransport:
    """The ``Transport`` for the ``webhook`` outbox channel: the address is the url."""

    channel: Channel = "webhook"

    def __init__(self, hooks: Sequence[WebhookConfig], *, per_second: float = 100.0,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.hooks = {h.url: h for h in hooks}
        self.pacing = Pacing(per_second=per_second)
        self._transport = transport
        self._client: httpx.AsyncClient | None = None

    async def start(self) -> None:
        self._client = httpx.AsyncClient(transport=self._transport, follow_redirects=False,
                                         limits=httpx.Limits(max_connections=8))

    async def stop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    async def send(self, item: OutboxItem) -> SendResult:
        hook = self.hooks.get(item.address)
        if hook is None:
            raise Rejected("no [[webhooks]] entry has this url any more")
        if self._client is None:
            raise TransientError("webhook client not started")
        raw = str(item.payload.get("body", "")).encode()
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(hook.secret, raw),
                   "X-Parley-Event": str(item.payload.get("event", "")),
                   "X-Parley-Id": str(item.payload.get("id", "")),
                   "User-Agent": "Parley-Webhooks/1"}
        try:
            # streamed and closed unread: a receiver's response body is never downloaded
            async with self._client.stream("POST", hook.url, content=raw, headers=headers,
                                           timeout=hook.timeout) as response:
                status = response.status_code
                if status == 429:
                    raise RateLimited(_retry_after(response), "(webhook receiver)")
        except httpx.TimeoutException as exc:
            raise TransientError(f"webhook receiver timed out ({type(exc).__name__})") from exc
        except httpx.TransportError as exc:
            raise TransientError(f"webhook receiver unreachable ({type(exc).__name__})") from exc
        return self._outcome(status)

    @staticmethod
    def _outcome(status: int) -> SendResult:
        if 200 <= status < 300:
            return SendResult(provider_id=None)
        if status == 408 or status >= 500:
            raise TransientError(f"webhook receiver answered {status}")
        raise Rejected(f"webhook receiver answered {status}")

    async def resolve_ambiguous(self, item: OutboxItem) -> SendResult | None:
        """A POST a restart interrupted: send it again (receivers de-duplicate by id)."""
        return None
