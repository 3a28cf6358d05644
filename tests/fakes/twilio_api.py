"""A small, faithful fake of Twilio's Programmable Messaging REST API (2010-04-01).

Why: Parley sends SMS through the real ``twilio`` client.  Pointing that client at
this fake exercises its request encoding, auth and error mapping, and lets tests
script the awkward cases (rate limits, unsubscribed recipients, answers lost after
the provider accepted the message) and look up "did that send go out?" through the
real list endpoint.

Pointing twilio 9 at it: every API domain object (``client.api`` is
``twilio.rest.api.Api``, a ``twilio.base.domain.Domain``) builds absolute URLs from
its plain ``base_url`` attribute (default ``"https://api.twilio.com"``), so::

    fake = FakeTwilio(account_sid=SID, auth_token=TOKEN)
    with fake.serve() as srv:
        client = Client(SID, TOKEN)
        client.api.base_url = srv.base_url        # before or after first use: both work
        client.messages.create(to="+447700900123", from_="+447700900000", body="hi")

Exceptions observed with twilio 9.13 (sync client, ``TwilioHttpClient`` on requests):

* 4xx/5xx JSON errors -> ``twilio.base.exceptions.TwilioRestException`` with
  ``.status`` (HTTP status) and ``.code`` (Twilio error code, e.g. 21610, 20429).
  Bodies here use the legacy shape (no ``type``/``title``), so the client never
  produces ``TwilioServiceException``.
* "hang" beyond ``TwilioHttpClient(timeout=...)`` -> ``requests.exceptions.ReadTimeout``
  (a ``requests.exceptions.Timeout``), raised unwrapped by the twilio client.
* "drop" -> ``requests.exceptions.ConnectionError`` (urllib3 ``RemoteDisconnected``).

Async client: ``twilio.http.async_http_client.AsyncTwilioHttpClient`` (aiohttp, which
is installed) works against the fake via ``create_async``; see tests/test_fakes.py
for how its ``timeout`` behaves.

Simplifications: after a successful create, the stored record moves straight to
``settle_status`` (default "sent", with ``date_sent`` set) so that list/fetch
look-ups behave like a message that went out; ``set_status`` changes it later.
Nothing is ever POSTed to ``StatusCallback`` - tests build the callback body with
:meth:`FakeTwilio.status_callback_form` and post it to the app under test themselves.

Standalone: ``python -m tests.fakes.twilio_api --port 0 --port-file F`` (plus
``GET /_fake/stats``, ``POST /_fake/fail_next``, ``POST /_fake/reset``).
"""

from __future__ import annotations

import argparse
import base64
import binascii
import datetime as dt
import email.utils
import math
import re
import secrets
import time
from collections.abc import Callable, Mapping
from typing import Any, Final
from urllib.parse import parse_qsl, urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from twilio.request_validator import RequestValidator

from .server import (
    DroppedConnection,
    ScriptedFailure,
    ScriptedFake,
    SlidingWindow,
    add_server_args,
    serve_forever,
    sleep_unless,
)

API_VERSION: Final = "2010-04-01"
DEFAULT_ACCOUNT_SID: Final = "AC" + "0123456789abcdef" * 2
DEFAULT_AUTH_TOKEN: Final = "fedcba9876543210" * 2
DEFAULT_SERVICE_SENDER: Final = "+447700900999"
MAX_BODY_LENGTH: Final = 1600
FAILURE_KINDS: Final = frozenset({"429", "500", "21610", "21211", "21614", "hang", "drop"})
FINAL_OR_SENT: Final = frozenset({"sent", "delivered", "undelivered", "failed", "read"})

_E164 = re.compile(r"^\+[1-9]\d{1,14}$")
_GSM_BASIC: Final = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENDED: Final = frozenset("\f^{}\\[~]|€")
_COUNTRY_BY_PREFIX: Final = (("+44", "GB"), ("+353", "IE"), ("+1", "US"), ("+61", "AU"))


# ------------------------------------------------------------------------ wire helpers


def new_sid(prefix: str = "SM") -> str:
    """Twilio SIDs are a two-letter type prefix plus 32 lowercase hex digits."""
    return prefix + secrets.token_hex(16)


def rfc2822(moment: dt.datetime) -> str:
    """Twilio's date format, e.g. ``Thu, 24 Aug 2023 05:01:45 +0000``."""
    return email.utils.format_datetime(moment.astimezone(dt.UTC))


