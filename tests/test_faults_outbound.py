"""Issue #11, outbound: pacing that cannot deadlock, senders that cannot die silently,
per-address order across retries and restarts, ambiguous sends resent once, a full
store during a broadcast, providers failing beyond the retry budget. Each defect test
failed on the code before the fix."""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
import time
from pathlib import Path

import httpx
import pytest

from bot.channels.sms import SmsChannel
from bot.clock import ManualClock
from bot.delivery.health import HealthCheck
from bot.delivery.supervisor import Supervisor
from bot.metrics import Metrics
from bot.runtime import open_runtime
from bot.service import ParleyService
from bot.store.records import Changes, InboxItem
from bot.store.scratch import ScratchStore
from bot.store.sqlite import SqliteStore
from bot.web.app import create_app
from tests import faults_support
from tests.conftest import T0, make_config
from tests.fakes.server import ServedApp
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, FakeTwilio
from tests.faults_support import (
    FINDING,
    FROM,
    capped_runtime,
    chat_message,
    fill_store,
    free_store,
    sms,
    sms_sender,
    telegram_sender,
    until,
)

# the suite's fixtures, shared through tests/faults_support.py
store, twilio, telegram = faults_support.store, faults_support.twilio, faults_support.telegram

pytestmark = [pytest.mark.timeout(40),
              pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")]


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
        await sender.wait_idle(3)  # and their outcomes recorded
    finally:
        await sender.stop()
    assert [m["body"][:5] for m in fake.sent_to("+447700900301")] == ["(1/2)", "(2/2)"]
    assert [m["body"][:5] for m in fake.sent_to("+447700900302")] == ["HELP:"]
    gaps = [b[2] - a[2] for a, b in zip(fake.calls, fake.calls[1:], strict=False)]
    assert all(gap >= 0.95 for gap in gaps), gaps  # still paced at the real rate
    assert {i.status for i in await store.outbox_all()} == {"sent"}

# -- defect 2: a storage error during a hand-over ended the SMS dispatcher for good ---------
async def test_the_dispatcher_survives_a_store_error_during_a_hand_over(
        twilio: tuple[FakeTwilio, ServedApp], tmp_path: Path) -> None:
    fake, srv = twilio
    fake.reset()
    store = SqliteStore(tmp_path / "parley.db", busy_timeout_ms=100)
    await store.open()
    sender = await sms_sender(store, srv.base_url, rate=5)
    sender.paused = True
    try:
        await store.apply(Changes(outbox=[sms("+447700900321", "Your next check-in")]))
        blocker = sqlite3.connect(tmp_path / "parley.db", isolation_level=None)
        blocker.execute("BEGIN EXCLUSIVE")  # reads work, marking the row 'sending' fails
        sender.paused = False
        sender.wake()
        await asyncio.sleep(0.8)
        blocker.execute("ROLLBACK")
        blocker.close()
        await until(lambda: fake.sent_to("+447700900321"), 8, "the SMS after the fault")
    finally:
        await sender.stop()
        await store.close()


# -- /healthz: 503 within 30 s of a dead sender, 200 again once it recovers by itself -------
async def test_healthz_names_a_dead_sender_then_recovers_without_a_restart(
        twilio: tuple[FakeTwilio, ServedApp], tmp_path: Path) -> None:
    fake, srv = twilio
    fake.reset()
    path = tmp_path / "parley.db"
    config = make_config(
        server={"public_url": "https://parley.example", "health_max_send_lag": "1m"},
        sms={"account_sid": DEFAULT_ACCOUNT_SID, "auth_token": DEFAULT_AUTH_TOKEN,
             "from_number": FROM, "api_base_url": srv.base_url, "request_timeout": 1})
    service = ParleyService(await open_runtime(config, store=SqliteStore(path)))
    service.add_channel(SmsChannel(config))
    await service.start()
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(
                create_app(service, manage_lifecycle=False)), base_url="http://t") as web:
            assert (await web.get("/healthz")).status_code == 200
            other = sqlite3.connect(path, isolation_level=None)
            other.execute("INSERT INTO outbox (participant_id, address, channel, payload, "
                          "created_at, not_before, status, attempts) VALUES ('', "
                          "'tel:+447700900331', 'sms', '{\"text\": \"Hel', "
                          "'2026-01-01T00:00:00+00:00', '2026-01-01T00:00:00+00:00', "
                          "'pending', 0)")  # a row the dispatcher cannot decode
            service.wake_senders()
            started = time.monotonic()
            while (answer := await web.get("/healthz")).status_code == 200:
                assert time.monotonic() - started < 30, "still 200 with a dead sender"
                await asyncio.sleep(0.1)
            assert answer.status_code == 503
            assert "outbox-sms" in answer.json()["reason"]
            assert service.metrics.value("parley_task_restarts_total", task="outbox-sms") >= 1
            other.execute("""UPDATE outbox SET payload = '{"text": "Hello", "plain": "Hello"}'""")
            other.close()
            await until(lambda: fake.sent_to("+447700900331"), 10, "the repaired row sent")
            started = time.monotonic()
            while (answer := await web.get("/healthz")).status_code != 200:
                assert time.monotonic() - started < 35, answer.text
                await asyncio.sleep(0.2)
    finally:
        await service.stop()

