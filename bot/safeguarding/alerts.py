"""The words of coordinators' alerts, and the outbox rows that carry them.

Telegram coordinators get the person's words and a link (a coordinator's own chat,
listed in config); SMS coordinator phones get a short alert **without** the words: a
text message can be read on a lock screen or a shared phone. Every alert carries
``about`` (the participant's id) so erasing that person also blanks the alert.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from bot.config import Config
from bot.people import normalise_phone
from bot.store.attention import AttentionItem
from bot.store.records import Channel, OutboxItem

LABELS = {"distress": "safeguarding", "help": "asked for HELP",
          "unprompted": "message outside a flow", "late": "reply after a round closed"}
QUOTE_MAX = 1000


def link(config: Config, item: AttentionItem) -> str:
    base = config.server.public_url.rstrip("/")
    path = f"/admin/attention/{item.id}"
    return base + path if base else path


def telegram_text(config: Config, item: AttentionItem, who: str) -> str:
    words = item.text if len(item.text) <= QUOTE_MAX else item.text[:QUOTE_MAX] + "…"
    return (f"⚠️ Needs attention #{item.id} ({LABELS[item.kind]}): {who} wrote by "
            f"{item.channel}:\n\n“{words}”\n\nReply /ack {item.id} when someone is on it, or "
            f"open it: {link(config, item)}")


def sms_text(config: Config, item: AttentionItem) -> str:
    # ASCII only, so it is one GSM-7 segment; no words of the person's, no name
    return (f"{config.project.name}: safeguarding alert #{item.id}. Someone may need help "
            f"now. Reply ACK {item.id} when someone is on it. {link(config, item)}")


def escalation_text(config: Config, item: AttentionItem) -> str:
    return (f"{config.project.name}: safeguarding alert #{item.id} has not been "
            f"acknowledged for {config.safeguarding.escalate_after}. Please act now: "
            f"{link(config, item)}")


def phones(config: Config, numbers: list[str]) -> list[str]:
    """``tel:`` addresses of the configured numbers (a bad one is skipped: config
    validation of coordinators' numbers is not this module's to add)."""
    out = []
    for number in numbers:
        try:
            out.append("tel:" + normalise_phone(number, config.sms.default_region))
        except ValueError:
            continue
    return out


def message(address: str, channel: Channel, text: str, item: AttentionItem,
            kind: str, now: dt.datetime) -> OutboxItem:
    payload: dict[str, Any] = {
        "text": text, "plain": text, "kind": kind, "node": None, "layout": "list",
        "long_ok": True, "choices": [], "session_id": None, "flow_id": None,
        "about": item.participant_id, "attention_id": item.id}
    return OutboxItem(participant_id="", address=address, channel=channel, payload=payload,
                      created_at=now, not_before=now)


def alerts_for(config: Config, item: AttentionItem, who: str,
               now: dt.datetime) -> list[OutboxItem]:
    """Immediate alerts for a safeguarding item, on the channels that are on."""
    if item.kind != "distress":
        return []
    out: list[OutboxItem] = []
    if config.telegram.enabled:
        text = telegram_text(config, item, who)
        out += [message(f"telegram:{chat}", "telegram", text, item, "alert", now)
                for chat in config.coordinators.telegram_ids]
    if config.sms.enabled:
        text = sms_text(config, item)
        out += [message(address, "sms", text, item, "alert", now)
                for address in phones(config, config.coordinators.phones)]
    return out


def escalations_for(config: Config, item: AttentionItem,
                    now: dt.datetime) -> list[OutboxItem]:
    if not config.sms.enabled:
        return []
    text = escalation_text(config, item)
    return [message(address, "sms", text, item, "escalation", now)
            for address in phones(config, config.safeguarding.escalate_to)]
