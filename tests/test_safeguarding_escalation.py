"""Escalation all the way to a phone, on an injected clock: the real outbox sender and
twilio's real Client against the fake Twilio on 127.0.0.1, a real SQLite file, and
``due(now)`` moved two hours on without sleeping. An acknowledged flag sends nothing
more; an unacknowledged one reaches the ``escalate_to`` phone, once."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from bot.channels.sms import SmsChannel
from bot.clock import ManualClock
from bot.ids import SequentialIds
from bot.runtime import Runtime, open_runtime
from bot.safeguarding.desk import Desk
from bot.service import ParleyService
from bot.simulator import enrolled_phone
from bot.store.sqlite import SqliteStore
from bot.web.app import create_app
from bot.wiring import due_work
from tests.conftest import T0, make_config
from tests.fakes.twilio_api import (
    DEFAULT_ACCOUNT_SID,
    DEFAULT_AUTH_TOKEN,
    FakeTwilio,
    inbound_sms_form,
    sign_twilio_request,
)
from tests.serve_process import until

pytestmark = pytest.mark.timeout(60)
PUBLIC, TWILIO_NUMBER = "https://parley.example", "+447700900000"
COORD, LEAD = "+447700900555", "+447700900777"


@pytest.fixture
async def running(tmp_path: Path) -> AsyncIterator[tuple[ParleyService, FakeTwilio,
                                                           httpx.AsyncClient, ManualClock]]:
    fake = FakeTwilio()
    clock = ManualClock(T0)
    async with fake.serve() as served:
        config = make_config(
            server={"public_url": PUBLIC},
            sms={"account_sid": DEFAULT_ACCOUNT_SID, "auth_token": DEFAULT_AUTH_TOKEN,
                 "from_number": TWILIO_NUMBER, "api_base_url": served.base_url,
                 "rate_limit_per_second": 50, "request_timeout": 2},
            schedule={"quiet_hours": ""}, coordinators={"phones": [COORD]},
            safeguarding={"escalate_after": "2h", "escalate_to": [LEAD]})
        runtime: Runtime = await open_runtime(config, store=SqliteStore(tmp_path / "p.db"),
                                              clock=clock, ids=SequentialIds())
        service = ParleyService(runtime)
        service.add_channel(SmsChannel(config))
        await service.start()
        app = create_app(service, manage_lifecycle=False)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://internal") as http:
            yield service, fake, http, clock
        await service.stop()


async def text(http: httpx.AsyncClient, number: str, body: str) -> None:
    form = inbound_sms_form(number, TWILIO_NUMBER, body)
    signature = sign_twilio_request(DEFAULT_AUTH_TOKEN, PUBLIC + "/sms/inbound", form)
    response = await http.post("/sms/inbound", data=form,
                               headers={"X-Twilio-Signature": signature})
    assert response.status_code == 200


async def test_only_the_unacknowledged_flag_reaches_the_escalation_phone(
        running: tuple[ParleyService, FakeTwilio, httpx.AsyncClient, ManualClock]) -> None:
    service, fake, http, clock = running
    runtime = service.runtime
    await enrolled_phone(runtime, "tel:+447700900401")
    await enrolled_phone(runtime, "tel:+447700900402")
    await text(http, "+447700900401", "there is no way out")
    await text(http, "+447700900402", "I want to die")
    await until(lambda: len(fake.sent_to(COORD)) == 2, 20, "both SMS alerts")
    # ids identify items; they need not be consecutive (an id can be skipped)
    first, second = sorted(i.id or 0 for i in await runtime.store.attention_list())
    await Desk(store=runtime.store, config=runtime.config, clock=clock).ack(
        first, "lead@example.org", via="cli")

    clock.advance(dt.timedelta(hours=2, minutes=1))
    report = await due_work(runtime).due(clock.now())
    assert report.escalated == 1
    service.wake_senders()
    await until(lambda: fake.sent_to(LEAD), 20, "the escalation SMS")
    [escalation] = [m["body"] for m in fake.sent_to(LEAD)]
    assert f"#{second} has not been acknowledged for 2h" in escalation
    assert "die" not in escalation
    assert (await due_work(runtime).due(clock.now())).escalated == 0
    await service.wait_idle()
    assert len(fake.sent_to(LEAD)) == 1
