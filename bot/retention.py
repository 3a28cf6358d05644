"""Retention: the consent text promises deletion ``[retention] days`` after someone's
part ends; this keeps the promise.

A person is **due** when they are not yet erased and their last activity — joining, an
answer, a consent decision, their latest conversation — is more than ``days`` before
``as_of``. The reason shown is ``withdrawn`` when they declined or withdrew consent, else
``inactive``. Purging erases each due person through the one erasure
(``Store.erase_participant``, see ``bot/store/erasure.py``), so what stays is what the
consent text says stays: anonymous counts and totals. Each purge is one audit entry.

``parley retention preview|purge [--as-of DATE]`` run it by hand; ``parley serve`` runs
the purge daily on its scheduler (``bot/scheduler/job.py``).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from bot.config import Config
from bot.store.base import Store
from bot.store.records import Participant
from bot.store.round_records import AuditEntry

log = logging.getLogger("parley.retention")
DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class Due:
    participant_id: str
    reason: str
    """``withdrawn`` or ``inactive``."""
    last_active: dt.datetime
    days_inactive: int

    def as_json(self) -> dict[str, object]:
        return {"id": self.participant_id, "reason": self.reason,
                "last_active": self.last_active.isoformat(),
                "days_inactive": self.days_inactive}


async def _last_active(store: Store, p: Participant) -> tuple[dt.datetime, bool]:
    """When the person last did anything, and whether their last decision was a no."""
    times = [p.created_at]
    times += [a.at for a in await store.answers(participant_id=p.id)]
    times += [s.updated_at for s in await store.sessions_of(p.id)]
    consents = await store.consents_of(p.id)
    times += [c.at for c in consents]
    said_no = p.status == "declined" or bool(
        consents and max(consents, key=lambda c: c.at).decision in ("declined", "withdrawn"))
    return max(times), said_no


async def preview(store: Store, config: Config, as_of: dt.datetime) -> list[Due]:
    """Everyone a purge at ``as_of`` would erase, longest inactive first."""
    limit = dt.timedelta(days=config.retention.days)
    due: list[Due] = []
    for p in await store.list_participants():  # erased people are not listed
        last, said_no = await _last_active(store, p)
        if as_of - last > limit:
            due.append(Due(p.id, "withdrawn" if said_no else "inactive", last,
                           (as_of - last) // DAY))
    return sorted(due, key=lambda d: (d.last_active, d.participant_id))


async def purge(store: Store, config: Config, as_of: dt.datetime, *, actor: str,
                now: dt.datetime, audit_empty: bool = True) -> list[Due]:
    """Erase everyone ``preview`` lists, then record one audit entry; the list erased."""
    due = await preview(store, config, as_of)
    erased: list[Due] = []
    for item in due:
        try:
            await store.erase_participant(item.participant_id, now)
        except KeyError:  # erased meanwhile by someone else: nothing left to do
            continue
        erased.append(item)
    if not erased and not audit_empty:
        return erased
    await store.audit_add(AuditEntry(now, actor, "retention.purge", "", {
        "as_of": as_of.isoformat(), "days": config.retention.days, "erased": len(erased),
        "participants": [d.participant_id for d in erased]}))
    if erased:
        log.info("retention: erased %d participant(s) inactive for more than %d days",
                 len(erased), config.retention.days)
    return erased


def parse_as_of(text: str, timezone: str) -> dt.datetime:
    """``YYYY-MM-DD`` (the start of that day in the project's time zone) or an ISO time;
    ValueError with a reason otherwise."""
    from zoneinfo import ZoneInfo

    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"--as-of '{text}' is not a date like 2027-03-01") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(timezone))
    return value.astimezone(dt.UTC)


async def scheduled_purge(store: Store, config: Config, now: dt.datetime) -> None:
    """The daily purge inside ``parley serve``: audited when it erased someone."""
    await purge(store, config, now, actor="scheduler", now=now, audit_empty=False)
