"""Safeguarding and the inbox end to end: the real ``parley serve`` process with Telegram
and SMS on, the fake Bot API and the fake Twilio on 127.0.0.1, the dashboard over HTTP.

- a distress phrase by SMS → the Telegram coordinator (with the words and a link) and
  the SMS coordinator (without them) are alerted within 30 s, and the item is in the
  dashboard's queue; an acknowledged item is not escalated, an unacknowledged one is
  (escalation time driven through ``due(now)`` with an injected clock beside the
  server, on the same database — not by sleeping two hours);
- HELP and a message sent outside any flow each appear in the inbox, and a reply typed
  in the dashboard reaches the person's phone.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from bot.clock import ManualClock
from bot.config import load_config
from bot.runtime import open_runtime
from bot.store.dashboard import Coordinator
from bot.web.dashboard.auth import hash_password
from bot.wiring import due_work
from tests.fakes.telegram_api import DEFAULT_TOKEN, FakeTelegram
from tests.fakes.twilio_api import FakeTwilio
from tests.sms_harness import ParleyProcess, Phone, db_runtime, enrol, until, write_config

pytestmark = [pytest.mark.timeout(90), pytest.mark.slow]
COORD_CHAT, COORD_PHONE, ESCALATE_PHONE = 424242, "+447700900555", "+447700900777"
EMAIL, PASSWORD = "lead@example.org", "a long enough password"


@pytest.fixture(scope="module")
def fakes() -> Iterator[tuple[FakeTwilio, FakeTelegram, str, str]]:
    twilio, telegram = FakeTwilio(), FakeTelegram()
    with twilio.serve() as t_srv, telegram.serve() as tg_srv:
        yield twilio, telegram, t_srv.base_url, tg_srv.base_url


@pytest.fixture(scope="module")
def server(fakes: tuple[FakeTwilio, FakeTelegram, str, str],
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[ParleyProcess]:
    folder = tmp_path_factory.mktemp("safeguarding-serve")
    config = write_config(folder, fakes[2])
    with config.open("a", encoding="utf-8") as extra:
        extra.write(f"""
[telegram]
token = "{DEFAULT_TOKEN}"
webhook_secret = "s3cret-webhook-token_123"
api_base_url = "{fakes[3]}/bot"
mode = "webhook"
rate_limit_per_second = 200
per_chat_per_second = 50
request_timeout = 2

[coordinators]
telegram_ids = [{COORD_CHAT}]
phones = ["{COORD_PHONE}"]

