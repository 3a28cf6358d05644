"""One contract suite for every Store implementation (SqliteStore; a PostgreSQL store joins
the ``store`` fixture's parameters), plus
the SQLite-only guarantees: durability across reopen, migrations, erasure really
removing bytes from the file, and lock reporting."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from bot.clock import ManualClock
from bot.engine.session import Session
from bot.errors import AlreadyProcessed, ConfigError, StoreError
from bot.store import open_store
from bot.store import sqlite_schema as schema_module
from bot.store.base import Store
from bot.store.postgres import PostgresStore
from bot.store.records import (
    Address,
    AnswerRow,
    Changes,
    Channel,
    ConsentRecord,
    EventRow,
    InboxItem,
    Invite,
    OutboxItem,
    Participant,
    QueuedFlow,
    Timer,
)
from bot.store.scratch import ScratchStore
from bot.store.sqlite import SqliteStore

ALL_MIGRATIONS = [number for number, _, _ in schema_module._migrations()]

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)

TRICKY = [
    "Hello 👋🏽 — café",
    "\u202eevil right-to-left override\u202c and \u200f RLM",
    "zero\u200dwidth\u200bjoiner \ufeff BOM",
    "e\u0301 combining a\u0308 marks Z\u0335\u0321a\u0337l\u0336g\u0334o",
    "x" * 1999 + "é",
    "'); DROP TABLE answers;--",
    "{{ 7*7 }} {% raw %} ${jndi:ldap://x}",
    "  leading and trailing  \n\t\r\n",
    "nul \x00 inside",
    "Ω≈ç√∫ 田中さん 👨‍👩‍👧‍👦 مرحبا",
]


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


# -- builders ----------------------------------------------------------------------------

def person(pid: str = "p1", *, at: datetime = T0, **kw: Any) -> Participant:
    return Participant(id=pid, created_at=at, **kw)


def address(addr: str = "tel:+447700900001", pid: str = "p1", **kw: Any) -> Address:
    channel: Channel = "telegram" if addr.startswith("telegram:") else "sms"
    return Address(address=addr, participant_id=pid, channel=channel, created_at=T0, **kw)


def session(sid: str = "s1", pid: str = "p1", status: str = "waiting", **kw: Any) -> Session:
    values: dict[str, Any] = dict(id=sid, participant_id=pid, flow_id="ons4", flow_version="v1",
                                  node="q1", status=status, locale="en", started_at=T0,
                                  updated_at=T0)
    values.update(kw)
    return Session(**values)


def answer(pid: str = "p1", *, raw: str | None = "7", value: Any = 7, flow: str = "ons4",
           round_id: str | None = None, sid: str = "s1") -> AnswerRow:
    return AnswerRow(participant_id=pid, session_id=sid, flow_id=flow, flow_version="v1",
                     node="q1", field="life_satisfaction", value=value, raw=raw, at=T0,
                     round_id=round_id)


def outbox(pid: str = "p1", *, channel: Channel = "sms", created: datetime = T0,
           not_before: datetime = T0, to: str = "tel:+447700900001", **kw: Any) -> OutboxItem:
    return OutboxItem(participant_id=pid, address=to, channel=channel,
                      payload={"text": "How are you?", "kind": "question"},
                      created_at=created, not_before=not_before, **kw)


def inbox(key: str, *, channel: Channel = "telegram", addr: str = "telegram:42") -> InboxItem:
    return InboxItem(channel=channel, dedupe_key=key, address=addr,
                     payload={"text": f"msg {key}"}, received_at=T0)


async def enrol(store: Store, pid: str = "p1", addr: str = "tel:+447700900001") -> None:
    await store.apply(Changes(participant=person(pid), addresses=[address(addr, pid)]))


# -- participants and addresses ----------------------------------------------------------

async def test_participant_and_addresses_upsert_and_lookup(store: Store) -> None:
    p = person(name="Ada", tags=("carer", "north"), profile={"age": 34, "ok": True},
               timezone="Europe/London", preferred_channel="sms")
    await store.apply(Changes(participant=p, addresses=[
        address("tel:+447700900001"), address("telegram:42")]))

    assert await store.get_participant("p1") == p
    assert await store.get_participant("nobody") is None
    assert (await store.participant_for_address("telegram:42")) == p
    assert await store.participant_for_address("telegram:43") is None
    assert [a.address for a in await store.addresses_of("p1")] == [
        "tel:+447700900001", "telegram:42"]

    # upsert: same ids, new values
    changed = dataclasses.replace(p, status="consented", name="Ada L.", pathway_done=True)
    opted = address("tel:+447700900001", opted_out=True, opted_out_at=T0 + MIN)
    await store.apply(Changes(participant=changed, addresses=[opted]))
    assert await store.get_participant("p1") == changed
    assert await store.get_address("tel:+447700900001") == opted
    assert len(await store.addresses_of("p1")) == 2
    # an inbound message reads both in one go: the same rows as the two reads
    assert await store.contact_of("tel:+447700900001") == (changed, opted)
    assert await store.contact_of("telegram:43") is None


async def test_address_can_move_to_another_participant(store: Store) -> None:
    await enrol(store, "p1", "telegram:42")
    await store.apply(Changes(participant=person("p2"), addresses=[address("telegram:42", "p2")]))
    assert (await store.participant_for_address("telegram:42")).id == "p2"  # type: ignore[union-attr]
    assert await store.addresses_of("p1") == []


async def test_list_participants_oldest_first(store: Store) -> None:
    await store.apply(Changes(participant=person("late", at=T0 + MIN)))
    await store.apply(Changes(participant=person("early", at=T0)))
    await store.apply(Changes(participant=person("tie", at=T0)))
    assert [p.id for p in await store.list_participants()] == ["early", "tie", "late"]


async def test_datetimes_come_back_aware_utc(store: Store) -> None:
    plus2 = timezone(timedelta(hours=2))
    await store.apply(Changes(participant=person(at=datetime(2026, 1, 5, 11, 0, tzinfo=plus2))))
    got = await store.get_participant("p1")
    assert got is not None
    assert got.created_at == T0 and got.created_at.utcoffset() == timedelta(0)


async def test_naive_datetime_is_refused_and_nothing_kept(store: Store) -> None:
    with pytest.raises(ValueError, match="naive"):
        await store.apply(Changes(participant=person(at=datetime(2026, 1, 5, 9, 0))))
    assert await store.get_participant("p1") is None


# -- apply: atomic, ids ------------------------------------------------------------------

async def test_apply_assigns_ids(store: Store) -> None:
    await enrol(store)
    a1, a2 = answer(), answer(raw="8", value=8)
    ev = EventRow("p1", "s1", "AnswerRecorded", {"field": "x"}, T0)
    ob = outbox()
    q = QueuedFlow("p1", "weekly", {"round": "r1"}, T0)
    tm = Timer("s1", "p1", "q1", 1, T0 + MIN)
    await store.apply(Changes(session=session(), answers=[a1, a2], events=[ev], outbox=[ob],
                              queue_push=[q], timers_set=[tm]))
    assert a1.id is not None and a2.id is not None and a2.id > a1.id
    assert [a.id for a in await store.answers()] == [a1.id, a2.id]
    assert ev.id == (await store.events())[0].id
    assert ob.id == (await store.outbox_of("p1"))[0].id
    assert q.id == (await store.queued_flows("p1"))[0].id
    assert tm.id == (await store.timers_of("s1"))[0].id


async def test_apply_is_all_or_nothing_on_unserialisable_value(store: Store) -> None:
    await enrol(store)
    bad = outbox()
    bad.payload = {"text": object()}
    good_answer = answer()
    with pytest.raises(TypeError):
        await store.apply(Changes(participant=person(name="changed"), session=session(),
                                  answers=[good_answer], outbox=[bad]))
    assert await store.get_session("s1") is None
    assert await store.answers() == []
    assert await store.outbox_of("p1") == []
    assert (await store.get_participant("p1")).name is None  # type: ignore[union-attr]
    assert good_answer.id is None  # ids only once committed


async def test_apply_is_all_or_nothing_on_constraint_failure(store: Store) -> None:
    await enrol(store)
    ev = EventRow("p1", "s1", "x", {}, T0)
    with pytest.raises(StoreError):
        await store.apply(Changes(session=session(), answers=[answer()], events=[ev],
                                  timers_set=[Timer("s1", "p1", "q1", 1, T0)],
                                  addresses=[address("telegram:9", "ghost")]))
    assert await store.get_session("s1") is None
    assert await store.answers() == [] and await store.events() == []
    assert await store.timers_of("s1") == []
    assert await store.get_address("telegram:9") is None
    assert ev.id is None
    # the store is still usable afterwards
    await store.apply(Changes(session=session()))
    assert await store.get_session("s1") == session()


async def test_apply_refuses_rows_that_already_have_ids(store: Store) -> None:
    await enrol(store)
    a = answer()
    await store.apply(Changes(answers=[a]))
    with pytest.raises(ValueError, match="already has id"):
        await store.apply(Changes(session=session(), answers=[a]))
    assert await store.get_session("s1") is None
    assert len(await store.answers()) == 1


async def test_stored_state_is_not_shared_with_callers(store: Store) -> None:
    s = session(fields={"a": 1}, vars={"v": "x"})
    p = person(profile={"k": "v"})
    ob = outbox()
    await store.apply(Changes(participant=p, session=s, outbox=[ob]))
    s.fields["a"] = 2
    p.profile["k"] = "changed"
    ob.payload["text"] = "changed"
    got = await store.get_session("s1")
    assert got is not None and got.fields == {"a": 1}
    got.fields["a"] = 3
    assert (await store.get_session("s1")).fields == {"a": 1}  # type: ignore[union-attr]
    assert (await store.get_participant("p1")).profile == {"k": "v"}  # type: ignore[union-attr]
    assert (await store.outbox_of("p1"))[0].payload["text"] == "How are you?"


# -- sessions ----------------------------------------------------------------------------

async def test_session_round_trip_and_active_session(store: Store) -> None:
    await enrol(store)
    s = session(fields={"n": 3, "f": 2.5, "b": False, "t": "text", "none": None},
                vars={"round": "r1"}, asked=4, retries=1, round_id="r1")
    await store.apply(Changes(session=s))
    assert await store.get_session("s1") == s
    assert await store.active_session("p1") == s

    for status in ("active", "waiting"):
        moved = dataclasses.replace(s, status=status, updated_at=T0 + MIN)
        await store.apply(Changes(session=moved))
        assert await store.active_session("p1") == moved
    for status in ("completed", "expired", "stopped"):
        await store.apply(Changes(session=s.evolve(status=status)))
        assert await store.active_session("p1") is None
    assert await store.active_session("nobody") is None

    s2 = session("s2", status="active", started_at=T0 + MIN)
    await store.apply(Changes(session=s2))
    assert await store.active_session("p1") == s2
    assert [x.id for x in await store.sessions_of("p1")] == ["s1", "s2"]
    assert await store.sessions_of("p2") == []


async def test_apply_upserts_more_sessions_in_order(store: Store) -> None:
    await enrol(store)
    ended = session("s1", status="completed")
    started = session("s2", status="active", started_at=T0 + MIN)
    twice = session("s3", status="active", node="first")
    await store.apply(Changes(session=ended, more_sessions=[
        started, twice, twice.evolve(node="second", status="waiting")]))
    assert await store.get_session("s1") == ended
    assert await store.get_session("s2") == started
    assert (await store.get_session("s3")).node == "second"  # type: ignore[union-attr]
    assert await store.active_session("p1") in (started, twice.evolve(node="second",
                                                                      status="waiting"))
    bad = outbox()
    bad.payload = {"x": object()}
    with pytest.raises(TypeError):
        await store.apply(Changes(more_sessions=[session("s4")], outbox=[bad]))
    assert await store.get_session("s4") is None


# -- flow versions -----------------------------------------------------------------------

async def test_flow_sources_are_idempotent(store: Store) -> None:
    await store.save_flow_source("ons4", "v1", "id = 'ons4'  # ✓")
    await store.save_flow_source("ons4", "v1", "id = 'ons4'  # ✓")
    await store.save_flow_source("ons4", "v1", "a different text")
    await store.save_flow_source("ons4", "v2", "v2 text")
    assert await store.flow_source("ons4", "v1") == "id = 'ons4'  # ✓"
    assert await store.flow_source("ons4", "v2") == "v2 text"
    assert await store.flow_source("ons4", "v3") is None


# -- answers, events, consents -----------------------------------------------------------

async def test_answers_filter_by_participant_flow_and_round(store: Store) -> None:
    await enrol(store, "p1")
    await enrol(store, "p2", "telegram:2")
    await store.apply(Changes(answers=[
        answer("p1", flow="ons4", round_id="r1"), answer("p1", flow="intro", value="yes"),
        answer("p2", flow="ons4", round_id="r1", value=1.5),
        answer("p2", flow="ons4", round_id="r2", value=True)]))
    assert len(await store.answers()) == 4
    assert [a.flow_id for a in await store.answers(participant_id="p1")] == ["ons4", "intro"]
    assert [a.participant_id for a in await store.answers(flow_id="ons4")] == ["p1", "p2", "p2"]
    assert [a.participant_id for a in await store.answers(round_id="r1")] == ["p1", "p2"]
    assert [a.value for a in await store.answers(participant_id="p2", flow_id="ons4",
                                                  round_id="r2")] == [True]
    values = [a.value for a in await store.answers()]
    assert values == [7, "yes", 1.5, True]
    assert [type(v) for v in values] == [int, str, float, bool]


async def test_events_and_consents(store: Store) -> None:
    await enrol(store)
    await store.apply(Changes(
        events=[EventRow("p1", "s1", "FlowStarted", {"flow": "ons4"}, T0),
                EventRow(None, None, "RoundStarted", {"round": "r1", "n": [1, 2]}, T0 + MIN),
                EventRow("p1", "s1", "FlowCompleted", {}, T0 + 2 * MIN)],
        consents=[ConsentRecord("p1", "c1", "given", T0),
                  ConsentRecord("p1", "c2", "withdrawn", T0 + MIN)]))
    assert [e.name for e in await store.events(participant_id="p1")] == [
        "FlowStarted", "FlowCompleted"]
    (round_started,) = await store.events(name="RoundStarted")
    assert round_started.payload == {"round": "r1", "n": [1, 2]}
    assert round_started.participant_id is None
    assert await store.events(participant_id="p1", name="RoundStarted") == []
    assert [c.decision for c in await store.consents_of("p1")] == ["given", "withdrawn"]
    assert await store.consents_of("p2") == []


# -- inbox -------------------------------------------------------------------------------

async def test_inbox_dedupe_and_pending_order(store: Store) -> None:
    first = inbox("100")
    assert await store.inbox_put(first) is True
    assert first.id is not None
    again = inbox("100")
    assert await store.inbox_put(again) is False
    assert again.id is None
    assert await store.inbox_put(first) is False  # the same object again
    assert await store.inbox_put(inbox("100", channel="sms", addr="tel:+447700900001")) is True
    assert await store.inbox_put(inbox("99")) is True  # arrival order, not key order
    pending = await store.inbox_pending()
    assert [(i.channel, i.dedupe_key) for i in pending] == [
        ("telegram", "100"), ("sms", "100"), ("telegram", "99")]
    assert pending[0].payload == {"text": "msg 100"}
    assert [i.dedupe_key for i in await store.inbox_pending(limit=1)] == ["100"]

    await store.inbox_mark(pending[1].id, "failed", T0 + MIN)  # type: ignore[arg-type]
    assert [i.dedupe_key for i in await store.inbox_pending()] == ["100", "99"]


async def test_inbox_done_through_apply(store: Store) -> None:
    item = inbox("1")
    await store.inbox_put(item)
    assert item.id is not None
    await store.apply(Changes(events=[EventRow(None, None, "a", {}, T0 + MIN),
                                      EventRow(None, None, "b", {}, T0 + 5 * MIN)],
                              inbox_done=[item.id]))
    assert await store.inbox_pending() == []
    other = inbox("2")
    await store.inbox_put(other)
    assert other.id is not None
    await store.apply(Changes(inbox_done=[other.id]))  # no events: the store's clock
    assert await store.inbox_pending() == []
    # a duplicate delivered after processing is still refused
    assert await store.inbox_put(inbox("1")) is False


async def test_a_message_processed_twice_is_refused_whole(store: Store) -> None:
    """A second run over the same inbox row (a sweep racing the first run) must not
    queue a second reply or store a second answer: the store refuses the unit whole."""
    item = inbox("7")
    await store.inbox_put(item)
    assert item.id is not None
    await store.apply(Changes(outbox=[outbox(pid="")], inbox_done=[item.id]))
    with pytest.raises(AlreadyProcessed) as refused:
        await store.apply(Changes(outbox=[outbox(pid="")],
                                  events=[EventRow(None, None, "again", {}, T0 + MIN)],
                                  inbox_done=[item.id]))
    assert refused.value.inbox_id == item.id
    assert len(await store.outbox_all()) == 1
    failed = inbox("8")
    await store.inbox_put(failed)
    assert failed.id is not None
    await store.inbox_mark(failed.id, "failed", T0 + MIN)
    with pytest.raises(AlreadyProcessed):
        await store.apply(Changes(outbox=[outbox(pid="")], inbox_done=[failed.id]))
    assert len(await store.outbox_all()) == 1


# -- outbox ------------------------------------------------------------------------------

async def test_outbox_due_respects_times_status_and_channel(store: Store) -> None:
    now = T0 + 10 * MIN
    rows = {
        "due_old": outbox(created=T0),
        "due_new": outbox(created=T0 + MIN, not_before=now),
        "later": outbox(not_before=now + MIN),
        "retry_due": outbox(created=T0 + 2 * MIN, status="retry", next_attempt_at=now),
        # open rows to other addresses (one to the same would hold the later ones back)
        "retry_later": outbox(status="retry", next_attempt_at=now + MIN,
                              to="tel:+447700900002"),
        "sent": outbox(status="sent"),
        "sending": outbox(status="sending", to="tel:+447700900003"),
        "ambiguous": outbox(status="ambiguous"),
        "telegram": outbox(channel="telegram"),
    }
    await store.apply(Changes(outbox=list(rows.values())))
    due = await store.outbox_due("sms", now, limit=10)
    names = {item.id: name for name, item in rows.items()}
    assert [names[d.id] for d in due] == ["due_old", "due_new", "retry_due"]
    assert len(await store.outbox_due("sms", now, limit=2)) == 2
    assert [names[d.id] for d in await store.outbox_due("telegram", now, 10)] == ["telegram"]
    assert await store.outbox_due("sms", T0 - MIN, 10) == []
    # the cheap form a sender reads often: the same rows, the same order, only ids
    assert await store.outbox_due_ids("sms", now, 10) == [d.id for d in due]
    assert await store.outbox_due_ids("sms", now, 2) == [d.id for d in due[:2]]
    wanted = [rows["retry_due"].id, 99_999, rows["sent"].id, rows["due_old"].id]
    got = await store.outbox_rows([i for i in wanted if i is not None])
    assert [names[g.id] for g in got] == ["retry_due", "sent", "due_old"]  # missing: left out
    assert got[0].payload == rows["retry_due"].payload and got[0].status == "retry"


async def test_outbox_due_keeps_each_addresses_order_behind_open_rows(store: Store) -> None:
    now = T0 + 10 * MIN
    a, b, c = "tel:+447700900011", "tel:+447700900012", "tel:+447700900013"
    rows = {
        "a_retry": outbox(to=a, status="retry", next_attempt_at=now + MIN),
        "a_next": outbox(to=a, created=T0 + MIN),          # waits for a_retry
        "a_older": outbox(to=a, created=T0 - MIN),         # queued before it: free
        "b_sending": outbox(to=b, status="sending"),
        "b_next": outbox(to=b, created=T0 + MIN),          # waits for b_sending
        "c_failed": outbox(to=c, status="failed"),
        "c_next": outbox(to=c, created=T0 + MIN),          # a failed row holds nothing
        "other_channel": outbox(to=a, channel="telegram", created=T0 + MIN),
    }
    await store.apply(Changes(outbox=list(rows.values())))
    names = {item.id: name for name, item in rows.items()}
    assert [names[i] for i in await store.outbox_due_ids("sms", now, 10)] == [
        "a_older", "c_next"]
    assert [names[i] for i in await store.outbox_due_ids("telegram", now, 10)] == [
        "other_channel"]
    assert [names[d.id] for d in await store.outbox_due("sms", now + 2 * MIN, 10)] == [
        "a_older", "a_retry", "c_next"]
    rows["a_retry"].status = "sent"
    await store.outbox_update(rows["a_retry"])
    assert [names[i] for i in await store.outbox_due_ids("sms", now, 10)] == [
        "a_older", "a_next", "c_next"]


async def test_outbox_resends_are_recorded_once_and_last_inbound_is_known(
        store: Store) -> None:
    a, b = outbox(), outbox()
    await store.apply(Changes(outbox=[a, b]))
    assert a.id is not None and b.id is not None
    assert await store.outbox_resent([a.id, b.id]) == set()
    assert await store.outbox_resend_add(a.id, T0) is True
    assert await store.outbox_resend_add(a.id, T0 + MIN) is False  # never twice
    assert await store.outbox_resent([a.id, b.id, 12345]) == {a.id}
    assert await store.inbox_last_received("telegram:42") is None
    first, later = inbox("u1"), inbox("u2")
    later.received_at = T0 + 5 * MIN
    for item in (first, later, inbox("u3", addr="telegram:43")):
        assert await store.inbox_put(item)
    assert await store.inbox_last_received("telegram:42") == T0 + 5 * MIN
    assert first.id is not None and later.id is not None
    assert [i.dedupe_key for i in await store.inbox_pending_before("telegram:42", later.id)] \
        == ["u1"]
    await store.inbox_mark(first.id, "done", T0)
    assert await store.inbox_pending_before("telegram:42", later.id) == []
    assert await store.inbox_pending_before("telegram:42", first.id) == []


async def test_outbox_update_lookup_and_filters(store: Store) -> None:
    a, b = outbox(round_id="r1"), outbox(round_id="r2")
    await store.apply(Changes(outbox=[a, b]))
    a.status, a.attempts, a.provider_id = "sent", 1, "SM123"
    a.delivery_status, a.segments, a.sent_at = "queued", 2, T0 + MIN
    a.last_error, a.next_attempt_at = "was slow", T0 + 2 * MIN
    a.payload = {"text": "ignored: payload is not written back"}
    await store.outbox_update(a)
    got = await store.outbox_by_provider_id("SM123")
    assert got is not None
    assert got.id == a.id and got.status == "sent" and got.segments == 2
    assert got.sent_at == T0 + MIN and got.delivery_status == "queued"
    assert got.last_error == "was slow" and got.next_attempt_at == T0 + 2 * MIN
    assert got.payload == {"text": "How are you?", "kind": "question"}
    assert await store.outbox_by_provider_id("nope") is None
    assert [o.id for o in await store.outbox_all(round_id="r1")] == [a.id]
    assert [o.id for o in await store.outbox_all(status="pending")] == [b.id]
    assert [o.id for o in await store.outbox_all(round_id="r2", status="pending")] == [b.id]
    assert [o.id for o in await store.outbox_all()] == [a.id, b.id]
    missing = outbox()
    missing.id = 9999
    with pytest.raises(KeyError):
        await store.outbox_update(missing)


async def test_outbox_recover_marks_sending_ambiguous(store: Store) -> None:
    rows = [outbox(status="sending"), outbox(status="sending"), outbox(status="sent"),
            outbox()]
    await store.apply(Changes(outbox=rows))
    assert await store.outbox_recover(T0) == 2
    assert [o.status for o in await store.outbox_of("p1")] == [
        "ambiguous", "ambiguous", "sent", "pending"]
    assert await store.outbox_recover(T0) == 0


async def test_an_invite_use_is_counted_with_the_unit_that_made_it(store: Store) -> None:
    """A personal link is single-use: its use must be counted in the same commit as the
    enrolment, so a unit that fails leaves the link usable."""
    await store.create_invites([Invite(code="abc123", created_at=T0, cohort="c1")])
    item = inbox("9")
    await store.inbox_put(item)
    assert item.id is not None
    await store.apply(Changes(inbox_done=[item.id]))
    with pytest.raises(AlreadyProcessed):  # a refused unit: nothing in it counts
        await store.apply(Changes(invites_used=["abc123"], inbox_done=[item.id]))
    invite = await store.get_invite("abc123")
    assert invite is not None and invite.uses == 0 and invite.used_at is None
    await store.apply(Changes(invites_used=["abc123"]))
    invite = await store.get_invite("abc123")
    assert invite is not None and invite.uses == 1 and invite.used_at is not None


async def test_mark_sending_only_takes_rows_still_due(store: Store) -> None:
    """A sender working from a list read a moment ago: a row cancelled, sent or erased
    since is not marked, not returned, and so never sent."""
    rows = [outbox(), outbox(status="retry", attempts=2), outbox(), outbox(), outbox()]
    participant = Participant(id="p1", created_at=T0, locale="en")
    await store.apply(Changes(participant=participant, outbox=rows))
    stale = [dataclasses.replace(r) for r in rows]
    rows[2].status = "cancelled"
    await store.outbox_update(rows[2])
    rows[3].status = "sent"
    await store.outbox_update(rows[3])
    gone = dataclasses.replace(rows[0], id=9999)  # a row erased since it was read
    marked = await store.outbox_mark_sending([*stale, gone])
    assert [m.id for m in marked] == [rows[0].id, rows[1].id, rows[4].id]
    assert [(m.status, m.attempts) for m in marked] == [("sending", 1), ("sending", 3),
                                                        ("sending", 1)]
    assert [o.status for o in await store.outbox_of("p1")] == [
        "sending", "sending", "cancelled", "sent", "sending"]
    assert stale[2].status == "pending"  # what was not marked is left as it was
    assert await store.outbox_mark_sending(marked) == []  # already sending: not again


# -- queued flows and timers -------------------------------------------------------------

async def test_queued_flows_push_and_remove(store: Store) -> None:
    q1, q2 = QueuedFlow("p1", "a", {}, T0, "r1"), QueuedFlow("p1", "b", {"x": "y"}, T0 + MIN)
    await store.apply(Changes(queue_push=[q1, q2, QueuedFlow("p2", "c", {}, T0)]))
    assert [(q.flow_id, q.vars, q.round_id) for q in await store.queued_flows("p1")] == [
        ("a", {}, "r1"), ("b", {"x": "y"}, None)]
    assert q1.id is not None
    q3 = QueuedFlow("p1", "d", {}, T0)
    await store.apply(Changes(queue_remove=[q1.id], queue_push=[q3]))
    assert [q.flow_id for q in await store.queued_flows("p1")] == ["b", "d"]
    await store.apply(Changes(queue_remove=[12345]))  # unknown ids are ignored


async def test_timers_due_ordering_and_clearing(store: Store) -> None:
    t_late = Timer("s1", "p1", "q1", 1, T0 + 3 * MIN)
    t_early = Timer("s2", "p2", "q1", 1, T0 + MIN, kind="expiry")
    t_mid = Timer("s1", "p1", "q2", 2, T0 + 2 * MIN)
    t_future = Timer("s3", "p3", "q1", 1, T0 + 60 * MIN)
    await store.apply(Changes(timers_set=[t_late, t_early, t_mid, t_future]))
    due = await store.timers_due(T0 + 3 * MIN)
    assert [(t.session_id, t.node) for t in due] == [("s2", "q1"), ("s1", "q2"), ("s1", "q1")]
    assert due[0].kind == "expiry" and due[0] == t_early
    assert len(await store.timers_due(T0 + 3 * MIN, limit=1)) == 1
    assert await store.timers_due(T0) == []

    replacement = Timer("s1", "p1", "q3", 3, T0 + 4 * MIN)
    await store.apply(Changes(timers_clear_session=["s1"], timers_set=[replacement]))
    assert [t.node for t in await store.timers_of("s1")] == ["q3"]
    assert [t.session_id for t in await store.timers_due(T0 + 60 * MIN)] == ["s2", "s1", "s3"]


# -- text fidelity -----------------------------------------------------------------------

@pytest.mark.parametrize("text", TRICKY, ids=range(len(TRICKY)))
async def test_text_round_trips_exactly(store: Store, text: str) -> None:
    await store.apply(Changes(participant=person(name=text, profile={"note": text},
                                                 tags=(text,))))
    a = answer(raw=text, value=text)
    await store.apply(Changes(session=session(fields={"f": text}, vars={text: text}),
                              answers=[a], events=[EventRow("p1", "s1", "e", {"t": text}, T0)],
                              outbox=[dataclasses.replace(outbox(), payload={"text": text})]))
    (got,) = await store.answers()
    assert got.raw == text and got.value == text
    assert got.raw is not None and got.raw.encode("utf-8") == text.encode("utf-8")
    p = await store.get_participant("p1")
    # PostgreSQL's text cannot hold NUL: other free text keeps U+FFFD in its place
    plain = text.replace("\x00", "\ufffd") if isinstance(store, PostgresStore) else text
    assert p is not None and p.name == plain and p.profile == {"note": text}
    assert p.tags == (text,)
    s = await store.get_session("s1")
    assert s is not None and s.fields == {"f": text} and s.vars == {text: text}
    assert (await store.events())[0].payload == {"t": text}
    assert (await store.outbox_of("p1"))[0].payload == {"text": text}
    await store.set_meta("k", text)
    assert await store.get_meta("k") == plain
    assert len(await store.answers()) == 1  # the injection text did nothing


async def test_lone_surrogates_round_trip_in_raw_and_json(store: Store) -> None:
    text = "half a pair \ud83d then \udc4b"
    await store.apply(Changes(answers=[answer(raw=text, value=text)],
                              events=[EventRow(None, None, "e", {"t": text}, T0)]))
    (got,) = await store.answers()
    assert got.raw == text and got.value == text
    assert (await store.events())[0].payload == {"t": text}
    # a raw text that merely looks like the escaped form is not decoded
    looks_escaped = '"\\ud83d"'
    await store.apply(Changes(answers=[answer(raw=looks_escaped)]))
    assert (await store.answers())[1].raw == looks_escaped


# -- erasure -----------------------------------------------------------------------------

async def test_erase_participant_removes_personal_data(store: Store) -> None:
    secret = "my neighbour Sam hits me"
    p = person(name="Ada Lovelace", profile={"age": 34}, tags=("carer",), cohort="north",
               timezone="Europe/London", status="consented")
    await store.apply(Changes(participant=p, addresses=[address("tel:+447700900001"),
                                                         address("telegram:42")],
                              consents=[ConsentRecord("p1", "c1", "given", T0)]))
    await store.inbox_put(inbox("5", addr="telegram:42"))
    await store.inbox_put(inbox("6", addr="telegram:777"))  # someone else
    await store.apply(Changes(
        session=session(fields={"worry": secret}, vars={"name": "Ada"}),
        answers=[answer(raw=secret, value=secret, round_id="r1")],
        events=[EventRow("p1", "s1", "AnswerRecorded", {"raw": secret}, T0),
                EventRow(None, "s1", "Flagged", {"text": secret}, T0)],
        outbox=[dataclasses.replace(outbox(), payload={"text": f"You said: {secret}"}),
                dataclasses.replace(outbox(status="sent", last_error="+447700900001"),
                                    payload={"text": secret})],
        queue_push=[QueuedFlow("p1", "weekly", {"name": "Ada"}, T0)],
        timers_set=[Timer("s1", "p1", "q1", 1, T0 + MIN)]))
    await enrol(store, "p2", "tel:+447700900002")
    await store.apply(Changes(answers=[answer("p2", raw="other person's answer", sid="s9")]))

    await store.erase_participant("p1", T0 + 10 * MIN)

    erased = await store.get_participant("p1")
    assert erased is not None
    assert erased.status == "erased" and erased.erased_at == T0 + 10 * MIN
    assert (erased.name, erased.profile, erased.tags, erased.cohort, erased.timezone) == (
        None, {}, (), None, None)
    assert [x.id for x in await store.list_participants()] == ["p2"]
    assert await store.addresses_of("p1") == []
    assert await store.participant_for_address("telegram:42") is None
    assert await store.get_address("tel:+447700900001") is None
    (a,) = await store.answers(participant_id="p1")
    assert (a.value, a.raw, a.field, a.flow_id, a.round_id, a.at) == (
        None, None, "life_satisfaction", "ons4", "r1", T0)  # kept for counts
    assert [e.payload for e in await store.events()] == [{}, {}]
    assert [e.name for e in await store.events()] == ["AnswerRecorded", "Flagged"]
    rows = await store.outbox_of("p1")
    assert [(o.payload, o.address, o.last_error) for o in rows] == [({}, "", None)] * 2
    assert [o.status for o in rows] == ["cancelled", "sent"]
    assert await store.outbox_due("sms", T0 + 60 * MIN, 10) == []
    assert [i.dedupe_key for i in await store.inbox_pending()] == ["6"]
    # a replay of an erased person's message is refused: the key is kept, as a keyed hash
    assert await store.inbox_put(inbox("5", addr="telegram:42")) is False
    assert await store.queued_flows("p1") == []
    assert await store.timers_of("s1") == []
    s = await store.get_session("s1")
    assert s is not None and s.fields == {} and s.vars == {}
    assert [c.decision for c in await store.consents_of("p1")] == ["given"]
    # the other participant is untouched
    assert (await store.answers(participant_id="p2"))[0].raw == "other person's answer"
    assert await store.get_address("tel:+447700900002") is not None
    # erasing again is harmless and keeps the first erasure time
    await store.erase_participant("p1", T0 + 20 * MIN)
    assert (await store.get_participant("p1")).erased_at == T0 + 10 * MIN  # type: ignore[union-attr]
    with pytest.raises(KeyError):
        await store.erase_participant("nobody", T0)


# -- concurrency -------------------------------------------------------------------------

async def test_concurrent_work_does_not_interleave(store: Store) -> None:
    await enrol(store)

    async def one(i: int) -> None:
        if i % 5 == 0:
            bad = outbox()
            bad.payload = {"x": object()}
            with pytest.raises(TypeError):
                await store.apply(Changes(session=session(f"bad{i}"), outbox=[bad]))
        elif i % 5 == 1:
            with pytest.raises(StoreError):
                await store.apply(Changes(answers=[answer(raw=f"bad {i}")],
                                          addresses=[address(f"telegram:{i}", "ghost")]))
        else:
            await store.apply(Changes(session=session(f"s{i}", status="completed"),
                                      answers=[answer(raw=f"ok {i}")],
                                      events=[EventRow("p1", f"s{i}", "e", {}, T0)]))
            await store.inbox_put(inbox(str(i)))

    await asyncio.gather(*(one(i) for i in range(40)))
    ids = sorted(s.id for s in await store.sessions_of("p1"))
    assert ids == sorted(f"s{i}" for i in range(40) if i % 5 > 1)
    assert sorted(a.raw or "" for a in await store.answers()) == sorted(
        f"ok {i}" for i in range(40) if i % 5 > 1)
    assert len(await store.events()) == len(ids) == len(await store.inbox_pending())


async def test_cancelled_apply_leaves_the_store_usable(store: Store) -> None:
    await enrol(store)
    for delay in (0, 0.0005, 0.001, 0.002, 0.004, 0.008, 0.05):  # cancel at different points
        work = store.apply(Changes(session=session(), answers=[answer() for _ in range(50)]))
        task = asyncio.create_task(work)
        await asyncio.sleep(delay)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    await store.apply(Changes(session=session("s2")))
    assert await store.get_session("s2") is not None
    kept = await store.answers()
    assert len(kept) % 50 == 0  # whole units only
    await store.health()


# -- meta, health, lifecycle -------------------------------------------------------------

async def test_meta_get_set(store: Store) -> None:
    assert await store.get_meta("telegram.username") is None
    await store.set_meta("telegram.username", "parley_bot")
    await store.set_meta("telegram.username", "parley2_bot")
    assert await store.get_meta("telegram.username") == "parley2_bot"


async def test_health_and_closed_store(store: Store) -> None:
    await store.health()
    await store.close()
    with pytest.raises(StoreError):
        await store.health()
    with pytest.raises(StoreError):
        await store.get_participant("p1")
    await store.open()
    await store.health()


# -- factory -----------------------------------------------------------------------------

def test_open_store_factory(tmp_path: Path) -> None:
    s = open_store(f"sqlite:///{tmp_path}/x.db")
    assert isinstance(s, SqliteStore) and s.path == tmp_path / "x.db"
    rel = open_store("sqlite:///data/parley.db")
    assert isinstance(rel, SqliteStore) and rel.path == Path("data/parley.db")
    assert isinstance(open_store("memory://"), ScratchStore)
    pg = open_store("postgresql://u:hunter2@db.example:5432/parley?pool_size=3")
    assert isinstance(pg, PostgresStore) and "hunter2" not in repr(pg)
    for bad in ("mysql://x/y", "postgresql://u:hunter2@host", "sqlite://", "sqlite:///",
                "parley.db", "sqlite:///:memory:"):
        with pytest.raises(ConfigError, match=r"\[store\] url"):
            open_store(bad)


# -- SQLite only -------------------------------------------------------------------------

@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "parley.db"


async def test_sqlite_session_survives_reopen(db_path: Path) -> None:
    first = SqliteStore(db_path)
    await first.open()
    s = session(fields={"x": "é👋"}, asked=2)
    await first.apply(Changes(participant=person(), session=s,
                              timers_set=[Timer("s1", "p1", "q1", 2, T0 + MIN)]))
    await first.close()

    second = SqliteStore(db_path)
    await second.open()
    try:
        assert await second.active_session("p1") == s
        assert [t.asked for t in await second.timers_due(T0 + MIN)] == [2]
    finally:
        await second.close()


async def test_sqlite_migrations_recorded_once(db_path: Path) -> None:
    store = SqliteStore(db_path)
    await store.open()
    assert await store.schema_versions() == ALL_MIGRATIONS
    await store.set_meta("k", "v")
    await store.close()
    with sqlite3.connect(db_path) as con:
        before = con.execute("SELECT * FROM schema_migrations").fetchall()
    await store.open()  # the same object reopened, then a fresh one
    await store.close()
    again = SqliteStore(db_path)
    await again.open()
    assert await again.schema_versions() == ALL_MIGRATIONS
    assert await again.get_meta("k") == "v"
    await again.close()
    with sqlite3.connect(db_path) as con:
        assert con.execute("SELECT * FROM schema_migrations").fetchall() == before


async def test_sqlite_two_processes_opening_a_new_file(db_path: Path) -> None:
    a, b = SqliteStore(db_path), SqliteStore(db_path)
    await asyncio.gather(a.open(), b.open())
    try:
        assert await a.schema_versions() == await b.schema_versions() == ALL_MIGRATIONS
    finally:
        await a.close()
        await b.close()


async def test_sqlite_failed_migration_is_rolled_back(
        db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = SqliteStore(db_path)
    await store.open()
    await store.close()
    real = schema_module._migrations()
    broken = "CREATE TABLE extra (a TEXT); -- a comment; with semicolons\nCREATE TABLE meta (x);"
    monkeypatch.setattr(schema_module, "_migrations",
                        lambda: [*real, (9999, "9999_broken.sql", broken)])
    with pytest.raises(StoreError, match="already exists"):
        await SqliteStore(db_path).open()
    monkeypatch.undo()
    again = SqliteStore(db_path)
    await again.open()
    try:
        assert await again.schema_versions() == ALL_MIGRATIONS
    finally:
        await again.close()
    with sqlite3.connect(db_path) as con:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master")}
    assert "extra" not in tables


async def test_sqlite_pragmas(db_path: Path) -> None:
    store = SqliteStore(db_path, busy_timeout_ms=1234)
    await store.open()
    db = store._db
    assert db is not None
    for pragma, expected in [("synchronous", 2), ("foreign_keys", 1), ("secure_delete", 1),
                             ("busy_timeout", 1234), ("journal_mode", "wal")]:
        rows = list(await db.execute_fetchall(f"PRAGMA {pragma}"))
        assert rows[0][0] == expected, pragma
    await store.close()
    with sqlite3.connect(db_path) as con:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"  # persistent


async def test_sqlite_refuses_newer_schema(db_path: Path) -> None:
    store = SqliteStore(db_path)
    await store.open()
    await store.close()
    with sqlite3.connect(db_path) as con:
        con.execute("INSERT INTO schema_migrations VALUES (9999, '9999_future.sql', 'x')")
    with pytest.raises(StoreError, match="newer"):
        await SqliteStore(db_path).open()


async def test_sqlite_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="cannot open"):
        await SqliteStore(tmp_path / "no" / "such" / "parley.db").open()


async def test_sqlite_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(StoreError, match="corrupt or not"):
        await SqliteStore(path).open()


async def test_sqlite_erased_text_is_gone_from_the_files(db_path: Path) -> None:
    needle = "QUOKKA-PARSNIP-7731"
    store = SqliteStore(db_path)
    await store.open()
    try:
        await store.apply(Changes(participant=person(name=f"{needle} name",
                                                     profile={"n": needle}),
                                  addresses=[address("tel:+447700912345")]))
        for i in range(3):  # several versions of the session row, as a real flow writes
            await store.apply(Changes(
                session=session(fields={"worry": f"{needle} {i}"}, asked=i),
                answers=[answer(raw=f"{needle} raw {i} " + "z" * 3000, value=f"{needle} {i}")],
                events=[EventRow("p1", "s1", "AnswerRecorded", {"raw": needle}, T0)],
                outbox=[dataclasses.replace(outbox(), payload={"text": needle})]))

        def file_bytes() -> bytes:
            return b"".join(p.read_bytes() for p in db_path.parent.glob("parley.db*"))

        assert needle.encode() in file_bytes()
        assert b"+447700912345" in file_bytes()
        await store.erase_participant("p1", T0 + MIN)
        data = file_bytes()
        assert needle.encode() not in data
        assert b"+447700912345" not in data
        wal = db_path.with_name("parley.db-wal")
        assert not wal.exists() or wal.stat().st_size == 0
        assert len(await store.answers()) == 3
    finally:
        await store.close()


async def test_sqlite_lock_is_reported_by_health_and_recovers(db_path: Path) -> None:
    store = SqliteStore(db_path, busy_timeout_ms=50)
    await store.open()
    other = sqlite3.connect(db_path, isolation_level=None, timeout=0.05)
    try:
        await store.health()
        other.execute("BEGIN EXCLUSIVE")
        with pytest.raises(StoreError, match="locked by another process"):
            await store.health()
        with pytest.raises(StoreError, match="locked"):
            await store.apply(Changes(participant=person()))
        with pytest.raises(StoreError, match="locked"):
            await store.inbox_put(inbox("1"))
        other.execute("ROLLBACK")
        await store.health()
        await store.apply(Changes(participant=person()))
        assert await store.get_participant("p1") is not None
    finally:
        other.close()
        await store.close()


async def test_sqlite_readonly_file_is_reported(db_path: Path) -> None:
    store = SqliteStore(db_path)
    await store.open()
    await store.close()
    ro = SqliteStore(db_path)
    await ro.open()
    try:
        assert ro._db is not None
        await ro._db.execute("PRAGMA query_only = ON")
        with pytest.raises(StoreError):
            await ro.health()
    finally:
        await ro.close()


async def test_processed_inbox_rows_keep_only_their_dedupe_key(store: Store) -> None:
    """What someone wrote is not kept in the inbox once processed (before consent it
    must not be kept at all); the key still stops a redelivery."""
    item = InboxItem("sms", "SM1", "tel:+447700900123", {"text": "my words"},
                     datetime(2026, 1, 5, 9, 0, tzinfo=UTC))
    assert await store.inbox_put(item)
    assert item.id is not None
    await store.apply(Changes(inbox_done=[item.id]))
    assert await store.inbox_pending() == []
    again = InboxItem("sms", "SM1", "tel:+447700900123", {"text": "my words"},
                      datetime(2026, 1, 5, 9, 1, tzinfo=UTC))
    assert not await store.inbox_put(again)


# -- dashboard: coordinators, browser sessions, target mix -------------------------------

async def test_coordinators_are_saved_replaced_and_listed(store: Store) -> None:
    from bot.store.dashboard import Coordinator

    await store.save_coordinator(Coordinator("b@example.org", "$argon2id$x", T0))
    await store.save_coordinator(Coordinator("a@example.org", "$argon2id$y", T0))
    await store.save_coordinator(Coordinator("b@example.org", "$argon2id$z", T0 + MIN))
    found = await store.get_coordinator("b@example.org")
    assert found is not None and found.password_hash == "$argon2id$z"
    assert found.created_at == T0  # replacing keeps when the login was first made
    assert await store.get_coordinator("nobody@example.org") is None
    assert [c.email for c in await store.list_coordinators()] == ["a@example.org",
                                                                  "b@example.org"]
    await store.record_login("a@example.org", T0 + MIN)
    again = await store.get_coordinator("a@example.org")
    assert again is not None and again.last_login_at == T0 + MIN


async def test_dashboard_sessions_expire_and_are_deleted(store: Store) -> None:
    from bot.store.dashboard import DashboardSession

    hour = timedelta(hours=1)
    await store.create_dashboard_session(DashboardSession("h1", "a@x.org", "c1", T0, T0 + hour))
    await store.create_dashboard_session(DashboardSession("h2", "a@x.org", "c2", T0, T0 + 9 * hour))
    got = await store.get_dashboard_session("h1", T0 + MIN)
    assert got is not None and (got.email, got.csrf_token) == ("a@x.org", "c1")
    assert await store.get_dashboard_session("h1", T0 + hour) is None  # expired
    assert await store.get_dashboard_session("nope", T0) is None
    # a new session sweeps away expired ones
    await store.create_dashboard_session(
        DashboardSession("h3", "b@x.org", "c3", T0 + 2 * hour, T0 + 3 * hour))
    assert await store.get_dashboard_session("h1", T0) is None
    await store.delete_dashboard_session("h2")
    assert await store.get_dashboard_session("h2", T0 + MIN) is None
    await store.delete_dashboard_sessions_of("b@x.org")
    assert await store.get_dashboard_session("h3", T0 + 2 * hour) is None


async def test_cohort_targets_are_replaced_whole(store: Store) -> None:
    assert await store.cohort_targets() == {}
    await store.set_cohort_targets({"north": 60.0, "south": 40})
    assert await store.cohort_targets() == {"north": 60.0, "south": 40.0}
    await store.set_cohort_targets({"wales": 100})
    assert await store.cohort_targets() == {"wales": 100.0}


async def test_addresses_all_and_outbox_usage(store: Store) -> None:
    await enrol(store, "p1", "tel:+447700900001")
    await enrol(store, "p2", "telegram:42")
    assert [a.address for a in await store.addresses_all()] == ["tel:+447700900001",
                                                                "telegram:42"]
    sent = [outbox("p1", segments=2), outbox("p1", segments=1), outbox("p1"),
            outbox("p2", channel="telegram")]
    await store.apply(Changes(outbox=sent))
    for item, when in zip(sent, (T0, T0 + 2 * MIN, T0 + 3 * MIN, T0), strict=True):
        item.status, item.sent_at = "sent", when
        await store.outbox_update(item)
    assert await store.outbox_usage("sms") == (3, 3)
    assert await store.outbox_usage("sms", since=T0 + MIN) == (2, 1)
    assert await store.outbox_usage("telegram") == (1, 0)
    await store.erase_participant("p1", T0)
    assert [a.address for a in await store.addresses_all()] == ["telegram:42"]


# -- SMS delivery tracking (issue 5) -------------------------------------------------------

async def test_sms_parts_and_status_history(store: Store) -> None:
    from bot.store.sms import SmsPart

    row = outbox()
    await store.apply(Changes(outbox=[row]))
    assert row.id is not None
    assert await store.sms_parts_of(row.id) == []
    for n, sid in ((2, "SM2"), (1, "SM1")):
        await store.sms_part_add(SmsPart(sid, row.id, n, 2, 1, "queued", T0, T0))
    await store.sms_part_add(SmsPart("SM1", row.id, 1, 2, 9, "sent", T0, T0))  # idempotent
    assert [(p.sid, p.part, p.segments) for p in await store.sms_parts_of(row.id)] == [
        ("SM1", 1, 1), ("SM2", 2, 1)]
    assert await store.sms_status_record("SMunknown", "sent", None, T0) is None
    part = await store.sms_status_record("SM1", "delivered", None, T0 + MIN)
    assert part is not None and part.status == "delivered" and part.updated_at == T0 + MIN
    late = await store.sms_status_record("SM1", "sent", None, T0 + 2 * MIN)  # out of order
    assert late is not None and late.status == "delivered"
    await store.sms_status_record("SM1", "sent", None, T0 + 3 * MIN)  # re-sent callback
    failed = await store.sms_status_record("SM2", "undelivered", 30003, T0 + MIN)
    assert failed is not None and failed.error_code == 30003
    assert (await store.sms_part("SM2")) == failed
    history = await store.sms_status_history(row.id)
    assert [(e.sid, e.status, e.error_code) for e in history] == [
        ("SM1", "delivered", None), ("SM1", "sent", None), ("SM2", "undelivered", 30003)]


async def test_outbox_get_delivery_status_and_forget(store: Store) -> None:
    row = outbox(status="sending")
    await store.apply(Changes(outbox=[row]))
    assert row.id is not None
    assert await store.outbox_get(row.id + 100) is None
    await store.outbox_set_delivery_status(row.id, "delivered")
    got = await store.outbox_get(row.id)
    assert got is not None and got.delivery_status == "delivered" and got.status == "sending"
    await store.outbox_forget(row.id)
    got = await store.outbox_get(row.id)
    assert got is not None and (got.address, got.payload) == ("", {})
    assert got.delivery_status == "delivered" and got.channel == "sms"


# -- rounds, targets, findings, ledger, payouts, audit (bot/store/rounds_base.py) -----------

def a_round(rid: str = "r1", **kw: Any) -> Any:
    from bot.store.round_records import Round

    values: dict[str, Any] = dict(id=rid, flow_id="ons4", audience="all", created_at=T0,
                                  start_at=T0 + MIN, label="baseline", vars={"k": "é"},
                                  remind_after=("2d", "5d"), audience_ids=("p1",))
    values.update(kw)
    return Round(**values)


def a_target(pid: str, rid: str = "r1", **kw: Any) -> Any:
    from bot.store.round_records import RoundTarget

    values: dict[str, Any] = dict(round_id=rid, participant_id=pid, send_at=T0 + MIN,
                                  channel="sms", address=f"tel:{pid}", next_at=T0 + MIN)
    values.update(kw)
    return RoundTarget(**values)


async def test_rounds_add_get_save_compare_and_set(store: Store) -> None:
    from bot.store.rounds_base import StaleWrite

    r = a_round()
    await store.round_add(r)
    with pytest.raises(StoreError):
        await store.round_add(a_round())
    got = await store.round_get("r1")
    assert got == r and got is not r
    assert await store.round_get("nope") is None
    got.status = "running"
    await store.round_save(got)
    assert got.version == 1
    assert (await store.round_get("r1")).status == "running"  # type: ignore[union-attr]
    with pytest.raises(StaleWrite):
        await store.round_save(r)  # a copy read before the save
    await store.round_add(a_round("r2", created_at=T0 + MIN))
    assert [x.id for x in await store.rounds_all()] == ["r1", "r2"]


async def test_round_plan_targets_due_and_compare_and_set(store: Store) -> None:
    from bot.store.rounds_base import StaleWrite

    r = a_round()
    await store.round_add(r)
    r.status = "running"
    inserted = await store.round_plan(r, [a_target("p1"), a_target("p2", next_at=T0 + 5 * MIN),
                                          a_target("p3", status="opted_out", next_at=None)])
    assert inserted == 3 and r.version == 1
    assert await store.round_plan(r, [a_target("p1")]) == 0  # already there: kept as is
    assert [t.participant_id for t in await store.targets_due(T0 + 2 * MIN)] == ["p1"]
    assert await store.targets_open("r1") == 2
    assert await store.next_target_at() == T0 + MIN
    t = await store.target_get("r1", "p1")
    assert t is not None and t.version == 0
    t.status, t.step, t.next_at, t.sent_at = "sent", 1, T0 + 60 * MIN, T0 + MIN
    t.vars = {"you_said": "Ça va 👋"}
    stale = dataclasses.replace(t)
    await store.apply(Changes(targets=[t]))
    assert t.version == 1
    assert await store.target_get("r1", "p1") == t
    with pytest.raises(StaleWrite):
        await store.apply(Changes(targets=[stale], outbox=[outbox()]))
    assert await store.outbox_all() == []  # the whole unit was rolled back
    r.status = "paused"
    await store.round_save(r)
    assert await store.targets_due(T0 + 600 * MIN) == []  # only running rounds
    assert await store.next_target_at() is None
    assert [x.participant_id for x in await store.targets_of("r1")] == ["p1", "p2", "p3"]


async def test_round_cancel_cancels_targets_queue_and_unsent_outbox(store: Store) -> None:
    await enrol(store)
    r = a_round()
    await store.round_add(r)
    r.status = "running"
    await store.round_plan(r, [a_target("p1"), a_target("p2", status="completed",
                                                          next_at=None)])
    await store.apply(Changes(outbox=[outbox(round_id="r1"), outbox(round_id="r1",
                                                                     status="sent"),
                                      outbox(round_id="r2")],
                              queue_push=[QueuedFlow("p1", "ons4", {}, T0, "r1")]))
    r.status = "cancelled"
    assert await store.round_cancel(r, T0) == 1
    assert [t.status for t in await store.targets_of("r1")] == ["cancelled", "completed"]
    assert [o.status for o in await store.outbox_all()] == ["cancelled", "sent", "pending"]
    assert await store.queued_flows("p1") == []
    rows = await store.round_delivery("r1")
    assert [(d.participant_id, d.status, d.kind) for d in rows] == [
        ("p1", "cancelled", "question"), ("p1", "sent", "question")]


async def test_candidates_filter_and_carry_addresses(store: Store) -> None:
    await store.apply(Changes(participant=person("p1", cohort="north", tags=("carer",),
                                                 profile={"quiet_hours": "22:00-08:00",
                                                          "contact_time": "evening"}),
                              addresses=[address("tel:+447700900001", "p1"),
                                         address("telegram:1", "p1", opted_out=True)]))
    await store.apply(Changes(participant=person("p2", at=T0 + MIN, cohort="south"),
                              addresses=[address("telegram:2", "p2")]))
    await store.apply(Changes(participant=person("p3", at=T0 + 2 * MIN, status="declined")))
    everyone = await store.candidates()
    assert [c.id for c in everyone] == ["p1", "p2"]
    c = everyone[0]
    assert (c.quiet_hours, c.contact_time, c.tags, c.cohort) == (
        "22:00-08:00", "evening", ("carer",), "north")
    assert c.addresses == [("tel:+447700900001", "sms", False, False),
                           ("telegram:1", "telegram", True, False)]
    assert [c.id for c in await store.candidates(cohort="south")] == ["p2"]
    assert [c.id for c in await store.candidates(tag="carer")] == ["p1"]
    assert [c.id for c in await store.candidates(ids=["p2", "p3", "zz"])] == ["p2"]


async def test_findings_ledger_payouts_and_audit(store: Store) -> None:
    from bot.store.round_records import AuditEntry, Finding, LedgerEntry, PayoutBatch

    f = Finding(id="F1", title="Fees", text="Fees hurt 👋", created_at=T0, lineage="F1")
    await store.finding_add(f)
    with pytest.raises(StoreError):
        await store.finding_add(f)
    assert await store.finding_get("F1") == f
    assert [x.id for x in await store.findings_all()] == ["F1"]

    earned = LedgerEntry("p1", T0, 500, key="completion:s1", flow_id="ons4", session_id="s1")
    declined = LedgerEntry("p2", T0, 500, payable=False, key="completion:s2")
    later = LedgerEntry("p1", T0 + 60 * MIN, -150, kind="adjustment", note="n", actor="sam")
    await store.apply(Changes(ledger=[earned, declined]))
    await store.apply(Changes(ledger=[LedgerEntry("p1", T0, 500, key="completion:s1"),
                                      later]))
    assert earned.id is not None and later.id is not None
    assert [(e.participant_id, e.amount) for e in await store.ledger()] == [
        ("p1", 500), ("p2", 500), ("p1", -150)]
    assert [e.amount for e in await store.ledger(participant_id="p1")] == [500, -150]
    assert [e.id for e in await store.payout_pending(T0 + MIN)] == [earned.id]
    batch = PayoutBatch("B1", "2026-01", T0, 500, 1, file="x.csv", actor="sam")
    await store.payout_create(batch, [earned.id])
    with pytest.raises(StoreError):
        await store.payout_create(PayoutBatch("B2", "2026-01", T0, 500, 1), [earned.id])
    assert await store.payout_get("B2") is None
    assert await store.payout_pending(T0 + 120 * MIN) == [later]
    assert await store.payout_of_entries() == {earned.id: "B1"}
    await store.payout_paid("B1", T0 + MIN, "sam")
    await store.payout_paid("B1", T0 + 2 * MIN, "kim")  # the first stays
    paid = await store.payout_get("B1")
    assert paid is not None and (paid.status, paid.paid_at, paid.paid_by) == (
        "paid", T0 + MIN, "sam")
    assert [b.id for b in await store.payout_batches()] == ["B1"]

    await store.audit_add(AuditEntry(T0, "cli:sam", "round.start", "r1", {"n": 3}))
    await store.audit_add(AuditEntry(T0 + MIN, "telegram:9", "round.status", "r1"))
    log = await store.audit_log()
    assert [(e.actor, e.action, e.detail) for e in log] == [
        ("telegram:9", "round.status", {}), ("cli:sam", "round.start", {"n": 3})]
    assert len(await store.audit_log(limit=1)) == 1


# -- agenda-setting and budgets (bot/store/participation.py) ----------------------------------
async def test_suggestion_decisions_replace_but_keep_their_round(store: Store) -> None:
    from bot.store.participation import SuggestionDecision

    assert await store.suggestion_decisions() == {}
    await store.decide_suggestion(SuggestionDecision(3, "accepted", T0, label="Buses"))
    await store.decide_suggestion(SuggestionDecision(5, "merged", T0, merged_into=3))
    await store.mark_suggestions_used([3], "r1")
    await store.decide_suggestion(SuggestionDecision(3, "accepted", T0, label="Night buses",
                                                     decided_by="ana"))
    await store.decide_suggestion(SuggestionDecision(7, "rejected", T0, reason="out of scope"))
    found = await store.suggestion_decisions()
    assert list(found) == [3, 5, 7]
    assert (found[3].label, found[3].round_id, found[3].decided_by) == ("Night buses", "r1",
                                                                        "ana")
    assert (found[5].merged_into, found[7].reason) == (3, "out of scope")
    assert found[3].decided_at == T0


async def test_budgets_keep_their_projects_in_order(store: Store) -> None:
    from bot.store.participation import Budget, BudgetProject

    budget = Budget("b1", "Park fund", 10_000, "GBP", T0,
                    [BudgetProject("p1", "Benches", 2_000, "Six benches"),
                     BudgetProject("p2", "Lights", 7_500)])
    await store.budget_add(budget)
    assert await store.budget_get("b1") == budget
    assert await store.budget_get("nope") is None
    with pytest.raises(StoreError, match="already exists"):
        await store.budget_add(budget)


async def test_finding_translations_are_replaced_per_locale(store: Store) -> None:
    from bot.store.participation import FindingTranslation

    assert await store.finding_translations("F1") == {}
    await store.finding_translation_put(FindingTranslation("F1", "cy", "Ffioedd", "Testun"))
    await store.finding_translation_put(FindingTranslation("F1", "cy", "Ffioedd", "Testun 2",
                                                           "Newid"))
    await store.finding_translation_put(FindingTranslation("F2", "cy", "Arall", "X"))
    found = await store.finding_translations("F1")
    assert list(found) == ["cy"] and (found["cy"].text, found["cy"].changes) == ("Testun 2",
                                                                                 "Newid")


async def test_erasure_removes_a_persons_words_quoted_in_moderation_and_rounds(
        store: Store) -> None:
    """Their suggestion's words may be a vote option's label and their statement a
    statements round's s1: erasure blanks those quotes too, and nobody else's."""
    from bot.store.participation import SuggestionDecision
    from bot.store.records import Changes, EventRow
    from bot.store.round_records import Round

    await store.apply(Changes(participant=person("p1")))
    await store.apply(Changes(participant=person("p2")))
    await store.apply(Changes(events=[
        EventRow("p1", None, "SuggestionMade", {"text": "Night buses"}, T0),
        EventRow("p1", None, "StatementWritten", {"text": "Buses feel unsafe"}, T0),
        EventRow("p2", None, "SuggestionMade", {"text": "Bins"}, T0)]))
    ids = {e.payload["text"]: e.id for e in await store.events()}
    bus, unsafe, bins = ids["Night buses"], ids["Buses feel unsafe"], ids["Bins"]
    assert bus is not None and unsafe is not None and bins is not None
    for sid, label in [(bus, "Night buses"), (bins, "Bins")]:
        await store.decide_suggestion(SuggestionDecision(sid, "accepted", T0, label=label))
    options = json.dumps([{"value": f"s{bus}", "label": "Night buses"},
                          {"value": f"s{bins}", "label": "Bins"}])
    await store.round_add(Round(id="r1", flow_id="vote", audience="all", created_at=T0,
                                start_at=T0, vars={"options": options}))
    await store.round_add(Round(id="r2", flow_id="statements", audience="all",
                                created_at=T0, start_at=T0,
                                vars={"s1": "Buses feel unsafe", "s1_id": f"T{unsafe}"}))
    other = Session(id="s_p2", participant_id="p2", flow_id="statements", flow_version="v",
                    node="s1", status="waiting", locale="en", started_at=T0, updated_at=T0,
                    vars={"s1": "Buses feel unsafe", "s1_id": f"T{unsafe}"})
    await store.apply(Changes(session=other))
    await store.erase_participant("p1", T0 + MIN)
    kept = await store.get_session("s_p2")
    assert kept is not None and kept.vars["s1"] == "(erased)"
    decisions = await store.suggestion_decisions()
    assert (decisions[bus].label, decisions[bins].label) == (None, "Bins")
    vote, talk = await store.round_get("r1"), await store.round_get("r2")
    assert vote is not None and talk is not None
    assert [o["label"] for o in json.loads(vote.vars["options"])] == ["(erased)", "Bins"]
    assert talk.vars == {"s1": "(erased)", "s1_id": f"T{unsafe}"}


# -- media replies and the WhatsApp window (issue 17) ---------------------------------------
async def test_media_rows_are_added_once_fetched_when_due_and_erased_with_their_files(
        store: Store, tmp_path: Path) -> None:
    from bot.store.media import MediaItem

    await enrol(store, "p1", "whatsapp:+447700900001")
    voice = MediaItem("p1", "whatsapp", "voice", "https://media/1", T0, "audio/ogg",
                      inbox_id=7, position=0, session_id="s1", node="q1")
    first = await store.media_add(voice)
    assert await store.media_add(dataclasses.replace(voice)) == first  # reprocessed: once
    second = await store.media_add(dataclasses.replace(voice, position=1, kind="photo"))
    assert second != first
    due = await store.media_due(T0)
    assert [(m.id, m.kind, m.status) for m in due] == [(first, "voice", "pending"),
                                                       (second, "photo", "pending")]
    file = tmp_path / "p1-1.ogg"
    file.write_bytes(b"OggS voice")
    stored = dataclasses.replace(due[0], status="stored", path=str(file), size=10,
                                 attempts=1, updated_at=T0 + MIN)
    await store.media_update(stored)
    retry = dataclasses.replace(due[1], attempts=1, error="HTTP 500",
                                next_attempt_at=T0 + 5 * MIN)
    await store.media_update(retry)
    assert [m.id for m in await store.media_due(T0 + MIN)] == []  # not due yet
    assert [m.id for m in await store.media_due(T0 + 5 * MIN)] == [second]
    assert await store.media_get(first) == dataclasses.replace(stored, id=first)
    await store.erase_participant("p1", T0 + 10 * MIN)
    assert await store.media_of("p1") == [] and await store.media_get(first) is None
    assert not file.exists()  # the file went with the rows


async def test_last_inbound_at_is_the_newest_message_from_that_address(store: Store) -> None:
    assert await store.last_inbound_at("whatsapp:+447700900001") is None
    await store.inbox_put(dataclasses.replace(inbox("1", addr="whatsapp:+447700900001"),
                                              received_at=T0))
    await store.inbox_put(dataclasses.replace(inbox("2", addr="whatsapp:+447700900001"),
                                              received_at=T0 + 5 * MIN))
    await store.inbox_put(dataclasses.replace(inbox("3", addr="whatsapp:+447700900002"),
                                              received_at=T0 + 9 * MIN))
    assert await store.last_inbound_at("whatsapp:+447700900001") == T0 + 5 * MIN