# -- defect 4: a row waiting to retry was overtaken by the next row to the same chat -------

async def test_a_row_waiting_to_retry_across_a_restart_is_not_overtaken(
        telegram: tuple[FakeTelegram, ServedApp], store: SqliteStore) -> None:
    fake, srv = telegram
    fake.reset()
    now = dt.datetime.now(dt.UTC)
    first = chat_message(601, "If you join, we ask about money once a fortnight.", now)
    second = chat_message(601, "We pay £5 for each check-in.", now + dt.timedelta(seconds=1))
    await store.apply(Changes(outbox=[first, second]))
    # what a 500 before a restart leaves: the first row waits 1.5 s to be tried again
    first.status, first.attempts = "retry", 1
    first.next_attempt_at = now + dt.timedelta(seconds=1.5)
    await store.outbox_update(first)
    sender, bot = await telegram_sender(store, srv.base_url)  # a fresh process's sender
    try:
        await until(lambda: len(fake.texts_to(601)) == 2, 8, "both messages")
    finally:
        await sender.stop()
        await bot.shutdown()
    assert fake.texts_to(601) == [first.payload["text"], second.payload["text"]]


async def test_a_failing_row_holds_back_its_chat_but_not_other_chats(
        telegram: tuple[FakeTelegram, ServedApp], store: SqliteStore) -> None:
    fake, srv = telegram
    fake.reset()
    fake.fail_next(602, kind="500", count=2)  # 1 s then 2 s of back-off
    now = dt.datetime.now(dt.UTC)
    rows = [chat_message(602, "one", now), chat_message(602, "two", now),
            chat_message(602, "three", now), chat_message(603, "elsewhere", now)]
    await store.apply(Changes(outbox=rows))
    sender, bot = await telegram_sender(store, srv.base_url)
    try:
        await until(lambda: fake.texts_to(603) == ["elsewhere"], 3, "the other chat")
        assert fake.texts_to(602) == []
        await until(lambda: len(fake.texts_to(602)) == 3, 10, "the failing chat")
    finally:
        await sender.stop()
        await bot.shutdown()
    assert fake.texts_to(602) == ["one", "two", "three"]


# -- defect 5: ambiguous Telegram sends were lost for good --------------------------------
async def test_a_dropped_telegram_send_is_resent_once_and_arrives(
        telegram: tuple[FakeTelegram, ServedApp], store: SqliteStore) -> None:
    fake, srv = telegram
    fake.reset()
    fake.fail_next(611, kind="drop")  # written, connection closed, never delivered
    fake.fail_next(612, kind="hang", hang_seconds=1.0)  # delivered, answer too late
    sender, bot = await telegram_sender(store, srv.base_url, resend_ambiguous=True,
                                        resend_delay=0.3)
    question = chat_message(611, "Would you like to take part? Reply YES or NO.")
    hung = chat_message(612, "How was your week, from 0 to 10?")
    try:
        await store.apply(Changes(outbox=[question, hung]))
        sender.wake()
        await until(lambda: fake.texts_to(611) and len(fake.texts_to(612)) == 2, 8,
                    "both resent")
        await asyncio.sleep(0.5)
    finally:
        await sender.stop()
        await bot.shutdown()
    assert fake.texts_to(611) == [question.payload["text"]]  # lost, then resent: once
    assert len(fake.texts_to(612)) == 2  # the nuisance DESIGN §3 accepts
    rows = {o.id: o for o in await store.outbox_all()}
    assert {rows[i].status for i in rows} == {"sent"}
    assert await store.outbox_resent(list(rows)) == set(rows)
    assert sender.metrics.value("parley_outbound_resent_total", channel="telegram") == 2


