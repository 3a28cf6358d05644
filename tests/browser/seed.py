"""A small, realistic project for the dashboard's browser tests and screenshots.

Fourteen fictional people in three cohorts, on Telegram and SMS (one opted out, one
unreachable); a baseline and an end ONS4 round, answered; a finding whose first version
was endorsed with comments and amendments, and a revision ("what we changed") ready to
send; credits earned for the completed rounds; a coordinator login. Written straight to
the SQLite store before ``parley serve`` starts.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from bot.store.base import Store
from bot.store.dashboard import Coordinator
from bot.store.records import Address, AnswerRow, Changes, ConsentRecord, Participant
from bot.store.round_records import Finding, LedgerEntry, Round, RoundTarget
from bot.web.dashboard.auth import hash_password

EMAIL, PASSWORD = "coordinator@example.org", "a long dashboard password"
ERASE_NAME = "Morgan Pryce"


@dataclass(frozen=True)
class Person:
    pid: str
    name: str
    cohort: str
    address: str
    opted_out: bool = False
    unreachable: bool = False
    payment: str = "voucher"


PEOPLE = [
    Person("p01", "Aisha Khan", "north", "telegram:5001"),
    Person("p02", "Ben Carter", "north", "telegram:5002"),
    Person("p03", "Chloe Evans", "north", "tel:+447700900103"),
    Person("p04", "Dafydd Jones", "wales", "telegram:5004"),
    Person("p05", "Eira Morgan", "wales", "tel:+447700900105"),
    Person("p06", "Femi Adeyemi", "south", "telegram:5006", payment="decline"),
    Person("p07", "Grace Li", "south", "tel:+447700900107"),
    Person("p08", "Harry Wood", "north", "telegram:5008"),
    Person("p09", "Iwan Price", "wales", "tel:+447700900109", opted_out=True),
    Person("p10", "Jess Patel", "south", "telegram:5010", unreachable=True),
    Person("p11", "Kofi Mensah", "north", "tel:+447700900111"),
    Person("p12", "Lowri Hughes", "wales", "telegram:5012"),
    Person("p13", ERASE_NAME, "north", "tel:+447700900113"),
    Person("p14", "Nia Roberts", "south", "telegram:5014"),
]
BASELINE = {"p01": 4, "p02": 6, "p03": 5, "p04": 3, "p05": 6, "p06": 7, "p07": 5, "p08": 4,
            "p11": 6, "p12": 5, "p13": 2}
END = {"p01": 6, "p02": 7, "p03": 6, "p04": 5, "p05": 6, "p06": 7, "p07": 7, "p08": 6,
       "p11": 6, "p12": 7, "p13": 3}
V1_RESPONSES = [  # pid, view, words, credit
    ("p01", "agree", "Standing charges hit us even when the meter is off.", "named"),
    ("p02", "partly", "It's not just meters: top-up shops charge a fee too.", "anonymous"),
    ("p04", "disagree", "Say 'people on low incomes', not 'the poor'.", "named"),
    ("p05", "agree", "", "anonymous"),
    ("p07", "partly", "Add that you can't switch supplier on a prepayment meter.", "named"),
]


def _ons4(pid: str, rid: str, value: int, at: dt.datetime) -> list[AnswerRow]:
    out = []
    for node, field, delta in (("satisfaction", "life_satisfaction", 0),
                               ("worthwhile", "worthwhile", 1),
                               ("happy", "happy_yesterday", 0),
                               ("anxious", "anxious_yesterday", 0)):
        v = max(0, min(10, (10 - value if field == "anxious_yesterday" else value + delta)))
        out.append(AnswerRow(pid, f"s-{rid}-{pid}", "ons4", "seed", node, field, v, str(v),
                             at, round_id=rid))
    return out


async def seed(store: Store, now: dt.datetime, consent_version: str) -> None:
    """Everyone consented to ``consent_version`` (the consent flow's current text)."""
    start = now - dt.timedelta(days=70)
    await store.save_coordinator(Coordinator(EMAIL, hash_password(PASSWORD), start))
    for i, person in enumerate(PEOPLE):
        joined = start + dt.timedelta(hours=i)
        channel = "telegram" if person.address.startswith("telegram:") else "sms"
        await store.apply(Changes(
            participant=Participant(
                person.pid, joined, status="consented", cohort=person.cohort,
                name=person.name, consent_version=consent_version, pathway_done=True,
                preferred_channel=channel,
                profile={"preferred_name": person.name.split()[0],
                         "payment_preference": person.payment}),
            addresses=[Address(person.address, person.pid, channel, joined,
                               opted_out=person.opted_out,
                               opted_out_at=joined if person.opted_out else None,
                               unreachable=person.unreachable,
                               unreachable_reason="blocked the bot"
                               if person.unreachable else None)],
            consents=[ConsentRecord(person.pid, consent_version, "given", joined)]))
    await store.set_cohort_targets({"north": 35, "wales": 35, "south": 30})

    ledger: list[LedgerEntry] = []
    for rid, label, answers, offset in (("r1", "baseline", BASELINE, 60),
                                        ("r2", "end", END, 5)):
        at = now - dt.timedelta(days=offset)
        item = Round(id=rid, flow_id="ons4", audience="all", created_at=at, start_at=at,
                     status="closed", label=label, started_at=at,
                     closed_at=at + dt.timedelta(days=7), created_by=EMAIL)
        await store.round_add(item)
        stored = await store.round_get(rid)
        assert stored is not None
        targets = [RoundTarget(rid, p.pid, at, status="completed" if p.pid in answers
                               else "closed", sent_at=at,
                               completed_at=at + dt.timedelta(hours=3)
                               if p.pid in answers else None)
                   for p in PEOPLE if not p.opted_out and not p.unreachable]
        await store.round_plan(stored, targets)
        rows = [a for pid, v in answers.items() for a in _ons4(pid, rid, v,
                                                                at + dt.timedelta(hours=2))]
        await store.apply(Changes(answers=rows))
        ledger += [LedgerEntry(pid, at + dt.timedelta(hours=3), 500, key=f"seed:{rid}:{pid}",
                               flow_id="ons4", round_id=rid,
                               payable=pid != "p06") for pid in answers]
    await store.apply(Changes(ledger=ledger))

    v1 = Finding(id="F1", title="Being poor costs more",
                 text="People on prepayment meters pay more for the same energy.",
                 created_at=now - dt.timedelta(days=30), lineage="F1", version=1,
                 created_by=EMAIL)
    await store.finding_add(v1)
    at = now - dt.timedelta(days=28)
    endorse = Round(id="r3", flow_id="endorsement", audience="all", created_at=at,
                    start_at=at, status="closed", finding_id="F1", started_at=at,
                    vars={"finding_id": "F1", "finding_title": v1.title,
                          "finding_text": v1.text}, created_by=EMAIL)
    await store.round_add(endorse)
    rows = []
    for pid, view, words, credit in V1_RESPONSES:
        for node, field, value in (("view", "endorse", view), ("comment", "amendment", words),
                                   ("credit", "credit", credit)):
            rows.append(AnswerRow(pid, f"s-r3-{pid}", "endorsement", "seed", node, field,
                                  value or None, value, at, round_id="r3",
                                  skipped=not value))
    await store.apply(Changes(answers=rows))
    await store.finding_add(Finding(
        id="F1.2", title="Being poor costs more",
        text="People on low incomes who use prepayment meters pay more for the same energy: "
             "higher unit rates, standing charges even when the meter is off, and fees to "
             "top up.",
        created_at=now - dt.timedelta(days=20), lineage="F1", version=2, replaces="F1",
        changes="Said 'people on low incomes'; added standing charges and top-up fees.",
        created_by=EMAIL))
