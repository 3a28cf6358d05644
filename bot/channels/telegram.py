"""The Telegram channel: updates in (webhook or long polling), the Bot API out.

``parley serve`` adds it when ``[telegram] token`` is set (``bot.server.build_channels``).
Three small parts:

- ``telegram_updates``: an update's JSON → the normalised inbox payload (no names);
- ``telegram_transport.TelegramTransport``: one outbox row → Bot API requests through
  python-telegram-bot's ``Bot``, with outcomes the outbox sender understands (over
  ``telegram_aiohttp.AiohttpRequest``, or PTB's ``HTTPXRequest`` when a proxy is configured);
- this plugin: ``POST /telegram/webhook``, the polling loop, and start-up set-up.

Webhook: ``X-Telegram-Bot-Api-Secret-Token`` must equal ``[telegram] webhook_secret``
(compared in constant time) or the answer is 403 and nothing is kept; without a
configured secret every webhook is refused. A body that is not a JSON update is 400
(logged by size only). The update is committed to the inbox (deduplicated) *before* the
200, so Telegram's re-sends are harmless and a crash after the 200 loses nothing.

Polling (``mode = "polling"``, for a laptop without a public address): ``getUpdates`` in
a loop, each update committed to the same inbox before the next ``offset`` confirms it
to Telegram. Both modes feed one ``InboxProcessor``.

Start-up (in the background, retried with back-off, so Parley starts and keeps
accepting webhooks even while Telegram is unreachable): ``getMe`` (the bot's username is
kept as ``telegram_username`` for invite links), ``setMyCommands`` in every enabled
locale, and ``setWebhook`` with the secret when ``mode = "webhook"`` and ``[server]
public_url`` is set (or ``deleteWebhook`` for polling).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Literal

from starlette.routing import BaseRoute, Route
from telegram import Bot, BotCommand
from telegram.error import InvalidToken, RetryAfter, TelegramError
from telegram.request import BaseRequest, HTTPXRequest

from bot.channels.telegram_aiohttp import AiohttpRequest
from bot.channels.telegram_transport import TelegramTransport, outcome_of
from bot.channels.telegram_updates import UpdateError, normalise
from bot.config import Config
from bot.delivery.transport import Pacing, Transport
from bot.errors import RateLimited, StoreError, TemplateError
from bot.plain_http import Headers, PlainEndpoint, header
from bot.store.records import Channel, InboxItem
from bot.text_hygiene import loads_bounded

if TYPE_CHECKING:
    from bot.channels.host import ServiceHost

log = logging.getLogger("parley.telegram")
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
SECRET_HEADER_KEY = SECRET_HEADER.lower().encode("ascii")
WEBHOOK_PATH = "/telegram/webhook"
ALLOWED_UPDATES = ("message", "callback_query")
COMMANDS = ("start", "help", "stop", "mydata", "delete", "balance")
DEFAULT_BASE_URL = "https://api.telegram.org/bot"
POLL_SECONDS = 25
USERNAME_KEY = "telegram_username"
Received = Literal["stored", "duplicate", "ignored"]


def proxy_configured(env: Mapping[str, str] | None = None) -> bool:
    """Whether the environment asks for an HTTP proxy (only httpx honours one)."""
    env = os.environ if env is None else env
    return any(env.get(name) for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY",
                                          "http_proxy", "ALL_PROXY", "all_proxy"))


def file_base_url(base_url: str) -> str:
    """``…/bot`` → ``…/file/bot`` (where Telegram serves files)."""
    root, sep, _ = base_url.rstrip("/").rpartition("/bot")
    return f"{root}/file/bot" if sep else base_url


class TelegramChannel:
    """``ChannelPlugin`` for a Telegram bot."""

    name: Channel = "telegram"

    def __init__(self, config: Config, *, pool_size: int = 32,
                 poll_seconds: float = POLL_SECONDS) -> None:
        self.config = config
        tg = config.telegram
        base_url = tg.api_base_url or DEFAULT_BASE_URL
        connect = min(5.0, tg.request_timeout)
        # one pool for sends, sized above the sender workers so a send never waits for a
        # connection (a pool timeout would be a failed, though harmless, attempt)
        read = tg.request_timeout
        request: BaseRequest = HTTPXRequest(
            connection_pool_size=pool_size, read_timeout=read, write_timeout=read,
            connect_timeout=connect, pool_timeout=connect)
        if not proxy_configured():  # see telegram_aiohttp: cheaper than httpx per send
            request = AiohttpRequest(files=request, pool_size=pool_size, read_timeout=read,
                                  write_timeout=read, connect_timeout=connect,
                                  pool_timeout=connect)
        updates = HTTPXRequest(connection_pool_size=1, read_timeout=poll_seconds
                               + tg.request_timeout, write_timeout=tg.request_timeout,
                               connect_timeout=connect, pool_timeout=connect)
        self.bot = Bot(tg.token, base_url=base_url, base_file_url=file_base_url(base_url),
                       request=request, get_updates_request=updates)
        self.telegram = TelegramTransport(
            self.bot, Pacing(tg.rate_limit_per_second, tg.per_chat_per_second,
                             tg.per_chat_burst))
        self.transport: Transport = self.telegram
        self.poll_seconds = poll_seconds
        self.ready = asyncio.Event()
        """Set once start-up set-up has succeeded (tests and the polling loop wait on it)."""
        self._secret = tg.webhook_secret.encode("utf-8")
        self._service: ServiceHost | None = None
        self._tasks: list[asyncio.Task[None]] = []

    def routes(self) -> list[BaseRoute]:
        return [Route(WEBHOOK_PATH, PlainEndpoint(self.webhook), methods=["POST"])]

    async def start(self, service: ServiceHost) -> None:
        self._service = service
        tg = self.config.telegram
        if tg.mode == "webhook" and not tg.webhook_secret:
            log.warning("telegram: [telegram] webhook_secret is not set, so every webhook "
                        "will be refused (403); set it, or use mode = \"polling\"")
        self._tasks.append(asyncio.create_task(self._set_up(), name="telegram-setup"))
        if tg.mode == "polling":
            # supervised: an unexpected error restarts polling (counted) instead of
            # leaving the bot deaf with /healthz still answering 200
            self._tasks.append(service.supervisor.spawn("telegram-polling", self._poll))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        try:
            await self.bot.shutdown()
        except Exception as exc:  # closing connections must not fail a shutdown
            log.info("telegram: closing the HTTP client: %s", type(exc).__name__)

    # -- inbound ---------------------------------------------------------------------------
    def _service_or_fail(self) -> ServiceHost:
        if self._service is None:
            raise RuntimeError("the Telegram channel has not been started")
        return self._service

    async def receive(self, update: object) -> Received:
        """Normalise one update and commit it to the inbox (webhook and polling alike).
        Raises UpdateError for a malformed update, StoreError when it cannot be kept."""
        if not isinstance(update, dict):
            raise UpdateError("an update must be a JSON object")
        found = normalise(update)
        service = self._service_or_fail()
        if found is None:
            service.metrics.inc("parley_inbound_ignored_total", channel=self.name)
            return "ignored"
        item = InboxItem(channel=self.name, dedupe_key=found.dedupe_key,
                         address=found.address, payload=found.payload,
                         received_at=service.runtime.clock.now())
        return "stored" if await service.inbox.accept(item) else "duplicate"

    async def webhook(self, headers: Headers, body: bytes) -> tuple[int, str]:
        """``POST /telegram/webhook`` (through ``PlainEndpoint``): the status and answer."""
        service = self._service_or_fail()
        given = header(headers, SECRET_HEADER_KEY) or b""
        if not self._secret or not hmac.compare_digest(given, self._secret):
            reason = "no_secret_configured" if not self._secret else (
                "bad_secret" if given else "no_secret")
            service.metrics.inc("parley_inbound_rejected_total", channel=self.name,
                                reason=reason)
            log.warning("telegram: refused a webhook: %s", reason.replace("_", " "))
            return 403, "forbidden"
        try:
            received = await self.receive(loads_bounded(body))
        except (ValueError, UnicodeDecodeError) as exc:  # JSONDecodeError and UpdateError
            service.metrics.inc("parley_inbound_rejected_total", channel=self.name,
                                reason="malformed")
            what = exc if isinstance(exc, UpdateError) else "not JSON"
            log.warning("telegram: refused a malformed webhook body (%d bytes): %s",
                        len(body), what)
            return 400, "malformed update"
        except StoreError as exc:  # Telegram sends it again later
            log.error("telegram: could not store an update, answered 503: %s", exc)
            return 503, "store unavailable"
        return 200, received

    async def _poll(self) -> None:
        """Long polling: an update is confirmed to Telegram (the next ``offset``) only
        after it is committed to the inbox."""
        await self.ready.wait()
        offset: int | None = None
        delay = 1.0
        while True:
            try:
                updates = await self.bot.get_updates(
                    offset=offset, timeout=int(self.poll_seconds),
                    allowed_updates=list(ALLOWED_UPDATES),
                    read_timeout=self.poll_seconds + self.config.telegram.request_timeout)
            except TelegramError as exc:
                outcome = outcome_of(exc)
                wait = outcome.retry_after if isinstance(outcome, RateLimited) else delay
                log.warning("telegram: getUpdates failed (%s); again in %.0fs", outcome, wait)
                await asyncio.sleep(wait)
                delay = min(delay * 2, 60.0)
                continue
            delay = 1.0
            for update in updates:
                try:
                    await self.receive(update.to_dict())
                except UpdateError as exc:
                    log.warning("telegram: skipped a malformed update: %s", exc)
                except StoreError as exc:
                    log.error("telegram: could not store an update; asking again: %s", exc)
                    await asyncio.sleep(1.0)
                    break
                offset = update.update_id + 1

    # -- start-up set-up --------------------------------------------------------------------
    async def _set_up(self) -> None:
        delay = 1.0
        while True:
            try:
                await self._set_up_once()
            except InvalidToken:  # PTB's message would quote the token: say it in words
                log.error("telegram: the bot token was rejected by Telegram; check "
                          "[telegram] token (or PARLEY_TELEGRAM_TOKEN)")
                return
            except RetryAfter as exc:
                outcome = outcome_of(exc)
                await asyncio.sleep(outcome.retry_after if isinstance(outcome, RateLimited)
                                    else delay)
                continue
            except (TelegramError, StoreError) as exc:
                log.warning("telegram: start-up set-up failed (%s); trying again in %.0fs",
                            type(exc).__name__, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 300.0)
                continue
            self.ready.set()
            return

    async def _set_up_once(self) -> None:
        service = self._service_or_fail()
        tg, server = self.config.telegram, self.config.server
        await self.bot.initialize()  # getMe
        await service.runtime.store.set_meta(USERNAME_KEY, self.bot.username)
        await self._set_commands(service)
        if tg.mode == "polling":
            await self.bot.delete_webhook(drop_pending_updates=False)
            log.info("telegram: polling for updates as @%s", self.bot.username)
        elif server.public_url:
            url = server.public_url.rstrip("/") + WEBHOOK_PATH
            await self.bot.set_webhook(url, secret_token=tg.webhook_secret or None,
                                       allowed_updates=list(ALLOWED_UPDATES))
            log.info("telegram: webhook registered at %s for @%s", url, self.bot.username)
        else:
            log.info("telegram: [server] public_url is not set, so the webhook was not "
                     "registered; point Telegram at <your public URL>%s yourself",
                     WEBHOOK_PATH)

    async def _set_commands(self, service: ServiceHost) -> None:
        """The command menu, in the first locale by default and in each other locale for
        people whose Telegram is set to that language."""
        renderer = service.runtime.renderer
        locales = self.config.project.locales
        for index, locale in enumerate(locales):
            try:
                commands = [BotCommand(c, renderer.render(f"telegram.{c}", locale))
                            for c in COMMANDS]
            except TemplateError as exc:
                log.warning("telegram: command menu for '%s' skipped: %s", locale, exc)
                continue
            await self.bot.set_my_commands(commands,
                                           language_code=None if index == 0 else locale)
