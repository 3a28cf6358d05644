"""The fault suite of issue #11: one deterministic test per reproduced defect, each of
which failed on the code before the fix, plus faults a provider or the disk can cause.

Real parts throughout: the real twilio ``Client`` and python-telegram-bot ``Bot`` against
the local fakes on 127.0.0.1, real SQLite files, Parley's own outbox and inbox.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx
import pytest
from telegram import Bot
from telegram.request import HTTPXRequest

from bot.channels.base import Pacing
from bot.channels.sms import SmsChannel
from bot.channels.sms_transport import TwilioTransport
from bot.channels.telegram_http import LeanRequest
from bot.channels.telegram_transport import TelegramTransport
from bot.clock import ManualClock, SystemClock
from bot.delivery.inbox import InboxProcessor
from bot.delivery.outbox import OutboxSender
from bot.delivery.supervisor import Supervisor
from bot.engine import StepContext, begin, step
from bot.engine.events import FlowErrored
from bot.engine.io import Reply
from bot.errors import FlowError, StoreError
from bot.flow_errors import log_flow_errors
from bot.flows.loader import FlowLibrary, parse_flow_source
from bot.i18n.renderer import Renderer
from bot.metrics import Metrics
from bot.rounds.status import round_status
from bot.runtime import Runtime, open_runtime
from bot.service import ParleyService
from bot.simulator import SimulatedPhone
from bot.store.records import Changes, EventRow, InboxItem, OutboxItem
from bot.store.sqlite import SqliteStore
from bot.web.app import create_app
from tests.conftest import T0, make_config
from tests.fakes.server import ServedApp
from tests.fakes.telegram_api import DEFAULT_TOKEN, FakeTelegram
from tests.fakes.twilio_api import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, FakeTwilio
from tests.rounds_support import close_projects, open_project  # noqa: F401 (fixture)

pytestmark = [pytest.mark.timeout(40),
              pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")]

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
        await sender.wait_idle(3)  # and their outcomes recorded
    finally:
        await sender.stop()
    assert [m["body"][:5] for m in fake.sent_to("+447700900301")] == ["(1/2)", "(2/2)"]
    assert [m["body"][:5] for m in fake.sent_to("+447700900302")] == ["HELP:"]
    gaps = [b[2] - a[2] for a, b in zip(fake.calls, fake.calls[1:], strict=False)]
    assert all(gap >= 0.95 for gap in gaps), gaps  # still paced at the real rate
    assert {i.status for i in await store.outbox_all()} == {"sent"}


# -- defect 3: after a failed message, the same person's next one overtook it --------------
@pytest.fixture
async def sqlite_runtime(tmp_path: Path) -> AsyncIterator[Runtime]:
    store = SqliteStore(tmp_path / "parley.db", busy_timeout_ms=100)
    rt = await open_runtime(make_config(), store=store, clock=ManualClock(T0))
    yield rt
    await rt.close()


def inbound(key: str, address: str, text: str) -> InboxItem:
    return InboxItem(channel="sms", dedupe_key=key, address=address,
                     payload={"text": text, "kind": "text"}, received_at=T0)


async def test_a_message_that_fails_holds_back_the_persons_next_one(
        sqlite_runtime: Runtime, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    rt, address = sqlite_runtime, "tel:+447700900311"
    phone = SimulatedPhone(rt, address)
    for text in ("Hi", "1", "yes"):  # language, consent: now asked their name
        await phone.say(text)
    processor = InboxProcessor(rt.store, rt.conversations, rt.clock, Metrics(), paused=True)
    name = inbound("SM1", address, "Sam")
    await processor.accept(name)
    blocker = sqlite3.connect(tmp_path / "parley.db", isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")  # the store cannot write: processing fails
    processor.schedule(name)
    await until(lambda: "will be retried" in caplog.text, 5, "the first failure")
    blocker.execute("ROLLBACK")
    blocker.close()
    processor.paused = False
    await processor.accept(inbound("SM2", address, "1"))  # "morning", to the next question
    await until(lambda: not processor._queues, 10, "both processed")
    await processor.stop()
    person = await rt.store.participant_for_address(address)
    assert person is not None
    assert person.profile.get("preferred_name") == "Sam"
    assert person.profile.get("contact_time") == "morning"
    assert await rt.store.inbox_pending() == []


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
@pytest.fixture(scope="module")
def telegram() -> Iterator[tuple[FakeTelegram, ServedApp]]:
    fake = FakeTelegram()
    with fake.serve() as srv:
        yield fake, srv


async def telegram_sender(store: SqliteStore, base_url: str, **options: object,
                          ) -> tuple[OutboxSender, Bot]:
    bot = Bot(DEFAULT_TOKEN, base_url=f"{base_url}/bot",
              request=LeanRequest(files=HTTPXRequest(), read_timeout=0.5, connect_timeout=1,
                                  write_timeout=1))
    sender = OutboxSender(store, TelegramTransport(bot, Pacing(30, 1)), SystemClock(),
                          Metrics(), poll_interval=0.05, **options)  # type: ignore[arg-type]
    await sender.start()
    return sender, bot


def chat_message(chat: int, text: str, at: dt.datetime | None = None) -> OutboxItem:
    now = at or dt.datetime.now(dt.UTC)
    return OutboxItem(participant_id="", address=f"telegram:{chat}", channel="telegram",
                      payload={"text": text, "plain": text, "kind": "notice"},
                      created_at=now, not_before=now)


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


# -- defect 8: a template using an undefined name was accepted, then silently not sent -----
AGE_FLOW = """\
schema_version = 1
id = "age"
title = "Age"
start = "born"

