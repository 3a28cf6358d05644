"""Erasure, table by table (``bot/store/erasure.py``), the same in every store: round
targets' addresses, SMS part records, ledger notes and audit text go; a replayed inbox
key is still refused; the goodbye and the erasure commit together (issue 12, finding 4)."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.clock import ManualClock
from bot.store.base import Store
from bot.store.postgres import PostgresStore
from bot.store.records import Changes, OutboxItem
from bot.store.round_records import AuditEntry, LedgerEntry, Round, RoundTarget
from bot.store.rounds_base import StaleWrite
from bot.store.sms import SmsPart
from bot.store.sqlite import SqliteStore
from tests.test_store_contract import T0, enrol, inbox, outbox

PHONE = "tel:+447700900001"


@pytest.fixture(params=["sqlite", "postgres"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    clock = ManualClock(T0 + timedelta(days=1))
    s: Store
    if request.param == "postgres":
        s = PostgresStore(request.getfixturevalue("pg_url"), clock=clock)
    else:
        s = SqliteStore(tmp_path / "parley.db", clock=clock)
    await s.open()
    yield s
    await s.close()


async def test_round_targets_lose_the_address_and_a_stale_copy_cannot_restore_it(
        store: Store) -> None:
    await enrol(store, "p1", PHONE)
    r = Round("r1", "ons4", "all", T0, T0)
    await store.round_add(r)
    await store.round_plan(r, [RoundTarget("r1", "p1", T0, channel="sms", address=PHONE,
                                           vars={"name": "Ada"})])
    held = await store.target_get("r1", "p1")  # as the scheduler would hold it
    assert held is not None and held.address == PHONE
    await store.erase_participant("p1", T0 + timedelta(minutes=5))
    after = await store.target_get("r1", "p1")
    assert after is not None and after.address is None and after.vars == {}
    with pytest.raises(StaleWrite):
        await store.apply(Changes(targets=[dataclasses.replace(held, status="sent")]))
    again = await store.target_get("r1", "p1")
    assert again is not None and again.address is None


async def test_sms_parts_ledger_notes_and_audit_text_go(store: Store) -> None:
    await enrol(store, "p1", PHONE)
    queued = outbox()
    await store.apply(Changes(outbox=[queued], ledger=[
        LedgerEntry("p1", T0, 250, kind="adjustment", key="adj1", note="bus fare for Ada")]))
    assert queued.id is not None
    await store.sms_part_add(SmsPart("SM1", queued.id, 1, 1, 1, "sent", T0, T0))
    await store.sms_status_record("SM1", "delivered", None, T0)
    await store.audit_add(AuditEntry(T0, "sam", "credits.adjust", "p1",
                                     {"note": "bus fare for Ada"}))
    await store.audit_add(AuditEntry(T0, "sam", "credits.adjust", "p2", {"note": "other"}))
    await store.erase_participant("p1", T0 + timedelta(minutes=5))
    assert await store.sms_parts_of(queued.id) == []
    assert await store.sms_status_history(queued.id) == []
    (entry,) = await store.ledger(participant_id="p1")
    assert entry.note == "" and entry.amount == 250  # the amount stays for the totals
    details = {e.subject: e.detail for e in await store.audit_log()}
    assert details == {"p1": {}, "p2": {"note": "other"}}


async def test_a_replay_after_erasure_is_still_a_duplicate(store: Store) -> None:
    await enrol(store, "p1", "telegram:42")
    assert await store.inbox_put(inbox("5:42:3", addr="telegram:42")) is True
    await store.erase_participant("p1", T0 + timedelta(minutes=5))
    assert await store.inbox_pending() == []  # not processed for a person now erased
    assert await store.inbox_put(inbox("5:42:3", addr="telegram:42")) is False
    assert await store.inbox_put(inbox("6:42:4", addr="telegram:42")) is True


async def test_goodbye_and_erasure_commit_together(store: Store) -> None:
    await enrol(store, "p1", PHONE)
    goodbye = OutboxItem(participant_id="", address=PHONE, channel="sms",
                         payload={"text": "Your data is deleted."}, created_at=T0,
                         not_before=T0)
    with pytest.raises(KeyError):  # an unknown person: nothing of the unit is kept
        await store.apply(Changes(outbox=[goodbye], erase=("nobody", T0)))
    assert await store.outbox_due("sms", T0 + timedelta(hours=1), 10) == []
    await store.apply(Changes(outbox=[dataclasses.replace(goodbye)], erase=("p1", T0)))
    (due,) = await store.outbox_due("sms", T0 + timedelta(hours=1), 10)
    assert due.payload["text"] == "Your data is deleted."
    person = await store.get_participant("p1")
    assert person is not None and person.status == "erased"