async def test_an_ambiguous_send_is_not_resent_after_the_person_wrote_or_twice(
        telegram: tuple[FakeTelegram, ServedApp], store: SqliteStore) -> None:
    fake, srv = telegram
    fake.reset()
    fake.fail_next(621, kind="drop")
    fake.fail_next(622, kind="drop", count=2)  # the resend is dropped too
    sender, bot = await telegram_sender(store, srv.base_url, resend_ambiguous=True,
                                        resend_delay=0.2)
    wrote = chat_message(621, "Thanks. What is your first name?")
    twice = chat_message(622, "Thanks. What is your first name?")
    await store.apply(Changes(outbox=[wrote, twice]))
    await store.inbox_put(InboxItem("telegram", "u1", "telegram:621", {"text": "Sam"},
                                    dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)))
    try:
        sender.wake()
        await asyncio.sleep(1.5)
    finally:
        await sender.stop()
        await bot.shutdown()
    assert fake.texts_to(621) == [] and fake.texts_to(622) == []
    rows = {o.address: o for o in await store.outbox_all()}
    assert rows["telegram:621"].status == rows["telegram:622"].status == "ambiguous"
    assert "written since" in (rows["telegram:621"].last_error or "")
    assert rows["telegram:622"].attempts == 2  # resent once, never twice


async def test_resending_is_off_with_never(
        telegram: tuple[FakeTelegram, ServedApp], store: SqliteStore) -> None:
    fake, srv = telegram
    fake.reset()
    fake.fail_next(631, kind="drop")
    sender, bot = await telegram_sender(store, srv.base_url, resend_delay=0.1)
    try:
        await store.apply(Changes(outbox=[chat_message(631, "Hello")]))
        sender.wake()
        await asyncio.sleep(0.8)
    finally:
        await sender.stop()
        await bot.shutdown()
    [row] = await store.outbox_all()
    assert row.status == "ambiguous" and fake.texts_to(631) == []
    assert make_config(telegram={"ambiguous": "never"}).telegram.ambiguous == "never"
    assert make_config().telegram.ambiguous == "resend_once"


async def test_a_telegram_send_cut_off_by_a_restart_is_resent_once(
        telegram: tuple[FakeTelegram, ServedApp], store: SqliteStore) -> None:
    fake, srv = telegram
    fake.reset()
    row = chat_message(641, "If you join, we ask about money once a fortnight.")
    await store.apply(Changes(outbox=[row]))
    row.status, row.attempts = "sending", 1  # what a crash mid-request leaves
    await store.outbox_update(row)
    sender, bot = await telegram_sender(store, srv.base_url, resend_ambiguous=True,
                                        resend_delay=0.2)
    try:
        await until(lambda: fake.texts_to(641), 5, "the resend after the restart")
        await asyncio.sleep(0.3)
    finally:
        await sender.stop()
        await bot.shutdown()
    assert fake.texts_to(641) == [row.payload["text"]]
    [stored] = await store.outbox_all()
    assert stored.status == "sent" and await store.outbox_resent([row.id or 0]) == {row.id}

# -- supervision: any task that fails is logged, counted, restarted; down meanwhile --------
async def test_a_failing_task_is_restarted_with_back_off_and_reported_while_down(
        caplog: pytest.LogCaptureFixture) -> None:
    metrics = Metrics()
    supervisor = Supervisor(metrics)
    runs: list[float] = []
    healthy = asyncio.Event()

    async def flaky() -> None:
        runs.append(time.monotonic())
        if len(runs) <= 2:
            raise OSError("No space left on device")
        healthy.set()
        await asyncio.sleep(60)

    supervisor.spawn("outbox-sms", flaky)
    await until(lambda: supervisor.problems(), 2, "the task reported down")
    assert supervisor.problems() == [
        "task outbox-sms is down (OSError: No space left on device)"]
    await asyncio.wait_for(healthy.wait(), 5)
    assert supervisor.problems() == []
    assert metrics.value("parley_task_restarts_total", task="outbox-sms") == 2
    assert runs[2] - runs[1] >= runs[1] - runs[0] >= 0.45  # 0.5 s, then 1 s
    assert "task outbox-sms failed; restarting" in caplog.text
    supervisor.failed("scheduler", "StoreError: store is full")
    assert supervisor.problems()[0] == "task scheduler is down (StoreError: store is full)"
    supervisor.recovered("scheduler")
    await supervisor.cancel()
    assert supervisor.problems() == []


# -- the store full (SQLite's max_page_count): nothing lost, order kept, all resumes -------

