"""The WhatsApp channel over Twilio: ``SmsChannel`` with WhatsApp's transport and webhooks.

``parley serve`` adds it when ``[sms] account_sid`` and ``auth_token`` (the Twilio
account, shared with SMS) and ``[whatsapp] from_number`` are set; SMS itself need not be
on. Sends left ambiguous are re-checked every minute, as for SMS.
"""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from bot.channels.sms import SmsChannel
from bot.channels.whatsapp_transport import WhatsAppTransport
from bot.channels.whatsapp_webhook import WhatsAppWebhooks
from bot.config import Config
from bot.store.records import Channel


class WhatsAppChannel(SmsChannel):
    """``ChannelPlugin`` for WhatsApp over Twilio."""

    name: Channel = "whatsapp"

    def __init__(self, config: Config, *, recheck_interval: float = 60.0) -> None:
        super().__init__(config, recheck_interval=recheck_interval)
        self.twilio = WhatsAppTransport(config)
        self.transport = self.twilio
        self.webhooks = WhatsAppWebhooks(config)

    def routes(self) -> list[BaseRoute]:
        return [Route("/whatsapp/inbound", self.webhooks.inbound, methods=["POST"]),
                Route("/whatsapp/status", self.webhooks.status, methods=["POST"])]
