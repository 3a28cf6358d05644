"""Fetching the media people sent into the project's media folder, with retries.

A background job of ``parley serve``: every few seconds it takes the ``pending`` media
rows that are due (``Store.media_due``) and downloads each one:

- Telegram: the real ``Bot.get_file`` (getFile) then ``File.download_as_bytearray``
  (python-telegram-bot, from ``[telegram] api_base_url``'s file URL);
- Twilio (MMS, WhatsApp): an HTTP GET of ``MediaUrl`` with the account's credentials
  (Twilio's "HTTP Basic Auth for media"), following its redirect to storage. The
  credentials go only to Twilio's own host (or ``[sms] api_base_url``'s).

Limits (``[media] max_bytes``, ``allowed_types``) are checked against what the provider
says *and* what arrives: a file over the limit is refused without being read to the end.
Refused items keep their row (the answer stands; the dashboard says why there is no
file). A failed download is retried with back-off (30 s, 1, 2, 4 … min, at most an
hour) up to ``MAX_ATTEMPTS``, then marked ``failed``; the answer is never lost.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import mimetypes
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx

from bot.config import Config
from bot.errors import StoreError
from bot.store.media import MediaItem

if TYPE_CHECKING:
    from bot.service import ParleyService

log = logging.getLogger("parley.media")
MAX_ATTEMPTS = 8
TWILIO_HOST = "api.twilio.com"


class Refused(Exception):
    """The item breaks a limit: not fetched again."""


def backoff(attempts: int) -> dt.timedelta:
    return dt.timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 3600))


def allowed(content_type: str, prefixes: list[str]) -> bool:
    base = content_type.split(";")[0].strip().lower()
    return any(base.startswith(p.lower()) for p in prefixes)


class MediaFetcher:
    """``BackgroundJob``: downloads pending media (see the module doc)."""

    def __init__(self, config: Config, *, interval: float = 2.0) -> None:
        self.config = config
        self.limits = config.media
        self.folder = config.media_path()
        self.interval = interval
        self.bot: Any = None
        """python-telegram-bot's ``Bot`` of the Telegram channel, when it is on."""
        self._service: ParleyService | None = None
        self._task: asyncio.Task[None] | None = None
        self._http: httpx.AsyncClient | None = None

    def attach(self, service: ParleyService) -> None:
        """Ready to ``run_once`` (tests drive it so, without the loop)."""
        self._service = service
        self.bot = getattr(service.channels.get("telegram"), "bot", None)
        self._http = httpx.AsyncClient(timeout=30, follow_redirects=True)

    async def start(self, service: ParleyService) -> None:
        self.attach(service)
        self._task = asyncio.create_task(self._loop(), name="media-fetch")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._http is not None:
            await self._http.aclose()

    async def _loop(self) -> None:
        while True:
            try:
                await self.run_once()
            except StoreError as exc:
                log.warning("media: store unavailable: %s", exc)
            except Exception:  # a bug must not stop every later download
                log.exception("media: unexpected error")
            await asyncio.sleep(self.interval)

    async def run_once(self) -> int:
        """Fetch what is due now; returns how many were stored."""
        assert self._service is not None
        runtime = self._service.runtime
        stored = 0
        for item in await runtime.store.media_due(runtime.clock.now()):
            stored += await self.fetch(item)
        return stored

    async def fetch(self, item: MediaItem) -> int:
        assert self._service is not None
        runtime = self._service.runtime
        metrics = self._service.metrics
        now = runtime.clock.now()
        item.attempts += 1
        item.updated_at = now
        try:
            data, content_type = await self._download(item)
            path = self._save(item, data, content_type)
        except Refused as exc:
            item.status, item.error = "refused", str(exc)
            outcome = "refused"
        except Exception as exc:  # network, provider or disk: try again later
            item.error = self._redact(f"{type(exc).__name__}: {exc}")[:300]
            if item.attempts >= MAX_ATTEMPTS:
                item.status, outcome = "failed", "failed"
            else:
                item.next_attempt_at, outcome = now + backoff(item.attempts), "retry"
        else:
            item.status, item.path, item.size, item.error = "stored", str(path), len(data), None
            item.content_type = content_type or item.content_type
            outcome = "stored"
        metrics.inc("parley_media_fetch_total", channel=item.channel, outcome=outcome)
        if outcome != "stored":
            log.warning("media: %s %s (attempt %d): %s", item.kind, outcome, item.attempts,
                        item.error)
        await runtime.store.media_update(item)
        return 1 if outcome == "stored" else 0

    async def _download(self, item: MediaItem) -> tuple[bytes, str]:
        if item.channel == "telegram":
            return await self._from_telegram(item)
        return await self._from_twilio(item)

    async def _from_telegram(self, item: MediaItem) -> tuple[bytes, str]:
        if self.bot is None:
            raise RuntimeError("the Telegram channel is off")
        file = await self.bot.get_file(item.source)
        if file.file_size and file.file_size > self.limits.max_bytes:
            raise Refused(f"{file.file_size} bytes is over [media] max_bytes")
        self._check_type(item.content_type)
        data = bytes(await file.download_as_bytearray())
        self._check_size(len(data))
        return data, item.content_type

    async def _from_twilio(self, item: MediaItem) -> tuple[bytes, str]:
        assert self._http is not None
        sms = self.config.sms
        hosts = {TWILIO_HOST, urlsplit(sms.api_base_url).netloc} - {""}
        auth = (sms.account_sid, sms.auth_token) if urlsplit(item.source).netloc in hosts \
            else None
        async with self._http.stream("GET", item.source, auth=auth) as response:
            response.raise_for_status()
            content_type = response.headers.get("content-type", item.content_type)
            self._check_type(content_type)
            declared = int(response.headers.get("content-length") or 0)
            self._check_size(declared)
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                self._check_size(size)  # stop reading as soon as it is too big
                chunks.append(chunk)
        return b"".join(chunks), content_type

    def _redact(self, text: str) -> str:
        """Error texts name URLs, and Telegram's file URLs carry the bot token: kept in
        the store and shown in the dashboard, so no secret may stay in them."""
        for secret in (self.config.telegram.token, self.config.sms.auth_token,
                       self.config.sms.account_sid):
            if secret:
                text = text.replace(secret, "[redacted]")
        return text

    def _check_type(self, content_type: str) -> None:
        if not allowed(content_type, self.limits.allowed_types):
            raise Refused(f"type {content_type or 'unknown'} is not in [media] allowed_types")

    def _check_size(self, size: int) -> None:
        if size > self.limits.max_bytes:
            raise Refused(f"over [media] max_bytes ({self.limits.max_bytes})")

    def _save(self, item: MediaItem, data: bytes, content_type: str) -> Path:
        """``<media folder>/<participant>/<id><ext>``, written whole then renamed."""
        folder = self.folder / item.participant_id
        folder.mkdir(parents=True, exist_ok=True)
        base = (content_type or item.content_type).split(";")[0].strip()
        suffix = {"audio/ogg": ".ogg"}.get(base) or mimetypes.guess_extension(base) or ".bin"
        path = folder / f"{item.id}{suffix}"
        partial = path.with_suffix(path.suffix + ".part")
        partial.write_bytes(data)
        partial.replace(path)
        return path
