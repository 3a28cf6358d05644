"""A small, faithful fake of the Telegram Bot API, served over loopback HTTP.

Why: Parley's Telegram channel is driven through the real python-telegram-bot (PTB)
client.  Pointing PTB at this fake exercises PTB's own request encoding and error
mapping, so tests see exactly the exceptions production code sees.

Pointing PTB at it (PTB 22 appends the token to ``base_url`` unless the URL contains
``{token}``; requests go to ``f"{base_url}{token}/{method}"``)::

    fake = FakeTelegram(token="123:ABC")
    with fake.serve() as srv:
        bot = telegram.Bot("123:ABC", base_url=f"{srv.base_url}/bot")

Error mapping observed with PTB 22.8 (``telegram.request.BaseRequest``):

* 429 with ``parameters.retry_after`` -> ``telegram.error.RetryAfter``.  Its
  ``retry_after`` is an ``int`` (with a PTBDeprecationWarning) unless the environment
  sets ``PTB_TIMEDELTA=true``, in which case it is a ``datetime.timedelta``.
* 403 -> ``telegram.error.Forbidden``; 401 and 404 -> ``telegram.error.InvalidToken``;
  400 -> ``telegram.error.BadRequest``; 409 -> ``telegram.error.Conflict``.
* 500 -> plain ``telegram.error.NetworkError`` (note: ``BadRequest`` and ``TimedOut``
  are subclasses of ``NetworkError`` too, so test with ``type(exc) is NetworkError``).
* "hang" longer than the client's read timeout -> ``telegram.error.TimedOut``.
* "drop" -> ``telegram.error.NetworkError`` wrapping
  ``httpx.RemoteProtocolError: Server disconnected without sending a response.``

Request bodies: PTB sends ``application/x-www-form-urlencoded`` (complex values such
as ``reply_markup`` JSON-encoded into the field), or ``multipart/form-data`` when it
uploads a file; ``application/json`` bodies and query strings are accepted as well.
Multipart is parsed here with the standard library because python-multipart (which
Starlette's ``Request.form()`` needs) is not a project dependency.

Simplifications (documented so nobody relies on them): ``parse_mode`` markup is not
converted into ``entities``; only inline keyboards are echoed in returned messages
(as Telegram does - and PTB could not parse anything else there); the long-poll wait
of ``getUpdates`` is capped by ``max_long_poll`` (default 1 s).

Standalone: ``python -m tests.fakes.telegram_api --port 0 --port-file F``; the
process also serves ``GET /_fake/stats`` and ``POST /_fake/fail_next`` /
``/_fake/updates`` / ``/_fake/reset`` so a benchmark can script and inspect it.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import email.message
import html
import itertools
import json
import math
import re
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .server import (
    DroppedConnection,
    ScriptedFailure,
    ScriptedFake,
    SlidingWindow,
    add_server_args,
    serve_forever,
    sleep_unless,
)

DEFAULT_TOKEN: Final = "123:ABC"
BOT_ID: Final = 4242
BOT_USER: Final[dict[str, Any]] = {
    "id": BOT_ID,
    "is_bot": True,
    "first_name": "Parley",
    "username": "parley_test_bot",
    "can_join_groups": False,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
    "can_connect_to_business": False,
    "has_main_web_app": False,
}
_MESSAGE_FROM: Final = {k: BOT_USER[k] for k in ("id", "is_bot", "first_name", "username")}
SECRET_TOKEN_HEADER: Final = "X-Telegram-Bot-Api-Secret-Token"
MAX_TEXT_LENGTH: Final = 4096
FAILURE_KINDS: Final = frozenset({"429", "403", "500", "hang", "drop"})

# Methods that act on a chat: subject to blocked_chats and (for sends/edits) rate limits.
_CHAT_METHODS: Final = frozenset(
    {
        "sendMessage",
        "sendDocument",
        "editMessageText",
        "editMessageReplyMarkup",
        "sendChatAction",
        "deleteMessage",
    }
)
_RATE_LIMITED: Final = frozenset(
    {"sendMessage", "sendDocument", "editMessageText", "editMessageReplyMarkup"}
)
_INT_FIELDS: Final = frozenset(
    {
        "message_id",
        "offset",
        "limit",
        "timeout",
        "reply_to_message_id",
        "message_thread_id",
        "cache_time",
        "max_connections",
        "user_id",
    }
)
_BOOL_FIELDS: Final = frozenset(
    {
        "disable_notification",
        "protect_content",
        "show_alert",
        "drop_pending_updates",
        "disable_web_page_preview",
        "allow_sending_without_reply",
        "disable_content_type_detection",
    }
)
_JSON_FIELDS: Final = frozenset(
    {
        "reply_markup",
        "entities",
        "caption_entities",
        "allowed_updates",
        "commands",
        "scope",
        "link_preview_options",
        "reply_parameters",
    }
)
_NOT_MODIFIED: Final = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)


# ------------------------------------------------------------------------ wire helpers


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart request."""

    filename: str | None
    content: bytes
    content_type: str | None