def twilio_error(status: int, code: int, message: str) -> JSONResponse:
    """Twilio's legacy error envelope (what the 2010-04-01 API returns)."""
    return JSONResponse(
        {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        },
        status_code=status,
        headers={"WWW-Authenticate": 'Basic realm="Twilio API"'} if status == 401 else None,
    )


_SCRIPTED_ERRORS: Final[dict[str, tuple[int, int, str]]] = {
    "429": (429, 20429, "Too Many Requests"),
    "500": (500, 20500, "Internal Server Error"),
    "21610": (400, 21610, "Attempt to send to unsubscribed recipient"),
    "21211": (400, 21211, "Invalid 'To' Phone Number"),
    "21614": (400, 21614, "'To' number is not a valid mobile number"),
}


def segment_count(body: str) -> int:
    """SMS segments: GSM-7 160/153 septets, otherwise UCS-2 70/67 code units."""
    if not body:
        return 1
    if all(ch in _GSM_BASIC or ch in _GSM_EXTENDED for ch in body):
        units = sum(2 if ch in _GSM_EXTENDED else 1 for ch in body)
        single, multi = 160, 153
    else:
        units = len(body.encode("utf-16-le")) // 2
        single, multi = 70, 67
    return 1 if units <= single else math.ceil(units / multi)


def _country(number: str) -> str:
    return next((cc for prefix, cc in _COUNTRY_BY_PREFIX if number.startswith(prefix)), "")


def sign_twilio_request(auth_token: str, url: str, params: Mapping[str, Any]) -> str:
    """The ``X-Twilio-Signature`` Twilio would send when POSTing ``params`` to ``url``."""
    return str(RequestValidator(auth_token).compute_signature(url, dict(params)))


def inbound_sms_form(
    from_: str,
    to: str,
    body: str,
    sid: str | None = None,
    num_segments: int = 1,
    *,
    account_sid: str = DEFAULT_ACCOUNT_SID,
) -> dict[str, str]:
    """The exact form fields Twilio POSTs to a number's incoming-message webhook."""
    sid = sid or new_sid("SM")
    return {
        "ToCountry": _country(to),
        "ToState": "",
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "ToCity": "",
        "FromZip": "",
        "SmsSid": sid,
        "FromState": "",
        "SmsStatus": "received",
        "FromCity": "",
        "Body": body,
        "FromCountry": _country(from_),
        "To": to,
        "ToZip": "",
        "NumSegments": str(num_segments),
        "MessageSid": sid,
        "AccountSid": account_sid,
        "From": from_,
        "ApiVersion": API_VERSION,
    }


def _parse_date_filter(value: str) -> dt.datetime | dt.date:
    value = value.strip()
    if len(value) == 10:
        return dt.date.fromisoformat(value)
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(dt.UTC)


def _date_matches(sent: dt.datetime | None, op: str, bound: dt.datetime | dt.date) -> bool:
    """Twilio's DateSent / DateSent< / DateSent> filters (inclusive)."""
    if sent is None:
        return False
    if isinstance(bound, dt.datetime):
        left: dt.datetime | dt.date = sent
    else:
        left = sent.date()
    if op == "<":
        return left <= bound
    if op == ">":
        return left >= bound
    return left == bound


# ----------------------------------------------------------------------------- fake


