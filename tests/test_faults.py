"""The fault suite of issue #11: one deterministic test per reproduced defect, each of
which failed on the code before the fix, plus faults a provider or the disk can cause.

Real parts throughout: the real twilio ``Client`` and python-telegram-bot ``Bot`` against
the local fakes on 127.0.0.1, real SQLite files, Parley's own outbox and inbox.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from bot.channels.sms_transport import TwilioTransport
from bot.clock import SystemClock
from bot.delivery.outbox import OutboxSender
from bot.metrics import Metrics
from bot.store.records import Changes, OutboxItem
from bot.store.sqlite import SqliteStore
from tests.conftest import make_config
from tests.fakes.server import ServedApp
from tests.fakes.twilio_api import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, FakeTwilio

pytestmark = pytest.mark.timeout(40)

FROM = "+447700900000"
FINDING = ("People told us that letters about benefit changes arrive too late to act on. "
           "Several said they found out about a cut only when their payment was smaller. "
           "Most wanted a text a month before any change, in plain words.")


async def until(check: Callable[[], object], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


@pytest.fixture(scope="module")
def twilio() -> Iterator[tuple[FakeTwilio, ServedApp]]:
    fake = FakeTwilio(hang_seconds=2.0)
    with fake.serve() as srv:
        yield fake, srv


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    db = SqliteStore(tmp_path / "parley.db")
    await db.open()
    yield db
    await db.close()


def sms(to: str, text: str, *, long_ok: bool = False,
        at: dt.datetime | None = None) -> OutboxItem:
    now = at or dt.datetime.now(dt.UTC)
    return OutboxItem(participant_id="", address=f"tel:{to}", channel="sms",
                      payload={"plain": text, "text": text, "long_ok": long_ok},
                      created_at=now, not_before=now)


async def sms_sender(store: SqliteStore, base_url: str, rate: float) -> OutboxSender:
    config = make_config(sms={"account_sid": DEFAULT_ACCOUNT_SID,
                              "auth_token": DEFAULT_AUTH_TOKEN, "from_number": FROM,
                              "api_base_url": base_url, "request_timeout": 1,
                              "rate_limit_per_second": rate})
    transport = TwilioTransport(config, store=store)
    sender = OutboxSender(store, transport, SystemClock(), Metrics(), poll_interval=0.05)
    transport.window = sender.window  # as SmsChannel.start does
    await sender.start()
    return sender


# -- defect 1: a multi-part SMS at 1/s froze all SMS sending --------------------------------
async def test_a_two_part_sms_at_one_per_second_goes_out_and_sending_goes_on(
        twilio: tuple[FakeTwilio, ServedApp], store: SqliteStore) -> None:
    fake, srv = twilio
    fake.reset()
    sender = await sms_sender(store, srv.base_url, rate=1)
    try:
        await store.apply(Changes(outbox=[sms("+447700900301", FINDING, long_ok=True),
                                          sms("+447700900302", "HELP: call 0800 123 456")]))
        sender.wake()
        await until(lambda: len(fake.messages) == 3, 8, "both parts and the next SMS")
    finally:
        await sender.stop()
    assert [m["body"][:5] for m in fake.sent_to("+447700900301")] == ["(1/2)", "(2/2)"]
    assert [m["body"][:5] for m in fake.sent_to("+447700900302")] == ["HELP:"]
    gaps = [b[2] - a[2] for a, b in zip(fake.calls, fake.calls[1:], strict=False)]
    assert all(gap >= 0.95 for gap in gaps), gaps  # still paced at the real rate
    assert {i.status for i in await store.outbox_all()} == {"sent"}
