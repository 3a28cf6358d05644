"""The fake Twilio taught WhatsApp's rules (same Messages API, ``whatsapp:`` addresses).

What it enforces, as Twilio and WhatsApp do:

* **The 24-hour window.** A free-form ``Body`` to ``whatsapp:+…`` is refused with
  63016 unless that person wrote within the last 24 hours (``note_inbound``, which
  ``inbound_whatsapp_form`` callers call, as Twilio would see the message pass).
  Real Twilio accepts the create and fails the message with 63016 a moment later; the
  synchronous refusal reaches the same handling one step earlier (the asynchronous
  form is posted by tests with ``status_callback_form(sid, "failed", 63016)``).
* **Content templates.** ``ContentSid`` must name a registered template
  (``add_content``), ``ContentVariables`` must be a JSON object of strings; outside the
  window only templates approved for WhatsApp (``approved=True``) may be sent - a
  quick-reply or list picker that is not approved gets 63016 too. The stored body is the
  template with its ``{{n}}`` variables filled in, what the person would read; the
  buttons' titles and ids are kept in ``actions`` for tests to "tap".
* **Media URLs that serve bytes.** ``add_media`` stores bytes and returns the URL a
  Twilio inbound webhook would carry (``MediaUrl0``); GET on it (HTTP Basic with the
  account's credentials, as Twilio's "HTTP auth for media" requires) returns them with
  their content type.
* **Recipients not on WhatsApp** (``not_on_whatsapp``) get 63024.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .twilio_api import API_VERSION, DEFAULT_ACCOUNT_SID, FakeTwilio, new_sid, twilio_error

WINDOW: Final = dt.timedelta(hours=24)
_VARIABLE = re.compile(r"\{\{\s*(\d+)\s*\}\}")


def fill(template: str, variables: dict[str, str]) -> str:
    return _VARIABLE.sub(lambda m: variables.get(m.group(1), ""), template)


class FakeTwilioWhatsApp(FakeTwilio):
    """``FakeTwilio`` plus WhatsApp's window, Content templates and media URLs."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.base_url = ""
        """Set by the test once served, so media URLs are absolute."""
        self.app.router.routes.append(Route(
            f"/{API_VERSION}/Accounts/{{account_sid}}/Messages/{{message_sid}}/Media/"
            "{media_sid}", self._media, methods=["GET"]))

    def _reset_state(self) -> None:
        super()._reset_state()
        self.last_inbound: dict[str, dt.datetime] = {}
        self.content: dict[str, dict[str, Any]] = {}
        self.media: dict[str, tuple[bytes, str]] = {}
        self.media_requests = 0
        self.not_on_whatsapp: set[str] = set()

    # ------------------------------------------------------------------ test-facing API
    def note_inbound(self, number: str, at: dt.datetime | None = None) -> None:
        """``whatsapp:+…`` wrote to us at ``at`` (now): the window is open for 24 h."""
        with self._lock:
            self.last_inbound[number] = at or self._now()

    def add_content(self, body: str, *, kind: str = "twilio/text", approved: bool = True,
                    actions: list[dict[str, str]] | None = None) -> str:
        """Register a Content template; returns its ``HX…`` SID."""
        sid = new_sid("HX")
        with self._lock:
            self.content[sid] = {"body": body, "kind": kind, "approved": approved,
                                 "actions": actions or []}
        return sid

    def add_media(self, data: bytes, content_type: str) -> str:
        """The absolute ``MediaUrl`` of bytes the person "sent"."""
        message, media = new_sid("MM"), new_sid("ME")
        with self._lock:
            self.media[media] = (data, content_type)
        return (f"{self.base_url}/{API_VERSION}/Accounts/{self.account_sid}/Messages/"
                f"{message}/Media/{media}")

    def window_open(self, number: str) -> bool:
        with self._lock:
            last = self.last_inbound.get(number)
        return last is not None and self._now() - last < WINDOW

    # -------------------------------------------------------------------- HTTP layer
    def _validate(self, params: dict[str, Any]) -> Response | None:
        to = str(params.get("To") or "")
        content_sid = params.get("ContentSid")
        if not to.startswith("whatsapp:") or not (content_sid or params.get("Body")):
            return super()._validate(params)
        if not str(params.get("From", "")).startswith("whatsapp:"):
            return twilio_error(400, 63007, "Twilio could not find a Channel with the "
                                "specified From address")
        if to in self.not_on_whatsapp:
            return twilio_error(400, 63024, "Invalid message recipient")
        if content_sid:
            return self._check_content(params, to)
        if not self.window_open(to):
            return twilio_error(400, 63016, "Failed to send freeform message because you "
                                "are outside the allowed window. Please use a Template.")
        return super()._validate(params)

    def _check_content(self, params: dict[str, Any], to: str) -> Response | None:
        template = self.content.get(str(params["ContentSid"]))
        if template is None:
            return twilio_error(404, 20404, "Content resource not found")
        try:
            variables = json.loads(params.get("ContentVariables") or "{}")
        except ValueError:
            variables = None
        if not isinstance(variables, dict) or not all(
                isinstance(v, str) for v in variables.values()):
            return twilio_error(400, 21656, "The ContentVariables Parameter is invalid.")
        if not template["approved"] and not self.window_open(to):
            return twilio_error(400, 63016, "Failed to send freeform message because you "
                                "are outside the allowed window. Please use a Template.")
        params["Body"] = fill(template["body"], variables)
        params["actions"] = [{k: fill(v, variables) for k, v in a.items()}
                             for a in template["actions"]]
        return None

    async def _media(self, request: Request) -> Response:
        if not self._authorized(request) or \
                request.path_params["account_sid"] != self.account_sid:
            return twilio_error(401, 20003, "Authenticate")
        with self._lock:
            self.media_requests += 1
            found = self.media.get(request.path_params["media_sid"])
        failure = self._failures.take("media", None)
        if failure is not None:
            return twilio_error(500, 20500, "Internal Server Error")
        if found is None:
            return twilio_error(404, 20404, "The requested resource was not found")
        data, content_type = found
        return Response(data, media_type=content_type)


def inbound_whatsapp_form(from_: str, to: str, body: str = "", *, sid: str | None = None,
                          media: list[tuple[str, str]] = (),  # type: ignore[assignment]
                          button: tuple[str, str] | None = None,
                          location: tuple[float, float] | None = None,
                          profile_name: str = "Sam Example",
                          account_sid: str = DEFAULT_ACCOUNT_SID) -> dict[str, str]:
    """The form Twilio POSTs for an inbound WhatsApp message (``From=whatsapp:+…``)."""
    sid = sid or new_sid("SM")
    form = {"SmsMessageSid": sid, "NumMedia": str(len(media)), "ProfileName": profile_name,
            "MessageType": "text", "SmsSid": sid, "WaId": from_.removeprefix("whatsapp:+"),
            "SmsStatus": "received", "Body": body, "To": to, "NumSegments": "1",
            "ReferralNumMedia": "0", "MessageSid": sid, "AccountSid": account_sid,
            "From": from_, "ApiVersion": API_VERSION}
    for index, (url, content_type) in enumerate(media):
        form[f"MediaUrl{index}"], form[f"MediaContentType{index}"] = url, content_type
        form["MessageType"] = content_type.split("/")[0]
    if button is not None:
        form["ButtonPayload"], form["ButtonText"] = button
        form["MessageType"] = "button"
    if location is not None:
        form["Latitude"], form["Longitude"] = (str(v) for v in location)
        form["MessageType"] = "location"
    return form