async def test_the_store_full_during_a_broadcast_sends_each_message_once(
        twilio: tuple[FakeTwilio, ServedApp], tmp_path: Path) -> None:
    fake, srv = twilio
    fake.reset()
    path = tmp_path / "parley.db"
    rt = await capped_runtime(path, room=80)
    store = rt.store
    assert isinstance(store, SqliteStore)
    numbers = [f"+4477009004{n:02d}" for n in range(12)]
    await store.apply(Changes(outbox=[sms(n, f"Round 1: how was your fortnight? ({n})")
                                      for n in numbers]))
    await fill_store(store)
    sender = await sms_sender(store, srv.base_url, rate=20)
    try:
        await asyncio.sleep(1.0)  # sending while nothing more fits on the disk
        free_store(path)
        await until(lambda: len(fake.messages) >= len(numbers), 10, "the broadcast")
        await asyncio.sleep(0.3)
        # sends Twilio took but that could not be noted were left ambiguous, never
        # 'sending' for good: the re-check (here called at once) finds them at Twilio
        await sender.resolve_ambiguous()
    finally:
        await sender.stop()
        await rt.close()
    assert sorted(m["to"] for m in fake.messages) == sorted(numbers)  # each exactly once
    with sqlite3.connect(path) as db:
        statuses = db.execute("SELECT status, count(*) FROM outbox WHERE address LIKE 'tel:%' "
                              "GROUP BY status").fetchall()
    assert statuses == [("sent", len(numbers))]

# -- providers: 429 and 500 for longer than one retry budget --------------------------------
async def test_rate_limits_and_errors_beyond_the_retry_budget_are_recorded_never_doubled(
        telegram: tuple[FakeTelegram, ServedApp], store: SqliteStore) -> None:
    fake, srv = telegram
    fake.reset()
    fake.fail_next(651, kind="429", count=2, retry_after=1)  # waits 1 s twice, then takes it
    fake.fail_next(652, kind="500", count=2)  # the whole of this sender's budget: 2 tries
    sender, bot = await telegram_sender(store, srv.base_url, max_attempts=2)
    rows = [chat_message(651, "Limited, then sent"), chat_message(652, "Never accepted"),
            chat_message(652, "The next one to that chat"), chat_message(653, "Unaffected")]
    try:
        await store.apply(Changes(outbox=rows))
        sender.wake()
        await until(lambda: fake.texts_to(651) and fake.texts_to(652), 10, "the survivors")
        await sender.wait_idle(3)
    finally:
        await sender.stop()
        await bot.shutdown()
    assert fake.texts_to(651) == ["Limited, then sent"]
    assert fake.texts_to(652) == ["The next one to that chat"]  # after the failed one ended
    assert fake.texts_to(653) == ["Unaffected"]
    got = {o.payload["text"]: o for o in await store.outbox_all()}
    assert got["Never accepted"].status == "failed"
    assert (got["Never accepted"].last_error or "").startswith("gave up")
    assert {got[t].status for t in got if t != "Never accepted"} == {"sent"}


async def test_a_multi_part_telegram_message_at_one_per_second_per_chat_earns_no_429(
        store: SqliteStore) -> None:
    fake = FakeTelegram(enforce_limits=True, per_chat_per_second=1)  # Telegram's real pace
    long_text = "\n\n".join(f"Paragraph {n}: " + "words " * 150 for n in range(8))
    with fake.serve() as srv:
        sender, bot = await telegram_sender(store, srv.base_url)
        try:
            await store.apply(Changes(outbox=[chat_message(661, long_text),
                                              chat_message(661, "And a question?")]))
            sender.wake()
            await until(lambda: len(fake.texts_to(661)) == 3, 8, "both parts and the next")
            await sender.wait_idle(3)
        finally:
            await sender.stop()
            await bot.shutdown()
    texts = fake.texts_to(661)
    assert len(long_text) > 4096 and texts[0].startswith("Paragraph 0")
    assert texts[2] == "And a question?" and fake.rate_limited_count == 0
    assert {o.status for o in await store.outbox_all()} == {"sent"}


async def test_health_names_a_send_lag_over_the_configured_limit() -> None:
    clock = ManualClock(T0)
    store = ScratchStore(clock=clock)
    await store.open()
    try:
        health = HealthCheck(store, clock, Supervisor(Metrics()), "5m")
        await store.apply(Changes(outbox=[sms("+447700900361", "Due at 09:00", at=T0)]))
        clock.set(T0 + dt.timedelta(minutes=4))
        assert await health.problem(["sms"]) == ""
        clock.set(T0 + dt.timedelta(minutes=6))
        assert (await health.problem(["sms"])).startswith(
            "sms sending lags: a message due 360s ago is not sent")
        assert await health.problem([]) == ""  # a paused sender is not asked about
    finally:
        await store.close()
