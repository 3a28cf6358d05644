"""Sending WhatsApp messages through Twilio's Messages API (``From = whatsapp:<number>``).

Everything Twilio-shaped is ``TwilioTransport``'s (the real ``Client`` in a thread,
timeouts that tell "never sent" from "may have gone", look-ups of ambiguous sends, one
``SmsPart`` per accepted message, outcome mapping). What WhatsApp adds is the 24-hour
window and native choices; per message the transport picks a *plan*:

- inside the window (the person wrote in the last ``[whatsapp] window_hours``): the text
  as it is, or, for a question with 2–3 options, a quick-reply Content template
  (``[whatsapp.choice_templates] quick_reply_<n>``), with 4–10 a list picker
  (``list_<n>``); the options travel as variables and each button's id is the option's
  token, so a tap comes back as a press; without such a template, numbered text;
- outside it: the approved template for the message (``[whatsapp.templates]``, the first
  key of ``bot.conversations.bundle.template_keys`` that is configured, then
  ``<flow>.invite``), sent with ``ContentSid`` and ``ContentVariables``
  ``{"1": project name, "2": the message text with numbered options}``;
- outside it with no template: the same message to another address of the person
  (SMS or Telegram; the row says so); with none, the row is *held*: marked failed with
  the reason, logged and counted, and released by the person's next WhatsApp message
  (``release_held``). Never a silent 63016.

Twilio's own verdict wins over our clock: a 63016 ("outside the allowed window") turns
into a template send, or the same fallback. 63024 (not a WhatsApp number) marks the
address unreachable, so rounds fall back to another channel; 21610 is an opt-out.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass, field
from typing import Any

from twilio.base.exceptions import TwilioRestException

from bot.channels.sms_transport import TwilioTransport
from bot.config import Config
from bot.conversations.bundle import template_keys
from bot.delivery.transport import Pacing, SendResult
from bot.errors import Rejected, Unreachable
from bot.store.records import Changes, Channel, OutboxItem
from bot.text.render import SmsBody

log = logging.getLogger("parley.whatsapp")

WINDOW_CLOSED = 63016
NOT_ON_WHATSAPP = {63024: "not a valid WhatsApp recipient (63024)",
                   63003: "WhatsApp could not find this number (63003)"}
HELD = "held"
"""Start of ``last_error`` for a row waiting for the person to write (``release_held``)."""
QUICK_REPLY_MAX, LIST_MAX = 3, 10
BUTTON_TITLE_MAX, LIST_ITEM_MAX = 20, 24


@dataclass(frozen=True)
class Plan:
    """How one message goes: free text, or a Content template with its variables."""

    how: str = "text"
    content_sid: str | None = None
    variables: dict[str, str] = field(default_factory=dict)


class _WindowClosed(Exception):
    """Twilio refused a free-form message: outside the 24-hour window (internal)."""


def whatsapp_sender(number: str) -> str:
    return number if number.startswith("whatsapp:") else f"whatsapp:{number}"


class WhatsAppTransport(TwilioTransport):
    """``Transport`` for the ``whatsapp`` channel."""

    channel: Channel = "whatsapp"

    def __init__(self, config: Config, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self.whatsapp = config.whatsapp
        self.project = config.project.name
        # WhatsApp has no per-number 1 message/s limit like a long code: pace overall
        self.pacing = Pacing(per_second=config.whatsapp.rate_limit_per_second,
                             per_chat_per_second=1.0, per_chat_burst=3)
        self._plans: dict[str, Plan] = {}
        """The plan of the message being sent to each chat (one in flight per chat)."""

    # -- TwilioTransport hooks ----------------------------------------------------------
    def _to(self, address: str) -> str:
        return address  # "whatsapp:+44…" is exactly what Twilio wants

    def _sender(self) -> str:
        return whatsapp_sender(self.whatsapp.from_number)

    def _bodies(self, payload: dict[str, Any]) -> list[SmsBody]:
        """One message, numbered options included (no segments, no GSM-7 on WhatsApp)."""
        text = str(payload.get("plain") or payload.get("text") or "")
        return [SmsBody(text, "UTF-8", 1)]

    def _params(self, to: str, text: str) -> dict[str, Any]:
        plan = self._plans.get(to, Plan())
        params: dict[str, Any] = {"to": to, "from_": self._sender()}
        if plan.content_sid:
            params["content_sid"] = plan.content_sid
            params["content_variables"] = json.dumps(plan.variables, ensure_ascii=False)
        else:
            params["body"] = text
        if self.public_url:
            params["status_callback"] = f"{self.public_url}/whatsapp/status"
        return params

    def _same(self, to: str, body: str | None, text: str) -> bool:
        """A Content send is stored with the template's words: it is ours when it holds
        the text we put in it (the variable carrying the message, or the question)."""
        plan = self._plans.get(to)
        if body == text or plan is None or not plan.content_sid or not body:
            return body == text
        carried = plan.variables.get("2" if plan.how == "template" else "1", "")
        return bool(carried) and carried in body

    def _outcome(self, exc: TwilioRestException, item: OutboxItem) -> Exception:
        if exc.code == WINDOW_CLOSED:
            return _WindowClosed(f"Twilio {exc.status} error {exc.code}: {exc.msg}")
        if exc.code in NOT_ON_WHATSAPP:
            return Unreachable(NOT_ON_WHATSAPP[exc.code], exc.code)
        return super()._outcome(exc, item)

    # -- sending ------------------------------------------------------------------------
    async def send(self, item: OutboxItem) -> SendResult:
        to = self._to(item.address)
        plan = await self.plan(item)
        if plan is None:
            return await self._elsewhere(item, "outside WhatsApp's 24-hour window")
        self._plans[to] = plan
        try:
            return await super().send(item)
        except _WindowClosed as exc:
            template = self.template_plan(item.payload)
            if template is None or plan.how == "template":
                return await self._elsewhere(item, str(exc))
            self._plans[to] = template
            return await super().send(item)
        finally:
            self._plans.pop(to, None)

    async def plan(self, item: OutboxItem) -> Plan | None:
        """How this message goes now; None when it cannot go on WhatsApp now."""
        closed = bool(item.payload.get("window_closed"))  # WhatsApp said so (63016)
        # a row for nobody (the goodbye after DELETE, a reply to a stranger) answers the
        # message that just came, whose inbox row erasure may already have removed
        answering = not item.participant_id
        if not closed and (answering or await self.window_open(item.address)):
            return self.choices_plan(item.payload) or Plan()
        return self.template_plan(item.payload)

    async def window_open(self, address: str) -> bool:
        last = await self._store().last_inbound_at(address)
        return last is not None and self.clock.now() - last < dt.timedelta(
            hours=self.whatsapp.window_hours)

    def template_plan(self, payload: dict[str, Any]) -> Plan | None:
        key = self.template_key(payload)
        if key is None:
            return None
        # numbered options: an approved template carries no buttons of ours
        text = str(payload.get("plain") or payload.get("text") or "")
        return Plan("template", self.whatsapp.templates[key],
                    {"1": self.project, "2": text})

    def template_key(self, payload: dict[str, Any]) -> str | None:
        """The first configured template key for this message (see the module doc)."""
        return next((k for k in candidate_keys(payload) if k in self.whatsapp.templates), None)

    def choices_plan(self, payload: dict[str, Any]) -> Plan | None:
        """Buttons or a list picker for a question's options, when one is configured."""
        choices = payload.get("choices") or []
        count = len(choices)
        if count < 2 or count > LIST_MAX:
            return None
        how = "quick_reply" if count <= QUICK_REPLY_MAX else "list"
        sid = self.whatsapp.choice_templates.get(f"{how}_{count}")
        longest = BUTTON_TITLE_MAX if how == "quick_reply" else LIST_ITEM_MAX
        if sid is None or any(len(str(c["label"])) > longest for c in choices):
            return None
        variables = {"1": str(payload.get("text") or "")}
        for index, choice in enumerate(choices):
            variables[str(2 + 2 * index)] = str(choice["label"])
            variables[str(3 + 2 * index)] = str(choice["token"])
        return Plan(how, sid, variables)

    # -- when WhatsApp cannot carry it ---------------------------------------------------
    async def _elsewhere(self, item: OutboxItem, why: str) -> SendResult:
        """Send the message by another of the person's addresses, else hold it."""
        store = self._store()
        keys = ", ".join(candidate_keys(item.payload)) or "this message"
        other = None
        if item.participant_id:
            other = next((a for a in await store.addresses_of(item.participant_id)
                          if a.channel in ("sms", "telegram") and not a.opted_out
                          and not a.unreachable), None)
        if other is not None:
            now = self.clock.now()
            await store.apply(Changes(outbox=[OutboxItem(
                participant_id=item.participant_id, address=other.address,
                channel=other.channel, payload=dict(item.payload), created_at=now,
                not_before=now, round_id=item.round_id)]))
            self.metrics.inc("parley_whatsapp_window_total", outcome="fallback")
            log.warning("whatsapp: %s and no template (%s): sent by %s instead", why, keys,
                        other.channel)
            raise Rejected(f"{why}, no template ({keys}): sent by {other.channel} instead")
        self.metrics.inc("parley_whatsapp_window_total", outcome="held")
        log.warning("whatsapp: %s and no template (%s) or other address: held until the "
                    "person writes", why, keys)
        raise Rejected(f"{HELD}: {why}, no template ({keys}) and no other address; it "
                       f"goes when they next write on WhatsApp")


def candidate_keys(payload: dict[str, Any]) -> list[str]:
    """Template keys for a message, most specific first: its own keys (a reminder's is
    ``<flow>.reminder``), then the flow's ``<flow>.invite``."""
    keys = template_keys(payload)
    flow = payload.get("flow_id")
    if flow:
        keys.append(f"{flow}.invite")
    return list(dict.fromkeys(keys))


async def release_held(store: Any, address: str, now: dt.datetime) -> int:
    """The person wrote: messages held for want of a template may go now, in order."""
    released = 0
    person = await store.participant_for_address(address)
    rows = await store.outbox_of(person.id) if person is not None else []
    for row in rows:  # only this person's rows: this runs on every inbound message
        if row.status == "failed" and row.address == address and \
                f"{HELD}:" in (row.last_error or ""):
            row.status, row.next_attempt_at = "retry", now
            row.last_error = "released: the person wrote, the window is open"
            await store.outbox_update(row)
            released += 1
    return released
