"""A round's progress in the contract's shape (``parley rounds status ID --json``).

Counts are of people, not messages: ``sent`` is how many had at least one message of
the round accepted by the provider, ``delivered`` how many had one confirmed delivered
(a Telegram send accepted by the Bot API counts as delivered: Telegram reports nothing
later), ``ambiguous`` how many had a send that may or may not have gone out.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from bot.store.base import Store
from bot.store.round_records import DeliveryRow, Round, RoundTarget

COUNTS = ("targeted", "sent", "delivered", "started", "completed", "opted_out",
          "unreachable", "ambiguous", "segments_estimated", "segments_sent")
CHANNELS = ("telegram", "sms", "whatsapp")


def _empty() -> dict[str, int]:
    return dict.fromkeys(COUNTS, 0)


def summarise(item: Round, targets: Iterable[RoundTarget], delivery: Iterable[DeliveryRow],
              opted_out_now: set[str]) -> dict[str, Any]:
    """The contract's JSON object for one round."""
    rows: dict[str, list[DeliveryRow]] = defaultdict(list)
    for row in delivery:
        rows[row.participant_id].append(row)
    total = _empty()
    by_channel = {ch: _empty() for ch in CHANNELS}
    for t in targets:
        mine = rows.get(t.participant_id, [])
        sent_rows = [r for r in mine if r.status == "sent"]
        channel = t.channel or (mine[0].channel if mine else None)
        flags = {
            "targeted": 1,
            "sent": int(bool(sent_rows)),
            "delivered": int(any(r.delivery_status == "delivered"
                                 or (r.channel == "telegram" and r.status == "sent")
                                 for r in mine)),
            "started": int(t.started_at is not None or t.status == "completed"),
            "completed": int(t.status == "completed"),
            "opted_out": int(t.status == "opted_out" or t.participant_id in opted_out_now),
            "unreachable": int(t.status == "unreachable"
                               or (not sent_rows and any(r.status == "failed" for r in mine))),
            "ambiguous": int(any(r.status == "ambiguous" for r in mine)),
            "segments_estimated": t.segments_estimated,
            "segments_sent": sum(r.segments or 0 for r in sent_rows if r.channel == "sms"),
        }
        for key, value in flags.items():
            total[key] += value
            if channel in by_channel:
                by_channel[channel][key] += value
    return {"id": item.id, "flow": item.flow_id, "label": item.label, **total,
            "by_channel": by_channel}


async def round_status(store: Store, item: Round) -> dict[str, Any]:
    targets = await store.targets_of(item.id)
    delivery = await store.round_delivery(item.id)
    ids = [t.participant_id for t in targets if t.status != "opted_out"]
    opted: set[str] = set()
    if ids:
        for c in await store.candidates(ids=ids):
            usable = [a for a in c.addresses if not a[2]]
            if c.addresses and not usable:
                opted.add(c.id)
    summary = summarise(item, targets, delivery, opted)
    summary["messages"] = message_counts(delivery, await store.round_resent_count(item.id))
    return summary


def message_counts(delivery: Iterable[DeliveryRow], resent: int) -> dict[str, int]:
    """Counts of messages (not people) the round caused, introduction and consent
    included. ``ambiguous`` counts every message that was ever ambiguous: those still
    so and those resent once (``resent``)."""
    rows = list(delivery)
    return {
        "queued": len(rows),
        "sent": sum(r.status == "sent" for r in rows),
        "delivered": sum(r.delivery_status == "delivered"
                         or (r.channel == "telegram" and r.status == "sent") for r in rows),
        "ambiguous": sum(r.status == "ambiguous" for r in rows) + resent,
        "resent": resent,
        "failed": sum(r.status == "failed" for r in rows),
    }