class TelegramApiError(Exception):
    """Raised by method handlers; rendered as Telegram's error envelope."""

    def __init__(self, status: int, description: str, parameters: dict[str, Any] | None = None):
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def response(self) -> JSONResponse:
        return error_response(self.status, self.description, self.parameters)


def error_response(
    status: int, description: str, parameters: dict[str, Any] | None = None
) -> JSONResponse:
    """Telegram's error body; Starlette renders compact JSON, i.e. ``{"ok":false,...}``."""
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters is not None:
        body["parameters"] = parameters
    return JSONResponse(body, status_code=status)


def too_many_requests(retry_after: int) -> JSONResponse:
    return error_response(
        429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
    )


def _parse_multipart(content_type: str, body: bytes) -> list[tuple[str, str | UploadedFile]]:
    """Byte-exact multipart/form-data parser (enough for PTB/httpx uploads)."""
    header = email.message.Message()
    header["content-type"] = content_type
    boundary = header.get_param("boundary")
    if not isinstance(boundary, str):
        raise ValueError("multipart body without boundary")
    delimiter = b"--" + boundary.encode("latin-1")
    fields: list[tuple[str, str | UploadedFile]] = []
    for chunk in body.split(delimiter)[1:]:
        if chunk.startswith(b"--"):
            break
        head, _, payload = chunk.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        payload = payload.removesuffix(b"\r\n")
        part = email.message.Message()
        for line in head.decode("utf-8").split("\r\n"):
            name, _, value = line.partition(":")
            part[name.strip()] = value.strip()
        field = part.get_param("name", header="content-disposition")
        if not isinstance(field, str):
            continue
        filename = part.get_filename()
        if filename is not None or part.get("content-type") not in (None, "text/plain"):
            fields.append((field, UploadedFile(filename, payload, part.get("content-type"))))
        else:
            fields.append((field, payload.decode("utf-8")))
    return fields


async def read_params(request: Request) -> dict[str, Any]:
    """Merge query string and body (JSON, urlencoded or multipart) into typed params."""
    raw: dict[str, Any] = dict(request.query_params)
    content_type = request.headers.get("content-type", "")
    body = await request.body()
    if body:
        if content_type.startswith("application/json"):
            data = json.loads(body)
            if not isinstance(data, dict):
                raise ValueError("JSON body must be an object")
            raw.update(data)
        elif content_type.startswith("multipart/form-data"):
            raw.update(_parse_multipart(content_type, body))
        else:
            raw.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    return {name: _coerce(name, value) for name, value in raw.items()}


def _chat_id(value: Any) -> int | str:
    if isinstance(value, int):
        return value
    text = str(value).strip()
    return int(text) if re.fullmatch(r"-?\d+", text) else text


def _coerce(name: str, value: Any) -> Any:
    """Give form fields (always strings) the types Telegram's server would parse."""
    if name == "chat_id":
        return _chat_id(value)
    if not isinstance(value, str):
        return value
    if name in _INT_FIELDS and re.fullmatch(r"-?\d+", value.strip()):
        return int(value)
    if name in _BOOL_FIELDS:
        return value.strip().lower() in ("true", "1")
    if name in _JSON_FIELDS:
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _visible_length(text: str, parse_mode: str | None) -> int:
    """Approximate the post-markup length Telegram checks against 4096."""
    if parse_mode and parse_mode.lower() == "html":
        return len(html.unescape(re.sub(r"<[^>]*>", "", text)))
    return len(text)


# ------------------------------------------------------------------- update builders


def make_user(user_id: int, first_name: str = "Tester", **extra: Any) -> dict[str, Any]:
    return {"id": user_id, "is_bot": False, "first_name": first_name, **extra}


