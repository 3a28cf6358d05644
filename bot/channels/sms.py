"""The SMS channel over Twilio: webhooks in, the real twilio ``Client`` out.

``parley serve`` adds it when ``[sms] account_sid``, ``auth_token`` and ``from_number``
are set (see ``bot.server.build_channels``). It is three small parts:

- ``sms_webhook.SmsWebhooks``: ``POST /sms/inbound`` and ``POST /sms/status``, both
  signed by Twilio and checked against ``[server] public_url``;
- ``sms_transport.TwilioTransport``: one outbox row → one or more Twilio messages, with
  outcomes the outbox sender understands (DESIGN §3);
- this plugin, which wires both to the running service and, every minute, looks up sends
  left ambiguous because Twilio itself could not be asked at the time.

What Parley says is decided elsewhere (``Conversations``); STOP, START, HELP and the rest
arrive here as ordinary messages. See docs/sms.md for how this sits with Twilio's own
opt-out handling, validity periods and quiet hours.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from starlette.routing import BaseRoute, Route

from bot.channels.sms_transport import TwilioTransport
from bot.channels.sms_webhook import SmsWebhooks
from bot.config import Config
from bot.delivery.transport import Transport
from bot.errors import StoreError
from bot.store.records import Channel

if TYPE_CHECKING:
    from bot.channels.host import ServiceHost

log = logging.getLogger("parley.sms")


class SmsChannel:
    """``ChannelPlugin`` for Twilio SMS."""

    name: Channel = "sms"

    def __init__(self, config: Config, *, recheck_interval: float = 60.0) -> None:
        self.config = config
        self.twilio = TwilioTransport(config)
        self.transport: Transport = self.twilio
        self.webhooks = SmsWebhooks(config)
        self.recheck_interval = recheck_interval
        self._service: ServiceHost | None = None
        self._recheck: asyncio.Task[None] | None = None

    def routes(self) -> list[BaseRoute]:
        return [Route("/sms/inbound", self.webhooks.inbound, methods=["POST"]),
                Route("/sms/status", self.webhooks.status, methods=["POST"])]

    async def start(self, service: ServiceHost) -> None:
        self._service = service
        runtime = service.runtime
        self.twilio.store, self.twilio.clock = runtime.store, runtime.clock
        self.twilio.metrics = service.metrics
        sender = service.senders.get(self.name)
        if sender is not None:
            self.twilio.window = sender.window
        self.webhooks.attach(service)
        if not self.config.server.public_url:
            log.warning("sms: [server] public_url is not set, so Twilio's signatures cannot "
                        "be checked: inbound SMS and status callbacks will be refused (403)")
        # supervised: an error restarts the loop (counted) instead of ending it silently
        self._recheck = service.supervisor.spawn(f"{self.name}-ambiguous", self._recheck_loop)

    async def stop(self) -> None:
        if self._recheck is not None:
            self._recheck.cancel()
            await asyncio.gather(self._recheck, return_exceptions=True)
            self._recheck = None
        await self.webhooks.detach()

    async def _recheck_loop(self) -> None:
        while True:
            await asyncio.sleep(self.recheck_interval)
            try:
                await self.recheck_ambiguous()
            except StoreError as exc:
                log.warning("sms: could not re-check ambiguous sends: %s", exc)

    async def recheck_ambiguous(self) -> int:
        """Ask Twilio about sends still marked ambiguous, through this channel's outbox
        sender (``bot.delivery.ambiguity``: the one place the rule lives). Returns how
        many were settled (sent, or queued to send again)."""
        sender = None if self._service is None else self._service.senders.get(self.name)
        return 0 if sender is None else await sender.recheck_ambiguous()
