"""The store contract for the coordinators' inbox (``bot/store/attention.py``), run
against every store with the contract suite's own ``store`` fixture."""

from __future__ import annotations

from datetime import timedelta

from bot.store.attention import EVENT, AttentionItem
from bot.store.base import Store
from bot.store.records import Changes, EventRow, OutboxItem
from tests import test_store_contract as contract
from tests.test_store_contract import T0, address, person

store = contract.store  # the contract suite's fixture: every store implementation

MIN = timedelta(minutes=1)


def alert(text: str, about: str = "p1") -> OutboxItem:
    return OutboxItem(participant_id="", address="telegram:999", channel="telegram",
                      payload={"text": text, "about": about}, created_at=T0, not_before=T0)


async def flagged(store: Store, text: str = "no way out", pid: str = "p1") -> EventRow:
    event = EventRow(pid, None, EVENT, {"kind": "distress", "channel": "sms", "text": text}, T0)
    other = EventRow(pid, None, "KeywordReceived", {"word": "help"}, T0)
    await store.apply(Changes(participant=person(pid), addresses=[address(pid=pid,
                              addr=f"tel:+4477009000{len(pid):02d}")], events=[other, event]))
    return event


def item_of(event: EventRow, escalate_after: timedelta | None = 2 * 60 * MIN) -> AttentionItem:
    assert event.id is not None and event.participant_id is not None
    return AttentionItem(participant_id=event.participant_id, kind="distress", channel="sms",
                         text=event.payload["text"], created_at=T0, event_id=event.id,
                         escalate_at=T0 + escalate_after if escalate_after else None)


async def test_new_events_are_opened_once_with_their_alerts(store: Store) -> None:
    event = await flagged(store)
    assert [e.id for e in await store.attention_new_events()] == [event.id]
    item = item_of(event)
    assert await store.attention_open(item, lambda it: [alert(f"#{it.id} no way out")])
    assert item.id is not None
    assert await store.attention_new_events() == []
    assert not await store.attention_open(item_of(event), lambda it: [alert("again")])
    sent = [o.payload["text"] for o in await store.outbox_all()]
    assert sent == [f"#{item.id} no way out"]
    got = await store.attention_get(item.id)
    assert got is not None and (got.text, got.status, got.escalate_at) == (
        "no way out", "open", T0 + 120 * MIN)
    assert await store.attention_count() == 1


async def test_ack_first_wins_and_done_closes(store: Store) -> None:
    item = item_of(await flagged(store))
    await store.attention_open(item, lambda it: [])
    assert item.id is not None
    assert await store.attention_ack(item.id, "ana", T0 + MIN)
    assert not await store.attention_ack(item.id, "bo", T0 + 2 * MIN)
    got = await store.attention_get(item.id)
    assert got is not None and (got.acked_by, got.acked_at, got.status) == (
        "ana", T0 + MIN, "acknowledged")
    assert await store.attention_done(item.id, "bo", T0 + 3 * MIN)
    assert not await store.attention_done(item.id, "bo", T0 + 4 * MIN)
    assert [i.status for i in await store.attention_list(participant_id="p1")] == ["done"]
    assert await store.attention_count() == 0


async def test_escalation_is_due_once_and_never_after_ack(store: Store) -> None:
    first = item_of(await flagged(store, pid="p1"))
    second = item_of(await flagged(store, pid="p22"))
    for it in (first, second):
        await store.attention_open(it, lambda _: [])
    assert first.id is not None and second.id is not None
    assert await store.attention_escalations_due(T0 + 119 * MIN) == []
    await store.attention_ack(first.id, "ana", T0 + 5 * MIN)
    due = await store.attention_escalations_due(T0 + 121 * MIN)
    assert [i.id for i in due] == [second.id]
    assert await store.attention_escalate(second.id, [alert("escalated", "p22")],
                                          T0 + 121 * MIN)
    assert not await store.attention_escalate(second.id, [alert("twice", "p22")],
                                              T0 + 122 * MIN)
    assert not await store.attention_escalate(first.id, [alert("acked")], T0 + 122 * MIN)
    assert await store.attention_escalations_due(T0 + 200 * MIN) == []
    assert [o.payload["text"] for o in await store.outbox_all()] == ["escalated"]


async def test_erasure_blanks_the_words_in_items_and_alerts(store: Store) -> None:
    item = item_of(await flagged(store, "there is no way out"))
    await store.attention_open(item, lambda it: [alert("“there is no way out”")])
    await store.attention_open(item_of(await flagged(store, "mine", pid="p22")),
                               lambda it: [alert("mine", about="p22")])
    await store.erase_participant("p1", T0 + MIN)
    texts = {i.participant_id: i.text for i in await store.attention_list()}
    assert texts == {"p1": "", "p22": "mine"}
    rows = await store.outbox_all()
    assert [(r.payload.get("text"), r.status) for r in rows] == [
        (None, "cancelled"), ("mine", "pending")]