class FakeTwilio(ScriptedFake):
    """State and Starlette ``app`` of a fake Twilio account's Messages API.

    State is guarded by ``self._lock`` (uvicorn serves from another thread).
    ``messages`` and ``calls`` are append-only lists; ``unsubscribed`` may be mutated
    directly by tests.
    """

    failure_kinds = FAILURE_KINDS

    def __init__(
        self,
        account_sid: str = DEFAULT_ACCOUNT_SID,
        auth_token: str = DEFAULT_AUTH_TOKEN,
        *,
        enforce_limits: bool = False,
        per_second: int = 1,  # a Twilio long code sends ~1 message/second
        hang_seconds: float = 5.0,
        settle_status: str | None = "sent",
        service_sender: str = DEFAULT_SERVICE_SENDER,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        super().__init__(hang_seconds=hang_seconds)
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.enforce_limits = enforce_limits
        self.per_second = per_second
        self.settle_status = settle_status
        self.service_sender = service_sender
        self._clock = clock
        self._now = now
        self.unsubscribed: set[str] = set()
        self._reset_state()
        base = f"/{API_VERSION}/Accounts/{{account_sid}}"
        self.app = Starlette(
            routes=[
                Route(f"{base}/Messages.json", self._messages_endpoint, methods=["GET", "POST"]),
                Route(f"{base}/Messages/{{message_sid}}.json", self._fetch, methods=["GET"]),
                Route("/_fake/stats", self._control_stats, methods=["GET"]),
                Route("/_fake/fail_next", self._control_fail_next, methods=["POST"]),
                Route("/_fake/reset", self._control_reset, methods=["POST"]),
            ]
        )

    def _reset_state(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.calls: list[tuple[str, dict[str, Any], float]] = []
        self.rate_limited_count = 0
        self.accepted_count = 0
        self._records: dict[str, dict[str, Any]] = {}  # sid -> resource JSON
        self._sent_at: dict[str, dt.datetime] = {}
        self._window = SlidingWindow(max(1, self.per_second))

    # ------------------------------------------------------------------ test-facing API

    def reset(self) -> None:
        super().reset()
        self.unsubscribed.clear()

    def fail_next(
        self,
        to: str | None = None,
        kind: str = "500",
        count: int = 1,
        *,
        method: str | None = "create",
        hang_seconds: float | None = None,
        delivered: bool | None = None,
    ) -> None:
        """Make the next ``count`` matching requests misbehave.

        ``to``: only requests for this recipient (``None`` = any).  ``method``:
        "create" (default), "list", "fetch" or ``None`` for any.  ``kind``: "429",
        "500", "21610", "21211", "21614" (Twilio error bodies), "hang" (message IS
        accepted; the 201 arrives after ``hang_seconds``), "drop" (connection closed
        without an answer; not accepted unless ``delivered=True``).
        """
        self._script(kind, to, method, count, hang_seconds=hang_seconds, delivered=delivered)

    def record(self, sid: str) -> dict[str, Any] | None:
        """The Message resource as fetch would return it now."""
        with self._lock:
            found = self._records.get(sid)
            return dict(found) if found else None

    def set_status(self, sid: str, status: str, error_code: int | None = None) -> None:
        """Move a stored message along its lifecycle (what fetch/list report)."""
        with self._lock:
            record = self._records[sid]
            moment = self._now()
            record.update(status=status, error_code=error_code, date_updated=rfc2822(moment))
            record["error_message"] = None
            if status in FINAL_OR_SENT and record["date_sent"] is None:
                record["date_sent"] = rfc2822(moment)
                self._sent_at[sid] = moment
            if record["from"] is None:
                record["from"] = self.service_sender

    def status_callback_form(
        self, sid: str, status: str, error_code: int | None = None
    ) -> dict[str, str]:
        """The form fields Twilio POSTs to ``StatusCallback`` for message ``sid``.

        Pure: does not change the stored status (use :meth:`set_status`).
        ``failed``/``undelivered`` always carry an ``ErrorCode`` (default 30008,
        "Unknown error"), as Twilio's do.
        """
        with self._lock:
            record = self._records[sid]
            form = {
                "ApiVersion": API_VERSION,
                "AccountSid": self.account_sid,
                "MessageSid": sid,
                "MessageStatus": status,
                "SmsSid": sid,
                "SmsStatus": status,
                "From": record["from"] or self.service_sender,
                "To": record["to"],
            }
            if record["messaging_service_sid"]:
                form["MessagingServiceSid"] = record["messaging_service_sid"]
        if error_code is None and status in ("failed", "undelivered"):
            error_code = 30008
        if error_code is not None:
            form["ErrorCode"] = str(error_code)
        return form

    def sent_to(self, to: str) -> list[dict[str, Any]]:
        with self._lock:
            return [m for m in self.messages if m["to"] == to]

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "calls": len(self.calls),
                "messages": len(self.messages),
                "accepted_count": self.accepted_count,
                "rate_limited_count": self.rate_limited_count,
                "pending_failures": self._failures.pending(),
            }

    # -------------------------------------------------------------------- HTTP layer

    def _authorized(self, request: Request) -> bool:
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(encoded).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return secrets.compare_digest(
            user.encode(), self.account_sid.encode()
        ) and secrets.compare_digest(password.encode(), self.auth_token.encode())

    def _guard(self, request: Request) -> Response | None:
        """Auth and account checks common to every Messages route."""
        if not self._authorized(request):
            return twilio_error(401, 20003, "Authenticate")
        if request.path_params["account_sid"] != self.account_sid:
            return twilio_error(
                404, 20404, f"The requested resource {request.url.path} was not found"
            )
        return None

    async def _messages_endpoint(self, request: Request) -> Response:
        if (denied := self._guard(request)) is not None:
            return denied
        if request.method == "GET":
            return await self._list(request)
        form = parse_qsl((await request.body()).decode("utf-8"), keep_blank_values=True)
        params: dict[str, Any] = {}
        for name, value in form:
            if name == "MediaUrl":
                params.setdefault(name, []).append(value)
            else:
                params[name] = value
        with self._lock:
            self.calls.append(("create", params, self._clock()))
        to = params.get("To")
        if to in self.unsubscribed:
            return twilio_error(*_SCRIPTED_ERRORS["21610"])
        failure = self._failures.take("create", to)
        if failure is not None:
            return await self._misbehave(failure, params)
        if (invalid := self._validate(params)) is not None:
            return invalid
        if self.enforce_limits and not self._admit():
            return twilio_error(*_SCRIPTED_ERRORS["429"])
        return JSONResponse(self._accept(params), status_code=201)

    async def _misbehave(self, failure: ScriptedFailure, params: dict[str, Any]) -> Response:
        """Scripted failure for a create: error body, late answer ("hang") or drop.

        A "hang" that was not delivered answers 500 late; a delivered one answers the
        real 201 late.  Scripted failures bypass validation and the rate limiter
        (except that a delivered message must still be valid).
        """
        if failure.kind in _SCRIPTED_ERRORS:
            return twilio_error(*_SCRIPTED_ERRORS[failure.kind])
        response: Response = twilio_error(*_SCRIPTED_ERRORS["500"])
        if failure.delivered:
            invalid = self._validate(params)
            response = invalid or JSONResponse(self._accept(params), status_code=201)
        if failure.kind == "drop":
            return DroppedConnection()
        await sleep_unless(self._released, failure.hang_seconds)
        return response

    def _validate(self, params: dict[str, Any]) -> Response | None:
        to, from_ = params.get("To"), params.get("From")
        body = params.get("Body", "")
        if not to:
            return twilio_error(400, 21604, "A 'To' phone number is required.")
        if not _E164.match(to.removeprefix("whatsapp:")):
            return twilio_error(400, 21211, f"Invalid 'To' Phone Number: {to}")
        if not from_ and not params.get("MessagingServiceSid"):
            return twilio_error(400, 21603, "A 'From' phone number is required.")
        if from_ and not _E164.match(from_.removeprefix("whatsapp:")):
            return twilio_error(400, 21212, f"Invalid From Number (caller ID): {from_}")
        if not body and not params.get("MediaUrl"):
            return twilio_error(400, 21602, "Message body is required.")
        if len(body) > MAX_BODY_LENGTH:
            return twilio_error(
                400, 21617, "The concatenated message body exceeds the 1600 character limit."
            )
        return None

    def _admit(self) -> bool:
        with self._lock:
            now = self._clock()
            if self._window.retry_after(now) > 0:
                self.rate_limited_count += 1
                return False
            self._window.add(now)
            return True

    def _accept(self, params: dict[str, Any]) -> dict[str, Any]:
        """Store an accepted message; return the create response (status queued/accepted)."""
        sid = new_sid("SM")
        moment = self._now()
        service = params.get("MessagingServiceSid")
        uri = f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{sid}.json"
        validity = params.get("ValidityPeriod")
        resource: dict[str, Any] = {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "body": params.get("Body", ""),
            "date_created": rfc2822(moment),
            "date_sent": None,
            "date_updated": rfc2822(moment),
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": None if service else params.get("From"),
            "messaging_service_sid": service,
            "num_media": str(len(params.get("MediaUrl", []))),
            "num_segments": str(segment_count(params.get("Body", ""))),
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "accepted" if service else "queued",
            "subresource_uris": {
                "media": f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{sid}/Media.json"
            },
            "to": params["To"],
            "uri": uri,
        }
        with self._lock:
            self.accepted_count += 1
            self._records[sid] = dict(resource)
            self.messages.append(
                {
                    "sid": sid,
                    "to": params["To"],
                    "from": params.get("From"),
                    "messaging_service_sid": service,
                    "body": params.get("Body", ""),
                    "status_callback": params.get("StatusCallback"),
                    "validity_period": int(validity) if validity and validity.isdigit() else None,
                    "params": params,
                    "time": self._clock(),
                }
            )
        if self.settle_status is not None:
            self.set_status(sid, self.settle_status)
        return resource

    async def _list(self, request: Request) -> Response:
        query = dict(request.query_params)
        with self._lock:
            self.calls.append(("list", query, self._clock()))
        return await self._read(self._failures.take("list", query.get("To")), self._page(query))

    async def _fetch(self, request: Request) -> Response:
        if (denied := self._guard(request)) is not None:
            return denied
        sid = request.path_params["message_sid"]
        with self._lock:
            self.calls.append(("fetch", {"Sid": sid}, self._clock()))
        record = self.record(sid)
        if record is None:
            missing = f"The requested resource {request.url.path} was not found"
            return await self._read(
                self._failures.take("fetch", None), twilio_error(404, 20404, missing)
            )
        return await self._read(self._failures.take("fetch", record["to"]), JSONResponse(record))

    async def _read(self, failure: ScriptedFailure | None, response: Response) -> Response:
        """Apply a scripted failure to a read: error body, late answer or drop."""
        if failure is None:
            return response
        if failure.kind in _SCRIPTED_ERRORS:
            return twilio_error(*_SCRIPTED_ERRORS[failure.kind])
        if failure.kind == "drop":
            return DroppedConnection()
        await sleep_unless(self._released, failure.hang_seconds)
        return response

    def _page(self, query: dict[str, str]) -> Response:
        """One page of Twilio's list format, newest first, with working page URIs."""
        try:
            filters = [
                (op, _parse_date_filter(query[f"DateSent{op}"]))
                for op in ("", "<", ">")
                if query.get(f"DateSent{op}")
            ]
            page = int(query.get("Page", 0))
            page_size = min(max(int(query.get("PageSize", 50)), 1), 1000)
        except ValueError as exc:
            return twilio_error(400, 20001, f"Invalid parameter: {exc}")
        with self._lock:
            matching = [
                dict(record)
                for sid, record in reversed(self._records.items())
                if query.get("To") in (None, record["to"])
                and query.get("From") in (None, record["from"])
                and all(_date_matches(self._sent_at.get(sid), op, b) for op, b in filters)
            ]
        start = page * page_size
        chunk = matching[start : start + page_size]
        base = f"/{API_VERSION}/Accounts/{self.account_sid}/Messages.json"
        kept = [(k, v) for k, v in query.items() if k not in ("Page", "PageSize", "PageToken")]

        def page_uri(number: int) -> str:
            return base + "?" + urlencode([*kept, ("PageSize", page_size), ("Page", number)])

        more = start + page_size < len(matching)
        return JSONResponse(
            {
                "end": start + max(len(chunk) - 1, 0),
                "first_page_uri": page_uri(0),
                "messages": chunk,
                "next_page_uri": page_uri(page + 1) if more else None,
                "page": page,
                "page_size": page_size,
                "previous_page_uri": page_uri(page - 1) if page > 0 else None,
                "start": start,
                "uri": page_uri(page),
            }
        )

    # ------------------------------------------------------------- control endpoints

    async def _control_stats(self, request: Request) -> JSONResponse:
        return JSONResponse(self.stats())

    async def _control_fail_next(self, request: Request) -> JSONResponse:
        try:
            self.fail_next(**(await request.json()))
        except (TypeError, ValueError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse({"ok": True})

    async def _control_reset(self, request: Request) -> JSONResponse:
        self.reset()
        return JSONResponse({"ok": True})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve a fake Twilio Messages API on 127.0.0.1")
    add_server_args(parser)
    parser.add_argument("--account-sid", default=DEFAULT_ACCOUNT_SID)
    parser.add_argument("--auth-token", default=DEFAULT_AUTH_TOKEN)
    parser.add_argument("--enforce-limits", action="store_true")
    parser.add_argument("--per-second", type=int, default=1)
    parser.add_argument("--hang-seconds", type=float, default=5.0)
    args = parser.parse_args(argv)
    fake = FakeTwilio(
        args.account_sid,
        args.auth_token,
        enforce_limits=args.enforce_limits,
        per_second=args.per_second,
        hang_seconds=args.hang_seconds,
    )
    serve_forever(fake.app, port=args.port, port_file=args.port_file)


if __name__ == "__main__":
    main()