[nodes.born]
type = "ask"
text = "age.born"
answer = { kind = "number" }
save_as = "age"
next = "check"

[nodes.check]
type = "ask"
text = "age.check"
answer = { kind = "text", max_length = 40 }
next = "done"

[nodes.done]
type = "end"
"""


def age_project(tmp_path: Path, check: str) -> tuple[Path, Path]:
    flows, templates = tmp_path / "flows", tmp_path / "templates"
    flows.mkdir(parents=True)
    (flows / "age.toml").write_text(AGE_FLOW)
    for locale, born in (("en", "How old are you?"), ("cy", "Faint yw eich oed?")):
        (templates / locale).mkdir(parents=True)
        (templates / locale / "age.toml").write_text(
            f'born = "{born}"\n\ncheck = "{check}"\n', encoding="utf-8")
    return flows, templates


def test_flows_validate_reports_an_undefined_name_at_its_file_and_line(
        tmp_path: Path) -> None:
    flows, templates = age_project(tmp_path, "So you are {{ age }}?")
    renderer = Renderer.from_dir(templates)
    with pytest.raises(FlowError) as caught:
        FlowLibrary.from_dir(flows, renderer, ["en", "cy"])
    lines = [str(p) for p in caught.value.problems]
    assert lines == [
        f"{templates}/en/age.toml:3: template 'age.check' (en, used by flow 'age' node "
        "'check'): 'age' is undefined; write fields.age",
        f"{templates}/cy/age.toml:3: template 'age.check' (cy, used by flow 'age' node "
        "'check'): 'age' is undefined; write fields.age"]
    fixed, templates_ok = age_project(tmp_path / "ok", "So you are {{ fields.age }}?")
    FlowLibrary.from_dir(fixed, Renderer.from_dir(templates_ok), ["en", "cy"])  # accepted
    typo, templates_typo = age_project(tmp_path / "typo", "{{ fields.agee }}?")
    with pytest.raises(FlowError, match="the flow saves no field 'agee'"):
        FlowLibrary.from_dir(typo, Renderer.from_dir(templates_typo), ["en"])


def test_a_render_failure_at_run_time_still_sends_a_fallback_and_is_recorded(
        caplog: pytest.LogCaptureFixture) -> None:
    renderer = Renderer({"en": {"age.born": "How old are you?",
                                "age.check": "So you are {{ fields.age }}?"},
                         "cy": {"age.born": "Faint yw eich oed?",
                                "age.check": "Felly rydych chi'n {{ age }}?"}})
    flow = parse_flow_source(AGE_FLOW, "age.toml")  # parsed without template checks
    ctx = StepContext(renderer=renderer)
    started = begin(flow, session_id="s1", participant_id="p1", locale="cy", now=T0, ctx=ctx)
    result = step(flow, started.session, Reply("42"), T0, ctx)
    assert [o.text for o in result.outputs] == ["So you are 42?"]  # English, not nothing
    errors = [e for e in result.events if isinstance(e, FlowErrored)]
    assert errors, result.events
    assert errors[0].node == "check" and "'age' is undefined" in errors[0].message
    with caplog.at_level("WARNING", logger="parley.flows"):
        assert log_flow_errors(flow.id, result.events) == len(errors)
    assert "flow age, node check" in caplog.text
    english_only = Renderer({"en": {"x.q": "Hello {{ name }}, how are you?"}})
    assert english_only.render_fallback("x.q", "en", {}) == "Hello , how are you?"


# -- defect 6: a round was blind to the introductions and consent it caused ----------------
async def test_a_round_counts_the_introduction_and_consent_it_caused(tmp_path: Path) -> None:
    p = await open_project(tmp_path, dt.datetime(2026, 3, 2, 10, tzinfo=dt.UTC))
    await p.person("Dai", "tel:+447700900009", status="new")
    await p.person("Ann", "tel:+447700900001")
    item = await p.rounds.build(flow="checkin", audience="all")
    await p.rounds.create(item, "test")
    await p.rounds.start(item.id, "test")
    await p.work.due(p.clock.now())
    await p.deliver()
    status = await round_status(p.store, item)
    dai = [o for o in await p.store.outbox_all() if o.address == "tel:+447700900009"]
    assert len(dai) >= 2 and {o.round_id for o in dai} == {item.id}  # intro + consent
    assert status["sent"] == 2  # both people, not only Ann
    assert status["messages"] == {"queued": len(dai) + 1, "sent": len(dai) + 1,
                                  "delivered": 0, "ambiguous": 0, "resent": 0, "failed": 0}
    await p.say("Dai", "yes")
    for answer in ["Dai", "1", "2", "1"]:  # onboarding, then the round's flow
        await p.say("Dai", answer)
    everything = await p.store.outbox_all()
    assert {o.round_id for o in everything} == {item.id}  # each one caused by the round
    status = await round_status(p.store, item)
    assert status["messages"]["queued"] == len(everything)
    assert status["messages"]["sent"] == sum(o.status == "sent" for o in everything)
    [first] = [o for o in everything if o.address == "tel:+447700900001"][:1]
    first.status, first.last_error = "ambiguous", "timed out"
    await p.store.outbox_update(first)
    assert first.id is not None and await p.store.outbox_resend_add(first.id, p.clock.now())
    status = await round_status(p.store, item)
    assert (status["messages"]["ambiguous"], status["messages"]["resent"]) == (2, 1)
    assert set(status) >= {"id", "flow", "label", "targeted", "sent", "delivered", "started",
                           "completed", "opted_out", "unreachable", "ambiguous",
                           "segments_estimated", "segments_sent", "by_channel"}


async def test_the_dry_run_estimate_includes_the_introduction_and_consent(
        tmp_path: Path) -> None:
    p = await open_project(tmp_path, dt.datetime(2026, 3, 2, 10, tzinfo=dt.UTC))
    await p.person("Dai", "tel:+447700900009", status="new")
    await p.person("Ann", "tel:+447700900001")
    item = await p.rounds.build(flow="checkin", audience="all")
    preview = await p.rounds.preview(item)
    cost = {t.participant_id: t.segments_estimated for t in preview.targets}
    estimate = p.rounds.estimator(item)
    assert cost["p_ann"] == estimate.segments("en") == 2  # question and thanks
    assert estimate.first_contact("en") >= 2  # introduction, consent question, …
    assert cost["p_dai"] == cost["p_ann"] + estimate.first_contact("en")


# -- defect 7: a round reminder and the flow's own timeout both nudged --------------------
async def test_a_round_reminder_gives_way_to_the_flows_own_timeout(tmp_path: Path) -> None:
    start = dt.datetime(2026, 3, 2, 10, tzinfo=dt.UTC)
    p = await open_project(tmp_path, start)
    await p.person("Ann", "tel:+447700900001")
    item = await p.rounds.build(flow="ons4", audience="all", remind_after="2d")
    await p.rounds.create(item, "test")
    await p.rounds.start(item.id, "test")
    await p.run_until(start + dt.timedelta(days=3))  # the README's own example
    nudges = [d for d in p.log if "reminder" in d.text.lower()]
    # one nudge, the flow's own ("Just a gentle reminder: …"), not the round's as well
    assert [d.text[:22] for d in nudges] == ["Just a gentle reminder"]
    assert sum(r.skipped_reminders for r in p.reports) == 1
    assert make_config().schedule.nudge_merge_window == "6h"


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
def filler(kind: str, n: int, size: int) -> Changes:
    """One harmless row of ``kind`` (never due, never anyone's): what fills the disk."""
    if kind == "meta":
        return Changes()
    if kind == "events":
        return Changes(events=[EventRow(None, None, "Filler", {"x": "x" * size}, T0)])
    return Changes(outbox=[OutboxItem(participant_id="", address=f"filler:{n}",
                                      channel="sms", payload={"x": "x" * size},
                                      created_at=T0, not_before=T0, status="cancelled")])


async def fill_store(store: SqliteStore) -> int:
    """Write filler through the store itself until SQLite reports it full, in ever
    smaller pieces and into the tables processing writes, so nothing more fits."""
    written = 0
    for size in (3000, 400, 60, 8):
        for kind in ("meta", "events", "outbox"):
            for _ in range(100_000):
                try:
                    if kind == "meta":
                        await store.set_meta(f"filler.{written}", "x" * size)
                    else:
                        await store.apply(filler(kind, written, size))
                except StoreError:
                    break
                written += 1
    return written


def free_store(path: Path) -> None:
    with sqlite3.connect(path) as other:
        other.execute("DELETE FROM meta WHERE key LIKE 'filler.%'")
        other.execute("DELETE FROM events WHERE name = 'Filler'")
        other.execute("DELETE FROM outbox WHERE address LIKE 'filler:%'")


async def capped_runtime(path: Path, room: int = 60) -> Runtime:
    setup = SqliteStore(path)
    await setup.open()
    await setup.close()
    pages = sqlite3.connect(path).execute("PRAGMA page_count").fetchone()[0]
    store = SqliteStore.from_url(f"sqlite:///{path}?max_page_count={pages + room}")
    return await open_runtime(make_config(), store=store, clock=ManualClock(T0))


async def test_the_store_full_during_inbound_processing_loses_and_reorders_nothing(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "parley.db"
    rt = await capped_runtime(path)
    try:
        address = "tel:+447700900341"
        phone = SimulatedPhone(rt, address)
        for text in ("Hi", "1", "yes"):
            await phone.say(text)
        processor = InboxProcessor(rt.store, rt.conversations, rt.clock, Metrics(),
                                   paused=True)
        messages = [inbound(f"SM{n}", address, text)
                    for n, text in enumerate(["Sam", "1", "3", "2"])]
        for item in messages:
            assert await processor.accept(item)
        assert isinstance(rt.store, SqliteStore)
        await fill_store(rt.store)
        for item in messages:
            processor.schedule(item)
        await until(lambda: "will be retried" in caplog.text, 5, "processing to fail")
        free_store(path)
        await until(lambda: not processor._queues, 15, "all processed after the disk freed")
        await processor.stop()
        person = await rt.store.participant_for_address(address)
        assert person is not None
        assert (person.profile.get("preferred_name"), person.profile.get("contact_time")) \
            == ("Sam", "morning")
        fields = [(a.field, a.raw) for a in await rt.store.answers(participant_id=person.id)]
        assert fields[:2] == [("participant.preferred_name", "Sam"),
                              ("participant.contact_time", "1")]  # each under its question
        assert await rt.store.inbox_pending() == []
    finally:
        await rt.close()


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


async def test_an_older_message_only_the_store_knows_of_is_processed_first(
        sqlite_runtime: Runtime) -> None:
    """Another process accepted the person's message and died before processing it:
    this process's next message from them waits for it (order kept in the store)."""
    rt, address = sqlite_runtime, "tel:+447700900351"
    phone = SimulatedPhone(rt, address)
    for text in ("Hi", "1", "yes"):
        await phone.say(text)
    assert await rt.store.inbox_put(inbound("SM1", address, "Sam"))  # the other process
    processor = InboxProcessor(rt.store, rt.conversations, rt.clock, Metrics())
    await processor.accept(inbound("SM2", address, "1"))
    await until(lambda: not processor._queues, 10, "both processed")
    person = await rt.store.participant_for_address(address)
    assert person is not None
    assert (person.profile.get("preferred_name"), person.profile.get("contact_time")) == (
        "Sam", "morning")


async def test_the_dashboard_overview_shows_recent_render_failures() -> None:
    from tests.test_dashboard import build, login

    clock = ManualClock(T0)
    runtime, app = await build(clock)
    try:
        problem = "template 'age.check' (cy): 'age' is undefined"
        await runtime.store.apply(Changes(events=[
            EventRow("p1", "s1", "FlowErrored", {"node": "check", "message": problem}, T0),
            EventRow("p2", "s2", "FlowErrored", {"node": "check", "message": problem}, T0)]))
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app),
                                     base_url="http://parley.test") as client:
            await login(client)
            page = (await client.get("/admin/")).text
            assert 'id="flow-problems"' in page and "(2×)" in page
            assert "&#39;age&#39; is undefined" in page or "'age' is undefined" in page
            clock.set(T0 + dt.timedelta(days=8))  # a week later the notice is gone
            assert 'id="flow-problems"' not in (await client.get("/admin/")).text
    finally:
        await runtime.close()
