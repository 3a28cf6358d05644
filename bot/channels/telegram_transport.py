"""Outbox rows → Telegram Bot API requests, through python-telegram-bot's ``Bot``.

One row is one of:

- a message (any payload with ``text``): sent as plain text (no parse mode, so nothing
  a person wrote is ever read as markup), its ``choices`` as an inline keyboard laid
  out by ``layout`` (``grid`` for 0-10 scales, ``row`` for yes/no, ``list`` one per
  row). Text over 4,096 characters is split on paragraph boundaries, buttons on the
  last part;
- ``press_ack``: answer a button press and edit the pressed question (``bot.acks``);
- ``document``: a file (the ``/mydata`` export).

Outcomes, as the outbox sender expects them (DESIGN §3):

=====================================================  =================================
PTB raises                                             we raise
=====================================================  =================================
``RetryAfter``                                         ``RateLimited(retry_after)``
``Forbidden`` (blocked by the user), ``ChatMigrated``  ``Unreachable`` (code 403)
``BadRequest`` (too long, bad keyboard, chat missing)  ``Rejected``: failed, not retried
``TimedOut`` from a connect or pool timeout            ``TransientError``: never left us
``TimedOut`` from a read or write timeout              ``AmbiguousSend``: never resent
``NetworkError`` from a refused/failed connection      ``TransientError``
``NetworkError`` after the request was written         ``AmbiguousSend``
(the server closed the connection without answering,
or answered with more than the size cap)
``NetworkError`` for a 5xx answer, ``Conflict``,       ``TransientError``
``InvalidToken``
=====================================================  =================================

Which of those a failure was is decided by the *type* of the HTTP client's own exception
that PTB's error was raised from (aiohttp's for sends, httpx's for uploads and behind a
proxy; see ``NOT_SENT``), never by an error's text.

Telegram has no idempotency key and no way to ask whether a message arrived, so
``resolve_ambiguous`` always says it cannot tell.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import math
import warnings
from typing import Any

import aiohttp
import httpx
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from bot.acks import PRESS_ACK
from bot.channels.telegram_aiohttp import ResponseTooLarge
from bot.channels.telegram_updates import callback_data, chat_of
from bot.delivery.pacing import MARGIN
from bot.delivery.transport import Pacing, SendResult
from bot.errors import (
    AmbiguousSend,
    ChannelError,
    RateLimited,
    Rejected,
    TransientError,
    Unreachable,
)
from bot.store.records import Channel, OutboxItem
from bot.text.render import split_telegram

log = logging.getLogger("parley.telegram")
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol,
            aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError)
"""Client errors raised before any byte of the request left: safe to send again."""
CLIENT_ERRORS = (httpx.HTTPError, aiohttp.ClientError, ResponseTooLarge)
GRID_WIDTH = 6


def keyboard_rows(payload: dict[str, Any]) -> list[list[dict[str, str]]]:
    """Inline buttons (Bot API JSON) for a payload's choices, laid out by ``layout``;
    ValueError for a token over 64 bytes."""
    buttons = [{"text": str(c["label"]), "callback_data": callback_data(str(c["token"]))}
               for c in payload.get("choices") or []]
    if not buttons:
        return []
    layout = payload.get("layout", "list")
    if layout == "row":
        return [buttons]
    if layout == "grid":  # 0-10 → 6 + 5; 1-5 → one row; 1-7 → 4 + 3
        count = math.ceil(len(buttons) / GRID_WIDTH)
        width = math.ceil(len(buttons) / count)
        return [buttons[i:i + width] for i in range(0, len(buttons), width)]
    return [[b] for b in buttons]


def keyboard(payload: dict[str, Any]) -> InlineKeyboardMarkup | None:
    """The same buttons as PTB objects."""
    rows = keyboard_rows(payload)
    if not rows:
        return None
    return InlineKeyboardMarkup([[InlineKeyboardButton(b["text"],
                                                       callback_data=b["callback_data"])
                                  for b in row] for row in rows])


def _retry_after(exc: RetryAfter) -> float:
    """Seconds, whether PTB gives an int (deprecated) or a timedelta (PTB_TIMEDELTA)."""
    with warnings.catch_warnings():  # PTB 22 warns that the int will become a timedelta
        warnings.simplefilter("ignore")
        value: Any = exc.retry_after
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)


def outcome_of(exc: TelegramError) -> ChannelError:
    """The Parley outcome of a PTB error (see the module's table)."""
    if isinstance(exc, RetryAfter):
        return RateLimited(_retry_after(exc))
    if isinstance(exc, Forbidden):
        return Unreachable(f"telegram: {exc.message}", code=403)
    if isinstance(exc, ChatMigrated):
        return Unreachable("telegram: the chat became a supergroup", code=400)
    if isinstance(exc, BadRequest):
        return Rejected(f"telegram: {exc.message}")
    cause = exc.__cause__
    if isinstance(exc, TimedOut):
        if isinstance(cause, NOT_SENT):
            return TransientError(f"telegram: could not connect in time ({type(cause).__name__})")
        return AmbiguousSend("telegram: no answer in time after the request was sent")
    if isinstance(exc, InvalidToken):
        log.error("telegram: the bot token was rejected; check [telegram] token")
        return TransientError("telegram: bot token rejected")
    if isinstance(exc, NetworkError) and isinstance(cause, CLIENT_ERRORS):
        if isinstance(cause, NOT_SENT):
            return TransientError(f"telegram: cannot connect ({type(cause).__name__})")
        # written, then the connection broke: Telegram may have acted on it
        return AmbiguousSend(f"telegram: connection lost after sending ({type(cause).__name__})")
    return TransientError(f"telegram: {exc.message}")  # 5xx answers, Conflict, the rest


class TelegramTransport:
    """``Transport`` over one PTB ``Bot`` (owned and initialised by the channel)."""

    channel: Channel = "telegram"

    def __init__(self, bot: Bot, pacing: Pacing) -> None:
        self.bot = bot
        self.pacing = pacing
        self._parts_sent: dict[int, tuple[int, str | None]] = {}
        """Row id → (parts already sent, last message id) for a long text interrupted
        part-way: a retry in this process goes on from where it stopped."""

    async def start(self) -> None:
        """Nothing to do: the channel initialises the bot, and sends work before that."""

    async def stop(self) -> None:
        """Nothing to do: the channel shuts the bot down after the senders stop."""

    async def send(self, item: OutboxItem) -> SendResult:
        try:
            chat_id = chat_of(item.address)
        except ValueError as exc:
            raise Rejected(str(exc)) from exc
        kind = item.payload.get("kind")
        try:
            if kind == PRESS_ACK:
                return await self._press_ack(chat_id, item.payload)
            if kind == "document":
                return await self._document(chat_id, item.payload)
            return await self._message(chat_id, item)
        except TelegramError as exc:
            raise outcome_of(exc) from exc

    async def resolve_ambiguous(self, item: OutboxItem) -> SendResult | None:
        raise AmbiguousSend("Telegram cannot be asked whether a message arrived")

    # -- the three kinds of row -------------------------------------------------------------
    async def _message(self, chat_id: int, item: OutboxItem) -> SendResult:
        payload = item.payload
        text = str(payload.get("text") or payload.get("plain") or "")
        if not text.strip():
            raise Rejected("telegram: the message has no text")
        try:
            rows = keyboard_rows(payload)
        except ValueError as exc:
            raise Rejected(str(exc)) from exc
        parts = split_telegram(text)
        row = item.id if item.id is not None else -1
        done, last_id = self._parts_sent.get(row, (0, None))
        for index in range(done, len(parts)):
            final = index == len(parts) - 1
            fields: dict[str, Any] = {"chat_id": chat_id, "text": parts[index]}
            if final and rows:
                fields["reply_markup"] = {"inline_keyboard": rows}
            if index > done:  # a later part is another message in the chat: its pace
                await asyncio.sleep(self._part_gap())
            last_id = await self._send_message(fields)
            if not final:
                self._parts_sent[row] = (index + 1, last_id)
        self._parts_sent.pop(row, None)
        return SendResult(provider_id=last_id)

    def _part_gap(self) -> float:
        """Seconds between the parts of one long message: the per-chat pace (a second
        part sent at once earned a 429 at Telegram's 1/s per chat)."""
        rate = self.pacing.per_chat_per_second
        return MARGIN / rate if rate else 0.0

    async def _send_message(self, fields: dict[str, Any]) -> str:
        """``sendMessage`` through PTB's request pipeline (encoding, errors) but without
        building ``Message`` objects from the answer, which we never read beyond its id:
        that saves about a third of the CPU a send costs. The method is named in lower
        case (Bot API method names are case-insensitive) because ``do_api_request``
        warns when asked for a method ``Bot`` also has as a Python method."""
        result = await self.bot.do_api_request("sendmessage", api_kwargs=fields)
        if not isinstance(result, dict) or "message_id" not in result:
            raise TransientError("telegram: sendMessage answered without a message")
        return str(result["message_id"])

    async def _press_ack(self, chat_id: int, payload: dict[str, Any]) -> SendResult:
        """Answer the press (stops the spinner), then edit the pressed message. Both are
        safe to repeat after a retry: a second answer or an edit to the same content is
        a harmless BadRequest, ignored here like a message too old to edit."""
        try:
            await self.bot.answer_callback_query(str(payload["ack"]),
                                                 text=payload.get("notice") or None)
        except BadRequest as exc:  # "query is too old": it can no longer be answered
            log.info("telegram: a button press could not be answered: %s", exc.message)
        source = payload.get("source_id")
        message_id = int(source) if isinstance(source, str) and source.isdigit() else None
        if message_id is None:
            return SendResult()
        try:
            if payload.get("edit_text"):
                text = split_telegram(str(payload["edit_text"]))[-1]
                # a tap on a multi/ranking question keeps its buttons, in their new state
                markup = keyboard({"choices": payload.get("edit_choices") or [],
                                   "layout": payload.get("edit_layout") or "list"})
                await self.bot.edit_message_text(text, chat_id=chat_id, message_id=message_id,
                                                 reply_markup=markup)
            elif payload.get("drop_buttons"):
                await self.bot.edit_message_reply_markup(chat_id=chat_id,
                                                         message_id=message_id,
                                                         reply_markup=None)
        except BadRequest as exc:  # not modified (a retry), not found, too old to edit
            log.info("telegram: a pressed message was not edited: %s", exc.message)
        return SendResult(provider_id=str(message_id))

    async def _document(self, chat_id: int, payload: dict[str, Any]) -> SendResult:
        content = str(payload.get("content") or "").encode("utf-8")
        if not content:
            raise Rejected("telegram: the document is empty")
        message: Message = await self.bot.send_document(
            chat_id, document=content, filename=str(payload.get("filename") or "data.json"),
            caption=str(payload.get("text") or "") or None)
        return SendResult(provider_id=str(message.message_id))
