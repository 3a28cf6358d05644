"""Sending SMS through Twilio's real ``Client``, with outcomes the outbox understands.

The client runs on the event loop over twilio's ``AsyncTwilioHttpClient``
(``bot.channels.twilio_async``), which bounds every request in time and tells apart the
two failures DESIGN §3 keeps apart: a request that never left (no connection, or none in
time: ``NeverSent``, safe to retry) and one that was written but got no answer (no
answer in time, a dropped connection: ``NoAnswer``, the message may have gone out).

Outcomes (raised for the outbox sender, see ``bot.errors``):

- 429 → ``RateLimited`` (Twilio sends no ``Retry-After``: 1, 2, 4 … s, at most a minute)
- 5xx, connection refused → ``TransientError`` (back-off)
- 21610 → ``Unreachable(code=21610)``: the person opted out at the carrier
- 21211 / 21614 / 21612 → ``Unreachable``: not a number Twilio can text
- 21602 / 21617 / 21619 → ``Rejected``: this message can never be sent as it is
- written but unanswered → wait a moment, then look the message up (To, From, date and
  exact body, skipping SIDs already recorded): found → sent; certainly absent →
  ``TransientError`` (resent); the look-up itself failing → ``AmbiguousSend``.

One outbox row may be several messages (a long text the flow allows is split into
``(1/3)`` parts). Each accepted part is recorded (``SmsStore.sms_part_add``) as soon as
Twilio answers, so a retry after a failure on part 2 sends parts 2 and 3 only, and a
restart mid-row looks up just the parts it has no record of.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client

from bot.channels.twilio_async import AsyncTwilio, NeverSent, NoAnswer
from bot.clock import Clock, SystemClock
from bot.config import Config
from bot.delivery.pacing import SlidingWindow
from bot.delivery.transport import Pacing, SendResult
from bot.errors import AmbiguousSend, RateLimited, Rejected, TransientError, Unreachable
from bot.metrics import Metrics
from bot.store.base import Store
from bot.store.records import Channel, OutboxItem
from bot.store.sms import SmsPart, summarise
from bot.text.render import SmsBody, sms_bodies

log = logging.getLogger("parley.sms")
T = TypeVar("T")

BAD_NUMBER = {21211: "not a valid phone number (21211)",
              21614: "not a mobile number (21614)",
              21612: "not reachable by SMS (21612)"}
OPTED_OUT = 21610
MESSAGE_REFUSED = {21602: "message body is required (21602)",
                   21617: "message is over 1600 characters (21617)",
                   21619: "message body or media is required (21619)"}
CLOCK_SKEW = dt.timedelta(minutes=2)
"""Our clock and Twilio's may differ: a looked-up message may be this much 'earlier'."""


class _Written(Exception):
    """The request went out but no answer came back (internal)."""


class _LookupFailed(Exception):
    """Twilio could not be asked whether a message exists (internal)."""


def phone_of(address: str) -> str:
    """``tel:+447700900123`` → ``+447700900123``."""
    return address.removeprefix("tel:")