def make_chat(chat_id: int | str) -> dict[str, Any]:
    if isinstance(chat_id, int) and chat_id < 0:
        kind = "supergroup" if str(chat_id).startswith("-100") else "group"
    else:
        kind = "private"
    return {"id": chat_id, "type": kind}


def make_text_update(
    update_id: int,
    chat_id: int,
    text: str,
    *,
    message_id: int,
    user_id: int | None = None,
    first_name: str = "Tester",
    date: int | None = None,
) -> dict[str, Any]:
    """An Update carrying a user's text message (commands get a bot_command entity)."""
    message: dict[str, Any] = {
        "message_id": message_id,
        "from": make_user(user_id if user_id is not None else chat_id, first_name),
        "chat": {**make_chat(chat_id), "first_name": first_name},
        "date": date if date is not None else int(time.time()),
        "text": text,
    }
    if text.startswith("/"):
        command = text.split()[0]
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
    return {"update_id": update_id, "message": message}


def make_media_update(update_id: int, chat_id: int, field: str, item: dict[str, Any], *,
                      message_id: int) -> dict[str, Any]:
    """An Update carrying a voice note, photo sizes (``field="photo"``, a list), a
    location … instead of text."""
    message: dict[str, Any] = {"message_id": message_id, "from": make_user(chat_id, "Tester"),
                               "chat": {**make_chat(chat_id), "first_name": "Tester"},
                               "date": int(time.time()), field: item}
    return {"update_id": update_id, "message": message}


def make_callback_update(
    update_id: int,
    chat_id: int,
    data: str,
    *,
    message: dict[str, Any] | None = None,
    user_id: int | None = None,
    first_name: str = "Tester",
    callback_id: str | None = None,
) -> dict[str, Any]:
    """An Update carrying an inline-button press on ``message`` (a bot message dict)."""
    query: dict[str, Any] = {
        "id": callback_id or str(uuid.uuid4().int >> 64),
        "from": make_user(user_id if user_id is not None else chat_id, first_name),
        "chat_instance": str(uuid.uuid5(uuid.NAMESPACE_OID, f"chat:{chat_id}").int >> 65),
        "data": data,
    }
    if message is not None:
        query["message"] = message
    return {"update_id": update_id, "callback_query": query}


# ----------------------------------------------------------------------------- fake


Handler = Callable[[dict[str, Any]], Any]