[safeguarding]
escalate_after = "2h"
escalate_to = ["{ESCALATE_PHONE}"]
""")
    process = ParleyProcess(config).start()
    yield process
    process.stop()


@pytest.fixture
async def dashboard(server: ParleyProcess) -> AsyncIterator[httpx.AsyncClient]:
    runtime = await db_runtime(server.config)
    now = runtime.clock.now()
    await runtime.store.save_coordinator(Coordinator(EMAIL, hash_password(PASSWORD), now))
    await runtime.close()
    async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as client:
        page = await client.get("/admin/login")
        keep_cookies(client, page)
        done = await client.post("/admin/login", data={
            "csrf": csrf(page.text), "email": EMAIL, "password": PASSWORD, "next": "/admin/"})
        assert done.status_code == 303, done.text[:500]
        keep_cookies(client, done)
        yield client


def keep_cookies(client: httpx.AsyncClient, response: httpx.Response) -> None:
    """The dashboard's cookies are Secure (public_url is https: Parley sits behind a TLS
    proxy); over this plain-HTTP hop the test is that proxy and hands them back."""
    for header in response.headers.get_list("set-cookie"):
        name, _, rest = header.partition("=")
        client.cookies.set(name, rest.split(";", 1)[0])


def csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)


async def test_distress_by_sms_alerts_coordinators_and_escalates_unless_acknowledged(
        server: ParleyProcess, fakes: tuple[FakeTwilio, FakeTelegram, str, str],
        dashboard: httpx.AsyncClient) -> None:
    twilio, telegram = fakes[0], fakes[1]
    runtime = await db_runtime(server.config)
    try:
        await enrol(runtime, "+447700900301")
        await enrol(runtime, "+447700900302")
    finally:
        await runtime.close()
    first, second = (Phone(server, twilio, n) for n in ("+447700900301", "+447700900302"))
    started = asyncio.get_running_loop().time()
    got = await first.say("Honestly I can't go on like this")
    assert any("Samaritans" in text for text in got)
    await until(lambda: telegram.texts_to(COORD_CHAT) and twilio.sent_to(COORD_PHONE),
                30, "both coordinators alerted")
    assert asyncio.get_running_loop().time() - started < 30
    [tg_alert] = telegram.texts_to(COORD_CHAT)
    assert "Honestly I can't go on like this" in tg_alert
    item_id = int(re.search(r"#(\d+)", tg_alert).group(1))  # type: ignore[union-attr]
    assert f"https://parley.example/admin/attention/{item_id}" in tg_alert
    [sms_alert] = [m["body"] for m in twilio.sent_to(COORD_PHONE)]
    assert "go on" not in sms_alert and f"/admin/attention/{item_id}" in sms_alert

    queue = await dashboard.get("/admin/attention")
    assert f'href="/admin/attention/{item_id}"' in queue.text
    assert 'class="nav-count"' in queue.text
    detail = await dashboard.get(f"/admin/attention/{item_id}")
    acked = await dashboard.post(f"/admin/attention/{item_id}/ack",
                                 data={"csrf": csrf(detail.text)})
    assert acked.status_code == 303

    await second.say("there is no way out")  # nobody acknowledges this one
    await until(lambda: len(telegram.texts_to(COORD_CHAT)) == 2, 30, "second alert")

    later = ManualClock(dt.datetime.now(dt.UTC) + dt.timedelta(hours=2, minutes=1))
    beside = await open_runtime(load_config(server.config), clock=later)
    try:
        report = await due_work(beside).due(later.now())
        escalations = [o for o in await beside.store.outbox_all()
                       if o.address == f"tel:{ESCALATE_PHONE}"]
        items = {i.id: i for i in await beside.store.attention_list()}
    finally:
        await beside.close()
    assert report.escalated == 1 and len(escalations) == 1
    assert items[item_id].escalated_at is None and items[item_id].acked_by == EMAIL
    [other] = [i for i in items.values() if i.id != item_id]
    assert other.escalated_at == later.now()
    assert f"#{other.id} has not been acknowledged for 2h" in escalations[0].payload["text"]
    assert "no way out" not in escalations[0].payload["text"]


async def test_help_and_unprompted_reach_the_inbox_and_a_dashboard_reply_reaches_the_phone(
        server: ParleyProcess, fakes: tuple[FakeTwilio, FakeTelegram, str, str],
        dashboard: httpx.AsyncClient) -> None:
    runtime = await db_runtime(server.config)
    try:
        pid = await enrol(runtime, "+447700900303")
    finally:
        await runtime.close()
    me = Phone(server, fakes[0], "+447700900303")
    assert any("call 0800 123 456" in t for t in await me.say("HELP"))
    assert any("a person on our team" in t for t in await me.say("Can I bring my son?"))
    queue = await dashboard.get("/admin/attention")
    assert "Can I bring my son?" in queue.text and "asked for HELP" in queue.text
    thread = await dashboard.get(f"/admin/participants/{pid}/thread")
    assert "Can I bring my son?" in thread.text
    sent = await dashboard.post(f"/admin/participants/{pid}/reply", data={
        "csrf": csrf(thread.text), "text": "Yes, of course - see you Friday."})
    assert sent.status_code == 303
    assert await me.replies(timeout=20) == ["Yes, of course - see you Friday."]
    after = await dashboard.get(f"/admin/participants/{pid}/thread")
    assert "from the team" in after.text
