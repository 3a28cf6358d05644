"""Store methods for burden limits (``[burden]``) (the SQL mixin).

Planning a round asks, for everyone at once, how many messages each person was sent in
the past week and which rounds reach them around the round's own time: two queries,
grouped here, rather than one per person.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Protocol

from bot.store.sql_runner import SqlRunner

NOT_MESSAGES = ("press_ack", "test")
"""Outbox kinds that are not messages to a person (a button's spinner, a test send)."""
ROUND_REACHED = ("planned", "sent", "queued", "consenting", "completed", "no_reply",
                 "closed")
"""Target statuses that mean a round reaches (or reached) the person."""


@dataclass
class Usage:
    """What one person has been sent (or is planned to receive) around a moment."""

    messages: list[dt.datetime] = field(default_factory=list)
    """When each message in the window was queued, oldest first."""
    rounds: list[tuple[str, dt.datetime]] = field(default_factory=list)
    """``(round id, send time)`` of each round reaching them in the window."""


class BurdenStore(Protocol):
    async def burden_usage(self, messages_since: dt.datetime, rounds_from: dt.datetime,
                           rounds_to: dt.datetime) -> dict[str, Usage]:
        """Per participant: messages queued at or after ``messages_since``, and rounds
        whose send time (sent, else planned) lies in ``[rounds_from, rounds_to)``."""

    async def burden_messages_of(self, participant_id: str,
                                 since: dt.datetime) -> list[dt.datetime]:
        """When each message to this person queued at or after ``since`` was queued,
        oldest first (the scheduler's check before a round reminder)."""


class SqliteBurden(SqlRunner):
    """Mixed into SqliteStore."""

    async def burden_usage(self, messages_since: dt.datetime, rounds_from: dt.datetime,
                           rounds_to: dt.datetime) -> dict[str, Usage]:
        from bot.store.sqlite_codec import dt_text, parse_dt

        out: dict[str, Usage] = {}
        kinds = ", ".join("?" for _ in NOT_MESSAGES)
        rows = await self._all(
            "SELECT participant_id, created_at FROM outbox WHERE participant_id != '' AND "
            f"created_at >= ? AND COALESCE(json_extract(payload, '$.kind'), '') "
            f"NOT IN ({kinds}) ORDER BY created_at", (dt_text(messages_since), *NOT_MESSAGES))
        for r in rows:
            out.setdefault(r[0], Usage()).messages.append(parse_dt(r[1]))
        states = ", ".join("?" for _ in ROUND_REACHED)
        rows = await self._all(
            "SELECT participant_id, round_id, COALESCE(sent_at, send_at) AS at "
            f"FROM round_targets WHERE status IN ({states}) AND "
            "COALESCE(sent_at, send_at) >= ? AND COALESCE(sent_at, send_at) < ? ORDER BY at",
            (*ROUND_REACHED, dt_text(rounds_from), dt_text(rounds_to)))
        for r in rows:
            out.setdefault(r[0], Usage()).rounds.append((r[1], parse_dt(r[2])))
        return out

    async def burden_messages_of(self, participant_id: str,
                                 since: dt.datetime) -> list[dt.datetime]:
        from bot.store.sqlite_codec import dt_text, parse_dt

        kinds = ", ".join("?" for _ in NOT_MESSAGES)
        rows = await self._all(
            "SELECT created_at FROM outbox WHERE participant_id = ? AND created_at >= ? "
            f"AND COALESCE(json_extract(payload, '$.kind'), '') NOT IN ({kinds}) "
            "ORDER BY created_at", (participant_id, dt_text(since), *NOT_MESSAGES))
        return [parse_dt(r[0]) for r in rows]