class FakeTelegram(ScriptedFake):
    """State and Starlette ``app`` of a fake Bot API for one bot token.

    All mutable state is guarded by ``self._lock`` because uvicorn serves from its own
    thread while tests inspect and script the fake from theirs.  ``calls``,
    ``sent_messages`` and ``documents`` are append-only lists: reading them from a test
    is safe.  ``blocked_chats`` may be mutated directly by tests.
    """

    failure_kinds = FAILURE_KINDS

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        enforce_limits: bool = False,
        global_per_second: int = 30,
        per_chat_per_second: int = 1,
        burst: int = 0,
        hang_seconds: float = 5.0,
        max_long_poll: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(hang_seconds=hang_seconds)
        self.token = token
        self.enforce_limits = enforce_limits
        self.global_per_second = global_per_second
        self.per_chat_per_second = per_chat_per_second
        self.burst = burst
        self.max_long_poll = max_long_poll
        self._clock = clock
        self._handlers: dict[str, Handler] = {
            "getMe": self._get_me,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "sendChatAction": self._true,
            "answerCallbackQuery": self._true,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "sendDocument": self._send_document,
            "getFile": self._get_file,
        }
        # Telegram matches method names case-insensitively; getUpdates is async.
        self._method_names = {name.lower(): name for name in [*self._handlers, "getUpdates"]}
        self.blocked_chats: set[int | str] = set()
        self._reset_state()
        self.app = Starlette(
            routes=[
                Route("/bot{token}/{method}", self._endpoint, methods=["GET", "POST"]),
                Route("/file/bot{token}/{path:path}", self._download, methods=["GET"]),
                Route("/_fake/stats", self._control_stats, methods=["GET"]),
                Route("/_fake/fail_next", self._control_fail_next, methods=["POST"]),
                Route("/_fake/updates", self._control_updates, methods=["POST"]),
                Route("/_fake/reset", self._control_reset, methods=["POST"]),
            ]
        )

    def _reset_state(self) -> None:
        self.calls: list[tuple[str, dict[str, Any], float]] = []
        self.sent_messages: list[dict[str, Any]] = []
        self.documents: list[dict[str, Any]] = []
        self.rate_limited_count = 0
        self.accepted_count = 0
        self.webhook: dict[str, Any] = {"url": "", "secret_token": None}
        self.commands: list[dict[str, Any]] = []
        self._messages: dict[tuple[int | str, int], dict[str, Any]] = {}
        self._message_ids: defaultdict[int | str, itertools.count[int]] = defaultdict(
            lambda: itertools.count(1)
        )
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._global_window = SlidingWindow(max(1, self.global_per_second))
        self._chat_windows: dict[int | str, SlidingWindow] = {}
        self.files: dict[str, tuple[bytes, str]] = {}  # file_id -> (bytes, file_path)
        self.downloads = 0

    # ------------------------------------------------------------------ test-facing API

    def reset(self) -> None:
        super().reset()
        self.blocked_chats.clear()

    def fail_next(
        self,
        chat_id: int | str | None = None,
        method: str | None = "sendMessage",
        kind: str = "429",
        count: int = 1,
        *,
        retry_after: int = 3,
        hang_seconds: float | None = None,
        delivered: bool | None = None,
    ) -> None:
        """Make the next ``count`` matching calls misbehave.

        ``chat_id``/``method`` of ``None`` match anything.  ``kind``:
        "429" (RetryAfter ``retry_after``), "403" (blocked by user), "500",
        "hang" (the message IS delivered, then the answer is delayed by
        ``hang_seconds`` - the lost-answer case), "drop" (connection closed with no
        answer; not delivered unless ``delivered=True``).
        """
        self._script(kind, _chat_id(chat_id) if chat_id is not None else None, method, count,
                     hang_seconds=hang_seconds, delivered=delivered, retry_after=retry_after)

    def add_file(self, data: bytes, suffix: str = ".oga") -> str:
        """Bytes a user "uploaded"; returns the ``file_id`` getFile resolves."""
        unique = uuid.uuid4().hex
        file_id = f"AwACAgQAAxkBAAI{unique}"
        with self._lock:
            self.files[file_id] = (data, f"voice/file_{unique[:8]}{suffix}")
        return file_id

    def push_update(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queue an Update for getUpdates, assigning ``update_id`` if missing."""
        with self._lock:
            update = dict(update)
            update.setdefault("update_id", next(self._update_ids))
            self._updates.append(update)
            return update

    def push_text(self, chat_id: int, text: str, **kwargs: Any) -> dict[str, Any]:
        """Queue a user's text message (message ids share the chat's sequence)."""
        with self._lock:
            message_id = next(self._message_ids[chat_id])
            update = make_text_update(
                next(self._update_ids), chat_id, text, message_id=message_id, **kwargs
            )
            self._updates.append(update)
            return update

    def push_callback(
        self, chat_id: int, data: str, message_id: int | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        """Queue a button press on bot message ``message_id`` (default: latest in chat)."""
        with self._lock:
            if message_id is None:
                ids = [mid for (cid, mid) in self._messages if cid == chat_id]
                message_id = max(ids) if ids else None
            message = self._messages.get((chat_id, message_id)) if message_id else None
            update = make_callback_update(
                next(self._update_ids),
                chat_id,
                data,
                message=copy.deepcopy(message) if message else None,
                **kwargs,
            )
            self._updates.append(update)
            return update

    def message(self, chat_id: int | str, message_id: int) -> dict[str, Any] | None:
        """Current server-side state of a bot message (after edits)."""
        with self._lock:
            found = self._messages.get((chat_id, message_id))
            return copy.deepcopy(found) if found else None

    def calls_to(self, method: str) -> list[dict[str, Any]]:
        with self._lock:
            return [params for name, params, _ in self.calls if name == method]

    def texts_to(self, chat_id: int | str) -> list[str]:
        with self._lock:
            return [m["text"] for m in self.sent_messages if m["chat_id"] == chat_id]

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "calls": dict(Counter(name for name, _, _ in self.calls)),
                "sent_messages": len(self.sent_messages),
                "documents": len(self.documents),
                "accepted_count": self.accepted_count,
                "rate_limited_count": self.rate_limited_count,
                "pending_updates": len(self._updates),
                "pending_failures": self._failures.pending(),
            }

    # -------------------------------------------------------------------- HTTP layer

    async def _endpoint(self, request: Request) -> Response:
        if request.path_params["token"] != self.token:
            return error_response(401, "Unauthorized")
        method = self._method_names.get(request.path_params["method"].lower())
        if method is None:
            return error_response(404, "Not Found")
        try:
            params = await read_params(request)
        except (ValueError, UnicodeDecodeError) as exc:
            return error_response(400, f"Bad Request: can't parse request: {exc}")
        with self._lock:
            self.calls.append((method, params, self._clock()))
        chat_id = params.get("chat_id")

        if method in _CHAT_METHODS and chat_id in self.blocked_chats:
            return error_response(403, "Forbidden: bot was blocked by the user")
        failure = self._failures.take(method, chat_id)
        if failure is not None:
            return await self._misbehave(failure, method, params)
        if method in _RATE_LIMITED:
            retry_after = self._admit(chat_id)
            if retry_after:
                return too_many_requests(retry_after)
        return await self._perform(method, params)

    async def _perform(self, method: str, params: dict[str, Any]) -> Response:
        """Really execute ``method`` (no failure scripting, no rate limiting)."""
        if method == "getUpdates":
            return await self._get_updates(params)
        try:
            result = self._handlers[method](params)
        except TelegramApiError as exc:
            return exc.response()
        return JSONResponse({"ok": True, "result": result})

    async def _misbehave(
        self, failure: ScriptedFailure, method: str, params: dict[str, Any]
    ) -> Response:
        """Apply a scripted failure.

        "hang": if delivered (default) the call is performed now and its real answer is
        sent after ``hang_seconds``; if not delivered, a late 502 Bad Gateway is sent.
        "drop": the call is performed only if ``delivered=True``; then the connection is
        closed without an answer.  Scripted failures bypass the rate limiter.
        """
        if failure.kind == "429":
            return too_many_requests(failure.retry_after)
        if failure.kind == "403":
            return error_response(403, "Forbidden: bot was blocked by the user")
        if failure.kind == "500":
            return error_response(500, "Internal Server Error")
        response: Response = error_response(502, "Bad Gateway")
        if failure.delivered:
            with self._lock:
                self.accepted_count += method in _RATE_LIMITED
            response = await self._perform(method, params)
        if failure.kind == "drop":
            return DroppedConnection()
        await sleep_unless(self._released, failure.hang_seconds)
        return response

    def _admit(self, chat_id: int | str | None) -> int:
        """Record a send against the limits; return retry_after seconds if refused."""
        with self._lock:
            if not self.enforce_limits:
                self.accepted_count += 1
                return 0
            now = self._clock()
            window = self._chat_windows.get(chat_id) if chat_id is not None else None
            if window is None and chat_id is not None:
                window = SlidingWindow(max(1, self.per_chat_per_second + self.burst))
                self._chat_windows[chat_id] = window
            wait = self._global_window.retry_after(now)
            if window is not None:
                wait = max(wait, window.retry_after(now))
            if wait > 0:
                self.rate_limited_count += 1
                return max(1, math.ceil(wait))
            self._global_window.add(now)
            if window is not None:
                window.add(now)
            self.accepted_count += 1
            return 0

    # --------------------------------------------------------------- method handlers

    def _true(self, params: dict[str, Any]) -> bool:
        return True

    def _get_me(self, params: dict[str, Any]) -> dict[str, Any]:
        return dict(BOT_USER)

    def _require_chat(self, params: dict[str, Any]) -> int | str:
        chat_id = params.get("chat_id")
        if chat_id is None or chat_id == "":
            raise TelegramApiError(400, "Bad Request: chat_id is empty")
        if not isinstance(chat_id, int):
            raise TelegramApiError(400, "Bad Request: chat not found")
        return chat_id

    def _new_message(self, chat_id: int | str, params: dict[str, Any]) -> dict[str, Any]:
        """Create and store a bot message; caller holds the lock."""
        message: dict[str, Any] = {
            "message_id": next(self._message_ids[chat_id]),
            "from": dict(_MESSAGE_FROM),
            "chat": make_chat(chat_id),
            "date": int(time.time()),
        }
        markup = params.get("reply_markup")
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        self._messages[(chat_id, message["message_id"])] = message
        return message

    def _send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = self._require_chat(params)
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            raise TelegramApiError(400, "Bad Request: message text is empty")
        if _visible_length(text, params.get("parse_mode")) > MAX_TEXT_LENGTH:
            raise TelegramApiError(400, "Bad Request: message is too long")
        with self._lock:
            message = self._new_message(chat_id, params)
            message["text"] = text
            self.sent_messages.append(
                {
                    "chat_id": chat_id,
                    "message_id": message["message_id"],
                    "text": text,
                    "reply_markup": params.get("reply_markup"),
                    "parse_mode": params.get("parse_mode"),
                    "time": self._clock(),
                }
            )
            return copy.deepcopy(message)

    def _stored_message(self, params: dict[str, Any], action: str) -> dict[str, Any]:
        """Caller holds the lock."""
        chat_id = self._require_chat(params)
        message = self._messages.get((chat_id, params.get("message_id")))  # type: ignore[arg-type]
        if message is None:
            raise TelegramApiError(400, f"Bad Request: message to {action} not found")
        return message

    def _edit(self, params: dict[str, Any], text: str | None) -> dict[str, Any] | bool:
        if params.get("inline_message_id"):
            return True
        markup = params.get("reply_markup")
        new_markup = markup if isinstance(markup, dict) and "inline_keyboard" in markup else None
        with self._lock:
            message = self._stored_message(params, "edit")
            new_text = message.get("text") if text is None else text
            if new_text == message.get("text") and new_markup == message.get("reply_markup"):
                raise TelegramApiError(400, _NOT_MODIFIED)
            if text is not None:
                message["text"] = text
            if new_markup is None:
                message.pop("reply_markup", None)
            else:
                message["reply_markup"] = new_markup
            message["edit_date"] = int(time.time())
            return copy.deepcopy(message)

    def _edit_message_text(self, params: dict[str, Any]) -> dict[str, Any] | bool:
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            raise TelegramApiError(400, "Bad Request: message text is empty")
        return self._edit(params, text)

    def _edit_message_reply_markup(self, params: dict[str, Any]) -> dict[str, Any] | bool:
        return self._edit(params, None)

    def _delete_message(self, params: dict[str, Any]) -> bool:
        with self._lock:
            message = self._stored_message(params, "delete")
            del self._messages[(message["chat"]["id"], message["message_id"])]
        return True

    def _get_file(self, params: dict[str, Any]) -> dict[str, Any]:
        """getFile: the ``file_path`` to download from ``/file/bot<token>/<file_path>``."""
        file_id = str(params.get("file_id") or "")
        with self._lock:
            found = self.files.get(file_id)
        if found is None:
            raise TelegramApiError(400, "Bad Request: invalid file_id")
        data, path = found
        return {"file_id": file_id, "file_unique_id": file_id[-12:], "file_size": len(data),
                "file_path": path}

    async def _download(self, request: Request) -> Response:
        if request.path_params["token"] != self.token:
            return error_response(401, "Unauthorized")
        with self._lock:
            self.downloads += 1
            found = next((data for data, path in self.files.values()
                          if path == request.path_params["path"]), None)
        if self._failures.take("download", None) is not None:
            return error_response(500, "Internal Server Error")
        if found is None:
            return error_response(404, "Not Found")
        return Response(found, media_type="application/octet-stream")

    def _send_document(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = self._require_chat(params)
        document = params.get("document")
        if isinstance(document, UploadedFile):
            if not document.content:
                raise TelegramApiError(400, "Bad Request: file must be non-empty")
            filename, content, mime = document.filename, document.content, document.content_type
        elif isinstance(document, str) and document:
            filename, content, mime = None, None, None  # file_id or URL
        else:
            raise TelegramApiError(400, "Bad Request: there is no document in the request")
        with self._lock:
            message = self._new_message(chat_id, params)
            unique = uuid.uuid4().hex
            message["document"] = {
                "file_id": f"BQACAgQAAxkDAAI{unique}",
                "file_unique_id": f"AgAD{unique[:12]}",
                "file_size": len(content or b""),
            }
            if filename:
                message["document"]["file_name"] = filename
            if mime:
                message["document"]["mime_type"] = mime
            if params.get("caption"):
                message["caption"] = params["caption"]
            self.documents.append(
                {
                    "chat_id": chat_id,
                    "message_id": message["message_id"],
                    "filename": filename,
                    "content": content,
                    "mime_type": mime,
                    "caption": params.get("caption"),
                    "document": None if isinstance(document, UploadedFile) else document,
                    "time": self._clock(),
                }
            )
            return copy.deepcopy(message)

    def _set_my_commands(self, params: dict[str, Any]) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise TelegramApiError(400, "Bad Request: can't parse commands JSON object")
        with self._lock:
            self.commands = commands
        return True

    def _get_my_commands(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.commands)

    def _delete_my_commands(self, params: dict[str, Any]) -> bool:
        with self._lock:
            self.commands = []
        return True

    def _set_webhook(self, params: dict[str, Any]) -> bool:
        with self._lock:
            self.webhook = {
                "url": params.get("url") or "",
                "secret_token": params.get("secret_token"),
                "allowed_updates": params.get("allowed_updates"),
                "max_connections": params.get("max_connections", 40),
            }
            if params.get("drop_pending_updates"):
                self._updates.clear()
        return True

    def _delete_webhook(self, params: dict[str, Any]) -> bool:
        with self._lock:
            self.webhook = {"url": "", "secret_token": None}
            if params.get("drop_pending_updates"):
                self._updates.clear()
        return True

    def _get_webhook_info(self, params: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            info: dict[str, Any] = {
                "url": self.webhook["url"],
                "has_custom_certificate": False,
                "pending_update_count": len(self._updates),
            }
            if self.webhook["url"]:
                info["max_connections"] = self.webhook.get("max_connections", 40)
                info["ip_address"] = "127.0.0.1"
                if self.webhook.get("allowed_updates"):
                    info["allowed_updates"] = self.webhook["allowed_updates"]
            return info

    async def _get_updates(self, params: dict[str, Any]) -> JSONResponse:
        """Long poll: confirm updates below ``offset``, then wait (bounded) for more."""
        offset, limit = params.get("offset"), params.get("limit") or 100
        limit = min(max(int(limit), 1), 100)
        with self._lock:
            if self.webhook["url"]:
                return error_response(
                    409,
                    "Conflict: can't use getUpdates method while webhook is active; "
                    "use deleteWebhook to delete the webhook first",
                )
            if isinstance(offset, int) and offset > 0:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
            elif isinstance(offset, int) and offset < 0:
                self._updates = self._updates[offset:]
        deadline = time.monotonic() + min(float(params.get("timeout") or 0), self.max_long_poll)
        while True:
            with self._lock:
                batch = self._updates[:limit]
            if batch or self._released.is_set() or time.monotonic() >= deadline:
                return JSONResponse({"ok": True, "result": batch})
            await asyncio.sleep(0.01)

    # ------------------------------------------------------------- control endpoints

    async def _control_stats(self, request: Request) -> JSONResponse:
        return JSONResponse(self.stats())

    async def _control_fail_next(self, request: Request) -> JSONResponse:
        try:
            self.fail_next(**(await request.json()))
        except (TypeError, ValueError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse({"ok": True})

    async def _control_updates(self, request: Request) -> JSONResponse:
        """Body: a full Update, or ``{"chat_id": .., "text": ..}`` / ``{.., "data": ..}``."""
        body = await request.json()
        if "text" in body and "update_id" not in body:
            update = self.push_text(body.pop("chat_id"), body.pop("text"), **body)
        elif "data" in body and "update_id" not in body:
            update = self.push_callback(body.pop("chat_id"), body.pop("data"), **body)
        else:
            update = self.push_update(body)
        return JSONResponse(update)

    async def _control_reset(self, request: Request) -> JSONResponse:
        self.reset()
        return JSONResponse({"ok": True})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve a fake Telegram Bot API on 127.0.0.1")
    add_server_args(parser)
    parser.add_argument("--token", default=DEFAULT_TOKEN)
    parser.add_argument("--enforce-limits", action="store_true")
    parser.add_argument("--global-per-second", type=int, default=30)
    parser.add_argument("--per-chat-per-second", type=int, default=1)
    parser.add_argument("--burst", type=int, default=0)
    parser.add_argument("--hang-seconds", type=float, default=5.0)
    parser.add_argument("--max-long-poll", type=float, default=1.0)
    args = parser.parse_args(argv)
    fake = FakeTelegram(
        args.token,
        enforce_limits=args.enforce_limits,
        global_per_second=args.global_per_second,
        per_chat_per_second=args.per_chat_per_second,
        burst=args.burst,
        hang_seconds=args.hang_seconds,
        max_long_poll=args.max_long_poll,
    )
    serve_forever(fake.app, port=args.port, port_file=args.port_file)


if __name__ == "__main__":
    main()
