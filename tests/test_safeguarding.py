"""Safeguarding and the coordinators' inbox, in process (ScratchStore, manual clock).

A flagged message becomes a "needs attention" item with alerts queued at once (Telegram
coordinators with the words, SMS coordinators without), acknowledgement stops the
escalation that ``due(now)`` otherwise sends after ``escalate_after``; HELP, messages
outside a flow and replies are inbox items; erasure and export cover them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import pytest

from bot.clock import ManualClock
from bot.ids import SequentialIds
from bot.privacy import export_participant
from bot.runtime import Runtime, open_runtime
from bot.safeguarding.desk import AttentionError, Desk
from bot.simulator import SimulatedPhone, enrolled_phone
from bot.store.records import OutboxItem
from bot.store.scratch import ScratchStore
from bot.wiring import due_work
from tests.conftest import make_config

COORD_CHAT, COORD_PHONE, ESCALATE_PHONE = 555001, "+447700900555", "+447700900777"
WORDS = "honestly there is no way out for me"


@pytest.fixture
async def rt(clock: ManualClock) -> AsyncIterator[Runtime]:
    config = make_config(
        telegram={"token": "123:abc"},
        sms={"account_sid": "AC1", "auth_token": "t", "from_number": "+447700900000"},
        server={"public_url": "https://parley.example"},
        schedule={"quiet_hours": "21:00-09:00"},
        coordinators={"telegram_ids": [COORD_CHAT], "phones": [COORD_PHONE]},
        safeguarding={"escalate_after": "2h", "escalate_to": [ESCALATE_PHONE]})
    runtime = await open_runtime(config, store=ScratchStore(), clock=clock, ids=SequentialIds())
    yield runtime
    await runtime.close()


def desk(rt: Runtime) -> Desk:
    return Desk(store=rt.store, config=rt.config, clock=rt.clock)


async def alerts(rt: Runtime, address: str) -> list[OutboxItem]:
    return [o for o in await rt.store.outbox_all() if o.address == address]


async def test_distress_outside_a_flow_alerts_coordinators_at_once(rt: Runtime) -> None:
    phone, pid = await enrolled_phone(rt, "tel:+447700900101", name="Sam")
    got = await phone.say(WORDS.upper() + "!!")
    assert len(got) == 1 and "Samaritans" in got[0].text  # signposted, not "nothing to answer"
    [item] = await rt.store.attention_list(status="open")
    assert (item.kind, item.participant_id, item.text) == ("distress", pid, WORDS.upper() + "!!")
    [tg] = await alerts(rt, f"telegram:{COORD_CHAT}")
    assert WORDS.upper() in tg.payload["text"] and "Sam" in tg.payload["text"]
    assert f"https://parley.example/admin/attention/{item.id}" in tg.payload["text"]
    [sms] = await alerts(rt, f"tel:{COORD_PHONE}")
    assert "no way out" not in sms.payload["text"].lower() and "Sam" not in sms.payload["text"]
    assert f"/admin/attention/{item.id}" in sms.payload["text"]
    assert len(sms.payload["text"]) <= 160 and sms.payload["text"].isascii()


async def test_distress_in_a_free_text_answer_is_flagged(rt: Runtime) -> None:
    phone, _ = await enrolled_phone(rt, "telegram:42")
    await rt.conversations.start_flow((await rt.store.list_participants())[0].id, "feedback")
    await phone.collect()
    for _ in range(4):  # answer until the flow's free-text question
        last = phone.inbox[-1]
        if not last.choices:
            break
        await phone.press(last.choices[0]["key"])
    await phone.say("I want to die, to be honest")
    [item] = await rt.store.attention_list()
    assert item.kind == "distress" and item.text == "I want to die, to be honest"


async def test_acknowledged_item_is_not_escalated(rt: Runtime, clock: ManualClock) -> None:
    phone, _ = await enrolled_phone(rt, "tel:+447700900102")
    await phone.say(WORDS)
    [item] = await rt.store.attention_list()
    assert item.id is not None
    acked = await desk(rt).ack(item.id, "ana@example.org", via="cli")
    assert (acked.acked_by, acked.acked_at, acked.status) == ("ana@example.org", clock.now(),
                                                            "acknowledged")
    clock.advance(dt.timedelta(hours=3))
    report = await due_work(rt).due(clock.now())
    assert report.escalated == 0 and await alerts(rt, f"tel:{ESCALATE_PHONE}") == []
    again = await desk(rt).ack(item.id, "bo@example.org", via="cli")
    assert again.acked_by == "ana@example.org"  # the first acknowledgement stands
    actions = [(e.actor, e.action) for e in await rt.store.audit_log()]
    assert actions.count(("ana@example.org", "attention.ack")) == 1


async def test_unacknowledged_item_escalates_once_after_the_deadline(
        rt: Runtime, clock: ManualClock) -> None:
    phone, _ = await enrolled_phone(rt, "tel:+447700900103")
    await phone.say("I can't go on")
    work = due_work(rt)
    clock.advance(dt.timedelta(hours=1, minutes=59))
    assert (await work.due(clock.now())).escalated == 0
    [item] = await rt.store.attention_list()
    assert item.escalate_at is not None and (await work.due(clock.now())).next_due is not None
    clock.advance(dt.timedelta(minutes=2))
    assert (await work.due(clock.now())).escalated == 1
    assert (await work.due(clock.now())).escalated == 0  # not twice
    [sent] = await alerts(rt, f"tel:{ESCALATE_PHONE}")
    assert "not been acknowledged for 2h" in sent.payload["text"]
    assert "can't go on" not in sent.payload["text"]


async def test_help_and_unprompted_messages_wait_in_the_inbox(rt: Runtime) -> None:
    phone, _ = await enrolled_phone(rt, "tel:+447700900104")
    help_reply = await phone.say("help")
    assert "call 0800 123 456" in help_reply[0].text
    idle = await phone.say("When is the next meeting?")
    assert "a person on our team will read" in idle[0].text
    items = await rt.store.attention_list(status="open")
    assert [(i.kind, i.text) for i in items] == [("unprompted", "When is the next meeting?"),
                                                 ("help", "help")]
    # no alerts for these: they wait for whoever opens the inbox
    assert await alerts(rt, f"telegram:{COORD_CHAT}") == []
    assert items[0].id is not None
    await desk(rt).done(items[0].id, "ana@example.org", via="dashboard")
    assert [i.kind for i in await rt.store.attention_list(status="open")] == ["help"]
    assert await rt.store.attention_count() == 1


async def test_reply_waits_for_quiet_hours_unless_overridden(
        rt: Runtime, clock: ManualClock) -> None:
    phone, pid = await enrolled_phone(rt, "tel:+447700900105")
    clock.set(dt.datetime(2026, 3, 2, 22, 30, tzinfo=dt.UTC))  # 22:30 in London
    held = await desk(rt).reply(pid, "Thanks, we'll call you tomorrow", "ana@example.org")
    assert held.not_before == dt.datetime(2026, 3, 3, 9, 0, tzinfo=dt.UTC)
    assert await phone.collect() == []
    now = await desk(rt).reply(pid, "Call us now on 0800 123 456", "ana@example.org",
                               override_quiet=True)
    assert now.not_before == clock.now()
    assert [m.text for m in await phone.collect()] == ["Call us now on 0800 123 456"]
    with pytest.raises(AttentionError, match="empty"):
        await desk(rt).reply(pid, "  ", "ana@example.org")


async def test_erasure_blanks_items_and_the_alerts_that_quoted_them(rt: Runtime) -> None:
    phone, pid = await enrolled_phone(rt, "tel:+447700900106")
    await phone.say(WORDS)
    exported = await export_participant(rt.store, pid)
    assert exported["messages_for_our_team"][0]["text"] == WORDS
    await rt.store.erase_participant(pid, rt.clock.now())
    [item] = await rt.store.attention_list()
    assert item.text == ""
    for row in await rt.store.outbox_all():
        assert WORDS not in str(row.payload)
    tg = await alerts(rt, f"telegram:{COORD_CHAT}")
    assert [t.status for t in tg] == ["cancelled"]


async def test_coordinators_acknowledge_by_replying_to_the_alert(rt: Runtime) -> None:
    phone, _ = await enrolled_phone(rt, "tel:+447700900107")
    await phone.say(WORDS)
    [item] = await rt.store.attention_list()
    sms_coord = SimulatedPhone(rt, f"tel:{COORD_PHONE}")
    tg_coord = SimulatedPhone(rt, f"telegram:{COORD_CHAT}")
    [alert] = await sms_coord.collect()
    assert f"Reply ACK {item.id}" in alert.text
    [tg_alert] = await tg_coord.collect()
    assert f"Reply /ack {item.id}" in tg_alert.text
    assert [m.text for m in await sms_coord.say(f"ack {item.id}")] == [
        f"#{item.id} acknowledged: thank you. It will not be escalated."]
    [again] = await tg_coord.say(f"/ack {item.id}")
    assert again.text.startswith(f"#{item.id} was already acknowledged by tel:+44")
    assert [m.text for m in await tg_coord.say("/ack 99")] == ["no inbox item #99."]
    acked = await rt.store.attention_get(item.id or 0)
    assert acked is not None and acked.acked_by == f"tel:{COORD_PHONE}"
    audit = [(e.actor, e.action) for e in await rt.store.audit_log()]
    assert (f"tel:{COORD_PHONE}", "attention.ack") in audit
