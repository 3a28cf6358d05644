"""The coordinators' inbox in the dashboard, in process (httpx over ASGI): the "Needs
attention" queue and its count in the navigation, a person's thread with delivery
status, acknowledging (audited, stops escalation), replying through the outbox
(quiet hours unless overridden) and marking done."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import AsyncIterator

import httpx
import pytest

from bot.clock import ManualClock
from bot.runtime import Runtime
from bot.simulator import enrolled_phone
from bot.wiring import due_work
from tests.test_dashboard import build, csrf_of, login

ESCALATE = "+447700900777"


@pytest.fixture
async def site(clock: ManualClock) -> AsyncIterator[tuple[Runtime, httpx.AsyncClient]]:
    runtime, app = await build(
        clock, sms={"account_sid": "AC1", "auth_token": "t", "from_number": "+447700900000"},
        schedule={"quiet_hours": "21:00-09:00"},
        safeguarding={"escalate_after": "2h", "escalate_to": [ESCALATE]})
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app),
                                 base_url="http://parley.test") as client:
        await login(client)
        yield runtime, client
    await runtime.close()


def nav_count(html: str) -> int:
    found = re.search(r'class="nav-count"[^>]*>(\d+)<', html)
    return int(found.group(1)) if found else 0


async def test_queue_counts_orders_and_acknowledges(
        site: tuple[Runtime, httpx.AsyncClient], clock: ManualClock) -> None:
    runtime, client = site
    phone, _ = await enrolled_phone(runtime, "tel:+447700900201", name="Kim")
    assert nav_count((await client.get("/admin/")).text) == 0
    await phone.say("help")
    await phone.say("I just want to die <b>really</b>")
    page = await client.get("/admin/attention")
    assert nav_count(page.text) == 2
    rows = re.findall(r'<tr class="item-(\w+)">', page.text)
    assert rows == ["distress", "help"]  # unacknowledged safeguarding first
    assert "I just want to die &lt;b&gt;really&lt;/b&gt;" in page.text  # escaped
    [item] = [i for i in await runtime.store.attention_list() if i.kind == "distress"]
    detail = await client.get(f"/admin/attention/{item.id}")
    assert "Acknowledge" in detail.text and "escalates" in detail.text
    acked = await client.post(f"/admin/attention/{item.id}/ack",
                              data={"csrf": csrf_of(detail.text)})
    assert acked.status_code == 303
    after = await client.get(f"/admin/attention/{item.id}")
    assert "acknowledged by coord@example.org" in after.text
    audit = [(e.actor, e.action, e.subject) for e in await runtime.store.audit_log()]
    assert ("coord@example.org", "attention.ack", f"#{item.id}") in audit
    clock.advance(dt.timedelta(hours=3))
    assert (await due_work(runtime).due(clock.now())).escalated == 0
    refused = await client.post(f"/admin/attention/{item.id}/done", data={"csrf": "wrong"})
    assert refused.status_code == 403
    await client.post(f"/admin/attention/{item.id}/done", data={"csrf": csrf_of(after.text)})
    assert nav_count((await client.get("/admin/attention")).text) == 1


async def test_thread_and_reply_through_the_outbox(
        site: tuple[Runtime, httpx.AsyncClient], clock: ManualClock) -> None:
    runtime, client = site
    phone, pid = await enrolled_phone(runtime, "tel:+447700900202", name="Lee")
    await phone.say("Is the meeting still on Friday?")
    [item] = await runtime.store.attention_list()
    page = await client.get(f"/admin/attention/{item.id}")
    assert "Is the meeting still on Friday?" in page.text
    assert "a person on our team will read your message" in page.text  # our reply, shown
    assert "sms · sent" in page.text
    clock.set(dt.datetime(2026, 3, 2, 21, 30, tzinfo=dt.UTC))  # quiet hours in London
    held = await client.post(f"/admin/participants/{pid}/reply", data={
        "csrf": csrf_of(page.text), "text": "Yes, Friday at 2pm.", "item": str(item.id)})
    assert held.status_code == 303 and held.headers["location"].endswith("?sent=held")
    assert await phone.collect() == []  # quiet hours: waits for the morning
    now = await client.post(f"/admin/participants/{pid}/reply", data={
        "csrf": csrf_of(page.text), "text": "Sorry, one more thing.", "now": "1"})
    assert now.headers["location"].endswith("?sent=queued")
    assert [m.text for m in await phone.collect()] == ["Sorry, one more thing."]
    thread = await client.get(f"/admin/participants/{pid}/thread")
    assert "held for quiet hours" in thread.text and "from the team" in thread.text
    empty = await client.post(f"/admin/participants/{pid}/reply", data={
        "csrf": csrf_of(page.text), "text": "   "})
    assert empty.status_code == 400 and "Nothing was sent" in empty.text
    replies = [e for e in await runtime.store.audit_log() if e.action == "attention.reply"]
    assert len(replies) == 2 and all(e.actor == "coord@example.org" for e in replies)
