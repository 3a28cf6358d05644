"""Queueing webhook rows: committed events and closed rounds become outbox rows.

Why a projection rather than rows written in each change's own transaction: the events
webhooks are about are written in many places (answers, consent, STOP, the scheduler
closing a round), while the events table is the one place all of them are committed
together with the change that caused them. ``sync(now)`` reads past a durable cursor
and moves it in the same transaction as the rows it queues, so an event is queued
exactly once (a crash before that commit only means it is read again) and delivered at
least once. The scheduler runs ``sync`` every pass, so a webhook leaves within one
scheduler interval of its event.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence

from bot.ids import IdSource, RandomIds
from bot.rounds.status import COUNTS, round_status
from bot.store.base import Store
from bot.store.records import OutboxItem
from bot.webhook_config import WebhookConfig
from bot.webhooks.payloads import SOURCES, Occurrence, body, occurrence, round_completed

log = logging.getLogger("parley.webhooks")
BATCH = 500


class WebhookQueue:
    """Turns what happened into one outbox row per (event, hook that wants it)."""

    def __init__(self, store: Store, hooks: Sequence[WebhookConfig],
                 ids: IdSource | None = None) -> None:
        self.store, self.hooks = store, list(hooks)
        self.ids = ids or RandomIds()

    async def sync(self, now: dt.datetime) -> int:
        """Queue the webhooks for everything committed since the last call; how many.
        Also blanks the bodies of those delivered (or given up) since the last call."""
        if not self.hooks:
            return 0
        await self.store.webhook_forget_done()
        queued = await self._events(now) + await self._rounds(now)
        if queued:
            log.info("webhooks: %d queued", queued)
        return queued

    async def _events(self, now: dt.datetime) -> int:
        after = await self.store.webhook_cursor_start(now)
        total = 0
        while True:
            found, upto = await self.store.webhook_events_after(after, SOURCES, BATCH)
            if upto <= after:
                return total
            rows = [row for source in found
                    if (occ := occurrence(source)) is not None
                    for row in self.rows(occ, now)]
            if not await self.store.webhook_advance(after, upto, rows):
                return total  # another process moved the cursor: it queued these
            total += len(rows)
            after = upto
            if len(found) < BATCH:
                return total

    async def _rounds(self, now: dt.datetime) -> int:
        marked = await self.store.webhook_rounds_marked()
        total = 0
        for item in await self.store.rounds_all():
            if item.status != "closed" or item.id in marked:
                continue
            status = await round_status(self.store, item)
            rows = self.rows(round_completed(item, {k: status[k] for k in COUNTS}), now)
            if await self.store.webhook_round_queue(item.id, now, rows):
                total += len(rows)
        return total

    def rows(self, occ: Occurrence, now: dt.datetime) -> list[OutboxItem]:
        """One row per hook that wants ``occ``, all with the same event id."""
        hooks = [h for h in self.hooks if occ.event in h.events]
        if not hooks:
            return []
        event_id = self.ids.new("evt")
        # not the person's own row (it is no message to them: burden, exports and the
        # conversation view leave it out) but ``about`` them, so erasing them cancels it
        about = {"about": occ.participant_id} if occ.participant_id else {}
        return [OutboxItem(
            participant_id="", address=hook.url, channel="webhook",
            # the body may hold an answer: blanked once delivered or given up (``sync``)
            payload={"kind": "webhook", "event": occ.event, "id": event_id, **about,
                     "body": body(event_id, occ, include_answers=hook.include_answers)},
            created_at=now, not_before=now) for hook in hooks]
