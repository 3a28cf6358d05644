"""Earning credits: rules per flow completion, monthly caps, adjustments, balances.

The ledger is append-only. An earning is keyed by the session that completed
(``completion:<session id>``), so replaying a completion never earns twice. Someone who
chose not to be paid ("decline") still gets an entry, marked not payable: their
participation is on record and their time is counted, but no payout includes it.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from bot.config import Config
from bot.engine.session import Session
from bot.errors import ParleyError
from bot.store.base import Store
from bot.store.records import Changes, Participant
from bot.store.round_records import CENTS, LedgerEntry
from bot.store.rounds_base import RoundsStore
from bot.timing import zone

NOT_EARNING = frozenset({"no_reply", "declined", "gave_up", "expired"})
"""Flow outcomes that are not a completion worth paying for."""


def to_cents(amount: float | str | Decimal) -> int:
    return int((Decimal(str(amount)) * CENTS).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def credits_text(cents: int) -> str:
    """``1500`` → ``15``, ``1250`` → ``12.5``."""
    value = Decimal(cents) / CENTS
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"


def money_text(cents: int, config: Config) -> str:
    value = Decimal(cents) / CENTS * Decimal(str(config.credits.value_per_credit))
    return f"{value.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP)}"


def declined_payment(p: Participant) -> bool:
    return p.profile.get("payment_preference") == "decline"


def month_bounds(period: str, tz: str) -> tuple[dt.datetime, dt.datetime]:
    """``2026-03`` → the first instant of March and of April, in ``tz``, as UTC."""
    try:
        year, month = (int(x) for x in period.split("-"))
        first = dt.datetime(year, month, 1, tzinfo=zone(tz))
    except ValueError as exc:
        raise ParleyError(f"--period '{period}' should look like 2026-03") from exc
    nxt = dt.datetime(year + month // 12, month % 12 + 1, 1, tzinfo=zone(tz))
    return first.astimezone(dt.UTC), nxt.astimezone(dt.UTC)


def period_of(at: dt.datetime, tz: str) -> str:
    return at.astimezone(zone(tz)).strftime("%Y-%m")


class CreditRules:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.rules = {r.flow: to_cents(r.amount) for r in config.credits.rules}
        self.cap = (None if config.credits.cap_per_month is None
                    else to_cents(config.credits.cap_per_month))

    async def earn(self, store: RoundsStore, changes: Changes, p: Participant, session: Session,
                   outcome: str, now: dt.datetime) -> LedgerEntry | None:
        """Add the credit for a completion to ``changes`` (nothing if no rule applies)."""
        amount = self.rules.get(session.flow_id)
        if amount is None or p.status != "consented" or outcome in NOT_EARNING:
            return None
        key = f"completion:{session.id}"
        history = await store.ledger(participant_id=p.id)
        if any(e.key == key for e in history):
            return None
        payable = not declined_payment(p)
        note = ""
        if payable and self.cap is not None:
            tz = self.config.schedule.timezone
            month = period_of(now, tz)
            earned = sum(e.amount for e in history
                         if e.kind == "earned" and e.payable and period_of(e.at, tz) == month)
            room = max(self.cap - earned, 0)
            if amount > room:
                note = (f"monthly cap of {credits_text(self.cap)} reached "
                        f"(earned {credits_text(amount)}, credited {credits_text(room)})")
                amount = room
        if not payable:
            note = "payment declined: participation recorded, not payable"
        entry = LedgerEntry(participant_id=p.id, at=now, amount=amount, kind="earned",
                            payable=payable, key=key, flow_id=session.flow_id,
                            session_id=session.id, round_id=session.round_id, note=note)
        changes.ledger.append(entry)
        return entry


@dataclass
class Balance:
    participant_id: str
    earned: int = 0
    """Payable credit, adjustments included."""
    unpaid_participation: int = 0
    """Credit recorded for someone who declined payment (never paid)."""
    exported: int = 0
    paid: int = 0
    completions: int = 0

    @property
    def owed(self) -> int:
        """Payable and not yet in any payout batch."""
        return self.earned - self.exported - self.paid


async def balances(store: RoundsStore) -> dict[str, Balance]:
    batches = {b.id: b for b in await store.payout_batches()}
    in_batch = await store.payout_of_entries()
    out: dict[str, Balance] = defaultdict(lambda: Balance(""))
    for e in await store.ledger():
        b = out[e.participant_id]
        b.participant_id = e.participant_id
        if e.kind == "earned":
            b.completions += 1
        if not e.payable:
            b.unpaid_participation += e.amount
            continue
        b.earned += e.amount
        batch = batches.get(in_batch.get(e.id or -1, ""))
        if batch is not None:
            if batch.status == "paid":
                b.paid += e.amount
            else:
                b.exported += e.amount
    return dict(out)


async def balance_of(store: RoundsStore, participant_id: str) -> int | float:
    """Payable credits earned so far (for BALANCE and /balance)."""
    cents = sum(e.amount for e in await store.ledger(participant_id=participant_id)
                if e.payable)
    return int(cents // CENTS) if cents % CENTS == 0 else cents / CENTS


async def adjust(store: Store, participant_id: str, amount: str, note: str, actor: str,
                 now: dt.datetime) -> LedgerEntry:
    """A manual adjustment (positive or negative), with a note and who made it."""
    person = await store.get_participant(participant_id)
    if person is None:
        raise ParleyError(f"no participant '{participant_id}'")
    if not note.strip():
        raise ParleyError("--note is required: say why the balance changes")
    try:
        cents = to_cents(amount)
    except ArithmeticError as exc:
        raise ParleyError(f"AMOUNT '{amount}' is not a number") from exc
    if cents == 0:
        raise ParleyError("AMOUNT must not be zero")
    entry = LedgerEntry(participant_id=participant_id, at=now, amount=cents,
                        kind="adjustment", payable=not declined_payment(person),
                        note=note.strip(), actor=actor)
    await store.apply(Changes(ledger=[entry]))
    return entry
