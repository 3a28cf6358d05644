"""Hours: units, rules for earning them, and balances.

Amounts are kept in whole minutes, so "1.5 hours" is exact and sums never drift.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from bot.config import Config
from bot.credits.ledger import NOT_EARNING
from bot.engine.session import Session
from bot.errors import ParleyError
from bot.store.records import Changes, Participant
from bot.store.timebank import HourEntry, SpendRequest, TimebankStore


def to_minutes(hours: float | str | Decimal) -> int:
    """``1.5`` → ``90``; ParleyError when not a number."""
    try:
        value = Decimal(str(hours)) * 60
    except InvalidOperation as exc:
        raise ParleyError(f"'{hours}' is not a number of hours") from exc
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def hours_text(minutes: int) -> str:
    """``90`` → ``1.5``, ``120`` → ``2``, ``20`` → ``0.33``."""
    text = f"{Decimal(minutes) / 60:.2f}".rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"


@dataclass
class HourBalance:
    earned: int = 0
    """Minutes earned (adjustments included)."""
    spent: int = 0
    """Minutes spent on confirmed requests (positive)."""
    held: int = 0
    """Minutes asked for in requests a coordinator has not decided yet."""

    @property
    def available(self) -> int:
        return self.earned - self.spent - self.held


async def hour_balance(store: TimebankStore, participant_id: str) -> HourBalance:
    out = HourBalance()
    for e in await store.hour_entries(participant_id):
        if e.kind == "spent":
            out.spent -= e.minutes
        else:
            out.earned += e.minutes
    out.held = sum(q.minutes for q in
                   await store.spend_requests(status="pending", participant_id=participant_id))
    return out


class HourRules:
    """``[[credits.hour_rules]]``: hours per completed flow, once per session."""

    def __init__(self, config: Config) -> None:
        self.on = config.credits.time_bank
        self.rules = {r.flow: to_minutes(r.hours) for r in config.credits.hour_rules}

    def earn(self, changes: Changes, p: Participant, session: Session, outcome: str,
             now: dt.datetime) -> HourEntry | None:
        minutes = self.rules.get(session.flow_id)
        if not self.on or minutes is None or p.status != "consented" \
                or outcome in NOT_EARNING:
            return None
        entry = HourEntry(p.id, now, minutes, "earned", key=f"completion:{session.id}",
                          source=f"flow:{session.flow_id}")
        changes.hours.append(entry)  # the key makes a replayed completion earn once
        return entry


def spend_entry(request: SpendRequest, now: dt.datetime, actor: str) -> HourEntry:
    assert request.id is not None
    return HourEntry(request.participant_id, now, -request.minutes, "spent",
                     key=f"spend:{request.id}", source=f"offer:{request.offer_code}",
                     actor=actor)