class TwilioTransport:
    """``Transport`` for the ``sms`` channel. ``store`` is needed before the first send
    (``SmsChannel.start`` hands over the service's; tests may pass one)."""

    channel: Channel = "sms"

    def __init__(self, config: Config, *, store: Store | None = None,
                 metrics: Metrics | None = None, clock: Clock | None = None,
                 client: Client | None = None) -> None:
        self.sms = config.sms
        self.public_url = config.server.public_url.rstrip("/")
        self.pacing = Pacing(per_second=config.sms.rate_limit_per_second)
        self.store = store
        self.metrics = metrics or Metrics()
        self.clock: Clock = clock or SystemClock()
        self.window: SlidingWindow | None = None
        """The sender's window, so the 2nd and later parts of a row are paced too."""
        self.ambiguous_grace = min(max(config.sms.request_timeout / 2, 0.5), 5.0)
        """Seconds to let Twilio finish a create we gave up waiting for, before looking."""
        self._client = client
        self._api: AsyncTwilio | None = None

    # -- lifecycle ----------------------------------------------------------------------
    async def start(self) -> None:
        if self._client is None:  # made here: its HTTP session belongs to the running loop
            self._api = AsyncTwilio(self.sms.account_sid, self.sms.auth_token,
                                    timeout=self.sms.request_timeout,
                                    base_url=self.sms.api_base_url)
            self._client = self._api.client

    async def stop(self) -> None:
        if self._api is not None:  # ours: closed, and made afresh by a later start()
            api, self._api, self._client = self._api, None, None
            await api.close()

    @property
    def client(self) -> Client:
        if self._client is None:
            raise RuntimeError("TwilioTransport.start() was not called")
        return self._client

    def _store(self) -> Store:
        if self.store is None:
            raise RuntimeError("TwilioTransport has no store")
        return self.store

    # -- sending --------------------------------------------------------------------------
    async def send(self, item: OutboxItem) -> SendResult:
        bodies = [b for b in self._bodies(item.payload) if b.text]
        if not bodies:
            return SendResult(None, 0)  # nothing to say (e.g. an erased row)
        to = self._to(item.address)
        done = {p.part for p in await self._parts(item)}
        sent_now = 0
        for index, body in enumerate(bodies, start=1):
            if index in done:
                continue
            slot = None
            if sent_now and self.window is not None:
                slot = await self.window.next_request()
            try:
                await self._send_part(item, to, body, index, len(bodies))
            finally:
                if slot is not None and self.window is not None:
                    self.window.close(slot)  # pacing counts from Twilio's answer
            sent_now += 1
        return await self._result(item, bodies)

    async def _send_part(self, item: OutboxItem, to: str, body: SmsBody, index: int,
                         total: int) -> None:
        started = self.clock.now()
        try:
            message = await self._create(to, body.text)
        except TwilioRestException as exc:
            raise self._outcome(exc, item) from exc
        except _Written as exc:
            await asyncio.sleep(self.ambiguous_grace)
            try:
                message = await self._find(to, body.text, since=started)
            except _LookupFailed as lookup:
                self.metrics.inc("parley_sms_ambiguous_total", resolution="unknown")
                raise AmbiguousSend(f"{exc}; looking it up failed: {lookup}") from exc
            if message is None:
                self.metrics.inc("parley_sms_ambiguous_total", resolution="not_found")
                raise TransientError(f"{exc}; Twilio has no such message, sending again") \
                    from exc
            self.metrics.inc("parley_sms_ambiguous_total", resolution="found")
            log.info("sms: a send that got no answer had reached Twilio (%s)", message.sid)
        except NeverSent as exc:
            raise TransientError(str(exc)) from exc
        await self._record(item, message, body, index, total)

    # -- what WhatsApp (``whatsapp_transport``) changes; the rest is shared ---------------
    def _to(self, address: str) -> str:
        return phone_of(address)

    def _bodies(self, payload: dict[str, Any]) -> list[SmsBody]:
        return sms_bodies(payload)

    def _sender(self) -> str:
        return self.sms.from_number

    def _same(self, to: str, body: str | None, text: str) -> bool:
        """Whether a message Twilio holds is the one we sent with ``text``."""
        return body == text

    def _params(self, to: str, text: str) -> dict[str, Any]:
        params: dict[str, Any] = {"to": to, "from_": self.sms.from_number, "body": text,
                                  "validity_period": self.sms.validity_period}
        if self.public_url:
            params["status_callback"] = f"{self.public_url}/sms/status"
        return params

    async def _call(self, make: Callable[[], Awaitable[T]]) -> T:
        """One request, bounded in time (see ``twilio_async``); a client given to the
        constructor (tests) is called as it is."""
        if self._api is None:
            return await make()
        return await self._api.call(make)

    async def _create(self, to: str, text: str) -> Any:
        """One create request; ``_Written`` when it went out but got no answer."""
        params = self._params(to, text)
        try:
            return await self._call(lambda: self.client.messages.create_async(**params))
        except NoAnswer as exc:
            raise _Written(str(exc)) from exc

    def _outcome(self, exc: TwilioRestException, item: OutboxItem) -> Exception:
        code, status = exc.code, exc.status
        detail = f"Twilio {status} error {code}: {exc.msg}"
        if status == 429 or code == 20429:
            return RateLimited(float(min(2 ** max(item.attempts - 1, 0), 60)), detail)
        if code == OPTED_OUT:
            return Unreachable("opted out at the carrier (21610)", OPTED_OUT)
        if code in BAD_NUMBER:
            return Unreachable(BAD_NUMBER[code], code)
        if code in MESSAGE_REFUSED:  # this message, not the number: it would fail again
            return Rejected(MESSAGE_REFUSED[code])
        if status in (401, 403):
            log.error("sms: Twilio refused our credentials (%s); check [sms] account_sid "
                      "and auth_token", code)
        return TransientError(detail)

    async def _record(self, item: OutboxItem, message: Any, body: SmsBody, index: int,
                      total: int) -> None:
        if item.id is None:
            return
        now = self.clock.now()
        try:
            segments = int(message.num_segments or 0)
        except (TypeError, ValueError):
            segments = 0
        await self._store().sms_part_add(SmsPart(
            sid=str(message.sid), outbox_id=item.id, part=index, parts=total,
            segments=segments or body.segments, status=str(message.status or "queued"),
            created_at=now, updated_at=now))

    async def _parts(self, item: OutboxItem) -> list[SmsPart]:
        return [] if item.id is None else await self._store().sms_parts_of(item.id)

    async def _result(self, item: OutboxItem, bodies: list[SmsBody]) -> SendResult:
        parts = await self._parts(item)
        if not parts:
            return SendResult(None, sum(b.segments for b in bodies))
        item.delivery_status = summarise(parts)
        first = min(parts, key=lambda p: p.part)
        return SendResult(first.sid, sum(p.segments for p in parts))

    # -- did it go out? -----------------------------------------------------------------
    async def resolve_ambiguous(self, item: OutboxItem) -> SendResult | None:
        """After a restart: look up every part of the row we have no record of."""
        bodies = [b for b in self._bodies(item.payload) if b.text]
        if not item.address or not bodies:
            raise AmbiguousSend("cannot be checked: the message text is no longer kept")
        to = self._to(item.address)
        done = {p.part for p in await self._parts(item)}
        missing = False
        for index, body in enumerate(bodies, start=1):
            if index in done:
                continue
            try:
                message = await self._find(to, body.text, since=item.created_at)
            except _LookupFailed as exc:
                raise TransientError(f"could not ask Twilio: {exc}") from exc
            if message is None:
                missing = True
            else:
                await self._record(item, message, body, index, len(bodies))
        self.metrics.inc("parley_sms_ambiguous_total",
                         resolution="not_found" if missing else "found")
        if missing:
            return None
        return await self._result(item, bodies)

    async def _find(self, to: str, text: str, since: dt.datetime) -> Any | None:
        """The oldest message to ``to`` with exactly ``text``, created after ``since``,
        that no outbox row has claimed yet; None when Twilio has none."""
        try:
            candidates = await self._list(to, since)
        except (TwilioException, NeverSent, NoAnswer) as exc:
            raise _LookupFailed(f"{type(exc).__name__}: {exc}") from exc
        earliest = since - CLOCK_SKEW
        matching = [m for m in candidates if self._same(to, m.body, text)
                    and (m.date_created is None or m.date_created >= earliest)]
        matching.sort(key=_created)
        for message in matching:
            if await self._store().sms_part(str(message.sid)) is None:
                return message
        return None

    async def _list(self, to: str, since: dt.datetime) -> list[Any]:
        """Messages to ``to`` sent since the day of ``since`` (DateSent>=), plus the newest
        few whatever their date (a message still queued has no DateSent yet)."""
        day = since.astimezone(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        messages, sender = self.client.messages, self._sender()
        since_day = await self._call(lambda: messages.list_async(
            to=to, from_=sender, date_sent_after=day, limit=200))
        newest = await self._call(lambda: messages.list_async(to=to, from_=sender, limit=50))
        found = {m.sid: m for m in since_day}
        for m in newest:
            found.setdefault(m.sid, m)
        return list(found.values())


def _created(message: Any) -> dt.datetime:
    created: dt.datetime | None = message.date_created
    return created or dt.datetime.max.replace(tzinfo=dt.UTC)

