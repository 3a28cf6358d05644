"""Twilio's WhatsApp webhooks: ``POST /whatsapp/inbound`` and ``POST /whatsapp/status``.

Signed and stored exactly like SMS (``SmsWebhooks``: Twilio's ``RequestValidator`` over
``[server] public_url`` + path, committed to the inbox before the empty TwiML answer).
What differs:

- the sender is ``whatsapp:+E.164``; the display name Twilio adds (``ProfileName``) is
  never kept: before consent Parley keeps only the address;
- a tapped quick-reply button (``ButtonPayload``) or list item (``ListId``) carries the
  option's token, so it is a *press*, answered like a Telegram button; typing the number
  or the words works as well;
- photos, voice notes, videos, documents, stickers (``NumMedia``, ``MediaUrl<n>``,
  ``MediaContentType<n>``) and shared locations (``Latitude``/``Longitude``) are kept as
  media descriptors for ``bot.media`` to fetch;
- a message from the person reopens the 24-hour window, so messages held for want of a
  template are released (``release_held``);
- a ``failed`` status with 63016 (Twilio accepted a free-form message, then WhatsApp
  refused it: outside the window) queues the message again, to go as its template or by
  another address; 63024 marks the number as not on WhatsApp.
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from bot.channels.sms_webhook import Form, SmsWebhooks, twiml
from bot.channels.twilio_media import media_of
from bot.channels.whatsapp_transport import (
    NOT_ON_WHATSAPP,
    WINDOW_CLOSED,
    release_held,
)
from bot.errors import StoreError
from bot.store.records import Changes, Channel, InboxItem, OutboxItem

log = logging.getLogger("parley.whatsapp")


def whatsapp_address(raw: str, region: str) -> str | None:
    """``whatsapp:<E.164>`` for a sender, or None when it is not a phone number."""
    from bot.people import normalise_phone

    number = raw.removeprefix("whatsapp:")
    try:
        return "whatsapp:" + normalise_phone(number, region)
    except ValueError:
        return None


def inbound_payload(form: Form) -> dict[str, object]:
    """The normalised inbox payload of one WhatsApp message (see the module doc)."""
    token = form.get("ButtonPayload") or form.get("ListId") or ""
    if token:
        return {"text": form.get("ButtonText") or form.get("ListTitle") or "",
                "kind": "press", "press": token}
    media = media_of(form, whatsapp=True)
    body = form.get("Body", "")
    if media and not body:
        return {"text": "", "kind": "media", "media": media}
    return {"text": body, "kind": "text", **({"media": media} if media else {})}


class WhatsAppWebhooks(SmsWebhooks):
    """The SMS handlers with WhatsApp's inbound form and delivery errors."""

    channel: Channel = "whatsapp"

    async def inbound(self, request: Request) -> Response:
        form = await self.signed_form(request, "/whatsapp/inbound")
        if form is None:
            return PlainTextResponse("forbidden", status_code=403)
        service = self._service()
        sid = form.get("MessageSid") or form.get("SmsSid") or ""
        if not sid:
            return PlainTextResponse("MessageSid missing", status_code=400)
        address = whatsapp_address(form.get("From", ""), self.config.sms.default_region)
        if address is None:
            service.metrics.inc("parley_inbound_rejected_total", channel="whatsapp",
                                reason="sender")
            return twiml()
        now = service.runtime.clock.now()
        item = InboxItem(channel="whatsapp", dedupe_key=sid, address=address,
                         payload=inbound_payload(form), received_at=now)
        try:
            is_new = await service.inbox.accept(item)  # committed before we answer
            if is_new and await release_held(service.runtime.store, address, now):
                service.wake_senders()
        except StoreError as exc:
            log.error("whatsapp: could not store an inbound message: %s", exc)
            return PlainTextResponse("store unavailable", status_code=503)
        return twiml()

    async def _address_problem(self, outbox_id: int, code: int,
                               unreachable: dict[int, str] | None = None) -> None:
        if code == WINDOW_CLOSED:
            await self._window_closed(outbox_id)
            return
        await super()._address_problem(outbox_id, code, {**NOT_ON_WHATSAPP,
                                                         **(unreachable or {})})

    async def _window_closed(self, outbox_id: int) -> None:
        """WhatsApp refused a message Twilio had accepted: queue it again, marked, so
        the transport sends its template or another address carries it."""
        service = self._service()
        store, now = service.runtime.store, service.runtime.clock.now()
        row = await store.outbox_get(outbox_id)
        if row is None or not row.address or row.payload.get("window_closed"):
            return
        log.warning("whatsapp: a message was refused outside the 24-hour window (63016); "
                    "sending it again as a template or by another address")
        service.metrics.inc("parley_whatsapp_window_total", outcome="refused")
        await store.apply(Changes(outbox=[OutboxItem(
            participant_id=row.participant_id, address=row.address, channel="whatsapp",
            payload={**row.payload, "window_closed": True}, created_at=now,
            not_before=now, round_id=row.round_id)]))
        service.wake_senders()
