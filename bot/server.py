"""``parley serve``: the web app, the inbox, the outbox senders and the scheduler."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
import socket
from pathlib import Path

import uvicorn

from bot.clock import Clock
from bot.config import Config
from bot.errors import ParleyError
from bot.logging_setup import configure_logging
from bot.runtime import open_runtime
from bot.service import ParleyService
from bot.web.app import create_app

log = logging.getLogger("parley.server")


def build_channels(service: ParleyService) -> None:
    """Add every channel whose credentials are configured (none is fine)."""
    config = service.runtime.config
    if config.telegram.enabled:
        from bot.channels.telegram import TelegramChannel

        service.add_channel(TelegramChannel(config))
    if config.sms.enabled:
        from bot.channels.sms import SmsChannel

        service.add_channel(SmsChannel(config))
    if config.whatsapp.enabled_with(config.sms):
        from bot.channels.whatsapp import WhatsAppChannel

        service.add_channel(WhatsAppChannel(config))


def build_jobs(service: ParleyService) -> None:
    """Background jobs beside the web app (the scheduler registers itself here)."""
    from bot.retention import scheduled_purge
    from bot.wiring import scheduler_job

    interval = float(os.environ.get("PARLEY_SCHEDULER_INTERVAL", "20"))
    runtime = service.runtime
    holder = runtime.store.holder
    if not runtime.config.store.url.startswith("sqlite:"):  # processes share the database
        from bot.delivery.membership import Membership

        service.add_job(Membership(runtime.store, runtime.clock, holder), before_senders=True)
    job = scheduler_job(service.runtime, interval=interval, holder=holder)
    job.also("parley-retention",
             lambda now: scheduled_purge(runtime.store, runtime.config, now),
             float(os.environ.get("PARLEY_RETENTION_INTERVAL", str(24 * 3600))))
    service.add_job(job)
    if runtime.config.webhooks:  # signed POSTs of events, through the outbox (#16)
        from bot.webhooks.sender import WebhookJob, webhook_interval

        hooks = WebhookJob(runtime.store, runtime.config.webhooks, runtime.clock)
        job.also("parley-webhooks", hooks.sync, webhook_interval())
        service.add_job(hooks)
    from bot.media_fetch import MediaFetcher

    service.add_job(MediaFetcher(service.runtime.config))  # voice notes, photos … (#17)


async def build_service(config: Config, *, senders_paused: bool = False,
                        processing_paused: bool = False,
                        clock: Clock | None = None) -> ParleyService:
    runtime = await open_runtime(config, clock=clock)
    service = ParleyService(runtime, senders_paused=senders_paused,
                            processing_paused=processing_paused)
    build_channels(service)
    build_jobs(service)
    return service


def listen(config: Config) -> socket.socket:
    """The bound server socket, or ParleyError in one line (a port in use, say)."""
    host, port = config.server.host, config.server.port
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ParleyError(f"cannot listen on {host}:{port}: {exc.strerror or exc} (is "
                          "another parley serve running? change [server] port)") from exc
    return sock


def _secrets(config: Config) -> list[str]:
    return [config.telegram.token, config.telegram.webhook_secret, config.sms.auth_token,
            config.sms.account_sid]


COLLECTOR_THRESHOLDS = (20_000, 20, 20)
"""Python's default (700, 10, 10) ran a young-generation collection several times a
Telegram turn, and a full one every few seconds over everything start-up had made."""


def tune_collector() -> None:
    """For a long-running server, once started: what start-up made (modules, flows,
    templates, the app) is frozen out of the collector's reach, and young objects are
    collected after 20,000 allocations rather than 700. Together about a tenth of a
    turn's CPU (issue 18); what a turn leaves behind is collected as before."""
    gc.freeze()
    gc.set_threshold(*COLLECTOR_THRESHOLDS)


async def serve(config: Config, *, senders_paused: bool = False,
                processing_paused: bool = False,
                port_file: Path | None = None) -> None:
    configure_logging(os.environ.get("PARLEY_LOG_LEVEL", "INFO"), _secrets(config))
    sock = listen(config)  # first: a busy port must not leave a store or threads open
    service = await build_service(config, senders_paused=senders_paused,
                                  processing_paused=processing_paused)
    app = create_app(service)
    port = sock.getsockname()[1]
    trusted = config.server.trusted_proxies
    # uvicorn believes X-Forwarded-For from 127.0.0.1 by default; a spoofed header would
    # then pick the client address the login limiter counts. Only named proxies count.
    uv_config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="on",
                               loop="auto", http="auto", timeout_graceful_shutdown=5,
                               proxy_headers=bool(trusted),
                               forwarded_allow_ips=list(trusted),
                               timeout_keep_alive=5, server_header=False)
    server = uvicorn.Server(uv_config)
    channels = ", ".join(service.channels) or "no channels (no credentials configured)"
    log.info("Parley listening on http://%s:%d with %s%s", config.server.host, port, channels,
             ("; senders paused" if senders_paused else "")
             + ("; processing paused" if processing_paused else ""))
    if port_file is not None:
        tmp = port_file.with_suffix(".tmp")
        tmp.write_text(str(port))
        tmp.replace(port_file)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: setattr(server, "should_exit", True))
    tune_collector()
    await server.serve(sockets=[sock])
