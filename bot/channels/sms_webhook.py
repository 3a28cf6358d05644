"""Twilio's two webhooks: inbound SMS and delivery status callbacks.

Both are refused (403, nothing kept) unless ``X-Twilio-Signature`` is Twilio's signature
of *our public URL* for the path plus the POSTed form, computed with the account's auth
token by twilio's own ``RequestValidator``. The URL is ``[server] public_url`` + path,
never the Host header a proxy passed on, so without ``public_url`` nothing is accepted.

Inbound: the message is committed to the inbox (deduplicated on ``MessageSid``) *before*
the empty TwiML answer, so Twilio's retry of a request we answered late is harmless and
a crash after the answer loses nothing. The number is normalised to E.164 with
``phonenumbers`` so ``07700 900123`` imported from a CSV and ``+447700900123`` from Twilio
are the same person. The body is kept exactly as Twilio delivered it: Twilio reassembles
a long (concatenated) SMS before calling us, with ``NumSegments`` saying how many parts
it had, so one webhook is one message however long.

Status: each callback is kept (history per message) and moves the message forward only
(callbacks can arrive out of order); the outbox row's ``delivery_status`` summarises its
parts. A callback for a SID we never sent is answered 200 and logged, so Twilio does not
retry it for nothing.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

from starlette.datastructures import ImmutableMultiDict
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from twilio.request_validator import RequestValidator

from bot.channels.twilio_media import media_of
from bot.config import Config
from bot.delivery import address_problems
from bot.engine.keywords import classify
from bot.errors import StoreError
from bot.store.records import Channel, InboxItem
from bot.store.sms import summarise

if TYPE_CHECKING:
    from bot.channels.host import ServiceHost

log = logging.getLogger("parley.sms")

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
SIGNATURE_HEADER = "X-Twilio-Signature"
SETTINGS_HEADER = "X-Twilio-Webhooks-Signature-Settings"

Form = ImmutableMultiDict[str, str]


def sms_address(raw: str, region: str) -> str | None:
    """``tel:<E.164>`` for a sender, or None when it is not a phone number we can answer
    (an alphanumeric sender, say)."""
    from bot.people import normalise_phone

    try:
        return "tel:" + normalise_phone(raw, region)
    except ValueError:
        return None


def twiml() -> Response:
    return Response(EMPTY_TWIML, media_type="text/xml")


class SmsWebhooks:
    """The handlers; ``attach`` gives them the running service."""

    channel: Channel = "sms"
    """Metric label and route prefix (``WhatsAppWebhooks`` shares the rest)."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.public_url = config.server.public_url.rstrip("/")
        self.validator = RequestValidator(config.sms.auth_token)
        self.service: ServiceHost | None = None
        self._resyncs: set[asyncio.Task[None]] = set()

    def attach(self, service: ServiceHost) -> None:
        self.service = service

    def _service(self) -> ServiceHost:
        if self.service is None:
            raise RuntimeError("the SMS channel has not been started")
        return self.service

    async def detach(self) -> None:
        for task in list(self._resyncs):
            task.cancel()
        await asyncio.gather(*self._resyncs, return_exceptions=True)

    # -- authentication -----------------------------------------------------------------
    async def signed_form(self, request: Request, route: str) -> Form | None:
        """The POSTed form if Twilio signed it for our public URL, else None."""
        body = (await request.body()).decode("utf-8", errors="replace")
        form: Form = ImmutableMultiDict(parse_qsl(body, keep_blank_values=True))
        signature = request.headers.get(SIGNATURE_HEADER, "")
        label, reason = "", ""
        if not self.public_url:
            label, reason = "no_public_url", "no [server] public_url to check signatures with"
        elif not signature:
            label, reason = "no_signature", "no X-Twilio-Signature"
        else:
            url = self.public_url + request.url.path
            if request.url.query:
                url += "?" + request.url.query
            algorithm = _algorithm(request.headers.get(SETTINGS_HEADER))
            args = (url, form, signature) if algorithm is None else (
                url, form, signature, algorithm)
            if not self.validator.validate(*args):
                label, reason = "bad_signature", "the signature does not match"
        if reason:
            self._service().metrics.inc("parley_inbound_rejected_total", channel=self.channel,
                                        reason=label)
            log.warning("sms: refused a request to %s: %s", route, reason)
            return None
        return form

    # -- POST /sms/inbound --------------------------------------------------------------
    async def inbound(self, request: Request) -> Response:
        form = await self.signed_form(request, "/sms/inbound")
        if form is None:
            return PlainTextResponse("forbidden", status_code=403)
        service = self._service()
        sid = form.get("MessageSid") or form.get("SmsSid") or ""
        if not sid:
            return PlainTextResponse("MessageSid missing", status_code=400)
        address = sms_address(form.get("From", ""), self.config.sms.default_region)
        if address is None:
            log.info("sms: ignored a message from a sender that is not a phone number")
            service.metrics.inc("parley_inbound_rejected_total", channel="sms", reason="sender")
            return twiml()
        body = form.get("Body", "")
        kind = "media" if not body and _int(form.get("NumMedia")) > 0 else "text"
        body = _as_twilio_saw_it(body, form.get("OptOutType", ""))
        media = media_of(form, whatsapp=False)  # MMS
        item = InboxItem(channel="sms", dedupe_key=sid, address=address,
                         payload={"text": body, "kind": kind,
                                  **({"media": media} if media else {})},
                         received_at=service.runtime.clock.now())
        try:
            is_new = await service.inbox.accept(item)  # committed before we answer
        except StoreError as exc:
            log.error("sms: could not store an inbound message: %s", exc)
            return PlainTextResponse("store unavailable", status_code=503)
        if is_new:
            service.metrics.inc("parley_sms_inbound_segments_total",
                                max(_int(form.get("NumSegments")), 1))
        return twiml()

    # -- POST /sms/status ---------------------------------------------------------------
    async def status(self, request: Request) -> Response:
        form = await self.signed_form(request, f"/{self.channel}/status")
        if form is None:
            return PlainTextResponse("forbidden", status_code=403)
        service = self._service()
        sid = form.get("MessageSid") or form.get("SmsSid") or ""
        status = (form.get("MessageStatus") or form.get("SmsStatus") or "").lower()
        if not sid or not status:
            return PlainTextResponse("MessageSid and MessageStatus are required", 400)
        error_code = _int(form.get("ErrorCode")) or None
        store = service.runtime.store
        try:
            part = await store.sms_status_record(sid, status, error_code,
                                                 service.runtime.clock.now())
        except StoreError as exc:
            log.error("sms: could not record a delivery status: %s", exc)
            return PlainTextResponse("store unavailable", status_code=503)
        service.metrics.inc("parley_delivery_status_total", channel=self.channel, status=status)
        if part is None:
            log.info("sms: status %r for message %s, which Parley has no record of",
                     status, sid)
            return Response(status_code=200)
        await self.resync(part.outbox_id)
        if error_code is not None:
            await self._address_problem(part.outbox_id, error_code)
        return Response(status_code=200)

    async def resync(self, outbox_id: int, again: bool = True) -> None:
        """Write the row's summary status. A row still ``sending`` is written once more a
        moment later: its sender is about to write the whole row back."""
        store = self._service().runtime.store
        summary = summarise(await store.sms_parts_of(outbox_id))
        await store.outbox_set_delivery_status(outbox_id, summary)
        row = await store.outbox_get(outbox_id)
        if again and row is not None and row.status == "sending":
            task = asyncio.create_task(self._later(outbox_id))
            self._resyncs.add(task)
            task.add_done_callback(self._resyncs.discard)

    async def _later(self, outbox_id: int) -> None:
        await asyncio.sleep(1.0)
        try:
            await self.resync(outbox_id, again=False)
        except StoreError as exc:
            log.warning("sms: could not update a delivery status: %s", exc)

    async def _address_problem(self, outbox_id: int, code: int,
                               unreachable: dict[int, str] | None = None) -> None:
        """A delivery error that says something about the number itself
        (``bot.delivery.address_problems``)."""
        runtime = self._service().runtime
        problem = address_problems.on_delivery(code, runtime.clock.now(), unreachable)
        if problem is None:
            return
        row = await runtime.store.outbox_get(outbox_id)
        if row is not None and row.address:
            await address_problems.mark(runtime.store, row.address, problem)


def _as_twilio_saw_it(body: str, opt_out_type: str) -> str:
    """With Advanced Opt-Out, Twilio says which opt-out word it acted on
    (``OptOutType``), including custom ones set in its console. Parley follows Twilio:
    a message Twilio took as STOP is a STOP here too, so the two never disagree."""
    word = opt_out_type.strip().upper()
    if word in ("STOP", "START", "HELP") and classify(body) != word.lower():
        return word
    return body


def _int(value: str | None) -> int:
    try:
        return int(value or 0)
    except ValueError:
        return 0


def _algorithm(settings: str | None) -> str | None:
    """The signing algorithm Twilio names (newer twilio releases), else the default."""
    try:
        from twilio.request_validator import get_signature_algorithm
    except ImportError:
        return None
    return str(get_signature_algorithm(settings)) if settings else None
