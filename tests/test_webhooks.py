"""Outbound webhooks (issue 16): each event POSTed once per id, signed, through the outbox.

A real receiver on 127.0.0.1 (port 0) records what arrives and answers as scripted;
Parley's side is real: SQLite in a temp folder, the conversations, the outbox sender,
httpx. Time moves by the test's clock, never by sleeping out back-offs.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.clock import ManualClock
from bot.config import load_config
from bot.delivery import address_problems
from bot.delivery.address_problems import OptedOutAtCarrier
from bot.errors import ConfigError
from bot.ids import SequentialIds
from bot.metrics import Metrics
from bot.runtime import Runtime, open_runtime
from bot.server import build_service
from bot.simulator import SimulatedPhone
from bot.store.base import Store
from bot.store.records import Changes, EventRow, OutboxItem
from bot.store.round_records import Round
from bot.store.sqlite import SqliteStore
from bot.store.webhooks import WebhookSource
from bot.webhooks.payloads import body, occurrence
from bot.webhooks.queue import WebhookQueue
from bot.webhooks.sender import WebhookSender
from bot.webhooks.transport import WebhookTransport
from tests import test_store_contract as contract
from tests.conftest import T0, make_config
from tests.fakes.server import ServedApp

SECRET = "test-webhook-secret"
PHONE = "tel:+447700900123"
store = contract.store  # the contract suite's fixture: every store implementation
ALL = ["answer.recorded", "answer.skipped", "flow.completed", "consent.given",
       "participant.opted_out", "round.completed"]


@dataclass
class Receiver:
    """Records each POST; answers the scripted statuses first, then 200."""

    script: list[int] = field(default_factory=list)
    got: list[tuple[dict[str, str], bytes]] = field(default_factory=list)

    def app(self) -> Starlette:
        async def hook(request: Request) -> Response:
            self.got.append((dict(request.headers), await request.body()))
            return Response("ok" * 10, status_code=self.script.pop(0) if self.script else 200)
        return Starlette(routes=[Route("/hook", hook, methods=["POST"])])

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(raw) for _, raw in self.got]


def signed(headers: dict[str, str], raw: bytes) -> bool:
    expected = "sha256=" + hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
    return hmac.compare_digest(headers["x-parley-signature"], expected)


@pytest.fixture
def receiver() -> Any:
    rec = Receiver()
    with ServedApp(rec.app()) as served:
        yield rec, served.url("/hook")


def hook(url: str, events: list[str] | None = None, **more: object) -> dict[str, object]:
    return {"url": url, "events": events or ALL, "secret": SECRET, **more}


@pytest.fixture
async def sqlite_runtime(tmp_path: Path, receiver: Any) -> AsyncIterator[Runtime]:
    _, url = receiver
    config = make_config(webhooks=[hook(url)])
    rt = await open_runtime(config, store=SqliteStore(tmp_path / "parley.db"),
                            clock=ManualClock(T0), ids=SequentialIds())
    yield rt
    await rt.close()


async def until(check: Callable[[], bool], timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.01)


def retries(metrics: Metrics) -> float:
    return metrics.value("parley_outbound_total", channel="webhook", outcome="retry")


def sender(rt: Runtime, metrics: Metrics, max_attempts: int = 12) -> WebhookSender:
    return WebhookSender(rt.store, WebhookTransport(rt.config.webhooks), rt.clock, metrics,
                         workers=2, poll_interval=0.01, max_attempts=max_attempts)


async def test_events_arrive_once_each_signed_and_without_phone_numbers(
        sqlite_runtime: Runtime, receiver: Any) -> None:
    rt, (rec, _) = sqlite_runtime, receiver
    queue = WebhookQueue(rt.store, rt.config.webhooks, ids=SequentialIds())
    await queue.sync(rt.clock.now())  # starts the cursor: nothing before it is sent
    phone = SimulatedPhone(rt, PHONE)
    for text in ["Hi", "1", "yes", "Jo", "1", "2", "3", "STOP"]:
        await phone.say(text)
    queued = await queue.sync(rt.clock.now())
    assert await queue.sync(rt.clock.now()) == 0  # the cursor moved with the rows
    out = sender(rt, Metrics())
    await out.start()
    try:
        await out.wait_idle()
    finally:
        await out.stop()
    assert len(rec.got) == queued > 0
    assert all(signed(headers, raw) for headers, raw in rec.got)
    bodies = rec.bodies()
    assert len({b["id"] for b in bodies}) == len(bodies)  # once per id
    events = [b["event"] for b in bodies]
    assert {"consent.given", "answer.recorded", "flow.completed",
            "participant.opted_out"} <= set(events)
    person = await rt.store.participant_for_address(PHONE)
    assert person is not None
    name = next(b["data"] for b in bodies if b["event"] == "answer.recorded"
                and b["data"]["field"] == "participant.preferred_name")
    assert name["value"] == "Jo" and name["participant_id"] == person.id and name["flow"]
    stop = next(b for b in bodies if b["event"] == "participant.opted_out")
    assert stop["data"] == {"participant_id": person.id, "channel": "sms", "via": "stop"}
    assert events.index("participant.opted_out") == len(events) - 1  # in order
    assert all("+4477009" not in raw.decode() for _, raw in rec.got)
    rows = [o for o in await rt.store.outbox_all() if o.channel == "webhook"]
    assert {o.status for o in rows} == {"sent"} and all(o.payload["body"] for o in rows)
    assert await queue.sync(rt.clock.now()) == 0  # the next pass blanks what was delivered
    rows = [o for o in await rt.store.outbox_all() if o.channel == "webhook"]
    assert all(o.payload == {} for o in rows)


async def test_erasing_a_person_cancels_the_webhooks_about_them(
        sqlite_runtime: Runtime) -> None:
    rt = sqlite_runtime
    queue = WebhookQueue(rt.store, rt.config.webhooks)
    await queue.sync(rt.clock.now())
    phone = SimulatedPhone(rt, PHONE)
    for text in ["Hi", "1", "yes", "Jo"]:
        await phone.say(text)
    assert await queue.sync(rt.clock.now()) > 0
    person = await rt.store.participant_for_address(PHONE)
    assert person is not None
    assert await rt.store.outbox_of(person.id) == phone_rows(await rt.store.outbox_all())
    await rt.store.erase_participant(person.id, rt.clock.now())
    rows = [o for o in await rt.store.outbox_all() if o.channel == "webhook"]
    assert rows and all(o.status == "cancelled" and o.payload == {} for o in rows)


async def test_an_opt_out_at_the_carrier_is_a_webhook_too(sqlite_runtime: Runtime) -> None:
    rt = sqlite_runtime
    queue = WebhookQueue(rt.store, rt.config.webhooks)
    phone = SimulatedPhone(rt, PHONE)
    for text in ["Hi", "1", "yes", "Jo", "1", "2", "3"]:
        await phone.say(text)
    await queue.sync(rt.clock.now())  # starts the cursor after the enrolment
    for _ in range(2):  # Twilio 21610 on a send, then on a delivery report: one event
        await address_problems.mark(rt.store, PHONE, OptedOutAtCarrier(rt.clock.now()))
    assert await queue.sync(rt.clock.now()) == 1
    person = await rt.store.participant_for_address(PHONE)
    assert person is not None
    body = json.loads([o for o in await rt.store.outbox_all()][-1].payload["body"])
    assert (body["event"], body["data"]) == ("participant.opted_out", {
        "participant_id": person.id, "channel": "sms", "via": "carrier"})


def phone_rows(rows: list[OutboxItem]) -> list[OutboxItem]:
    return [o for o in rows if o.channel != "webhook"]


async def test_a_500_twice_then_200_is_delivered_with_the_same_id(
        sqlite_runtime: Runtime, receiver: Any) -> None:
    rt, (rec, _) = sqlite_runtime, receiver
    clock = rt.clock
    assert isinstance(clock, ManualClock)
    queue = WebhookQueue(rt.store, rt.config.webhooks)
    await queue.sync(clock.now())
    await rt.store.round_add(Round(id="r1", flow_id="pulse", audience="all", created_at=T0,
                                   start_at=T0, status="closed", closed_at=T0, label="May"))
    assert await queue.sync(clock.now()) == 1
    assert await queue.sync(clock.now()) == 0
    rec.script[:] = [500, 500]
    metrics = Metrics()
    out = sender(rt, metrics)
    await out.start()
    try:
        for n in (1, 2):
            # the outcome is recorded (retry due at now + back-off): then move time on
            await until(lambda n=n: retries(metrics) == n)
            clock.advance(timedelta(seconds=5))  # past the back-off, without sleeping
        await until(lambda: len(rec.got) == 3)
        await out.wait_idle()
    finally:
        await out.stop()
    bodies = rec.bodies()
    assert len({b["id"] for b in bodies}) == 1 and len({raw for _, raw in rec.got}) == 1
    assert all(signed(headers, raw) for headers, raw in rec.got)
    assert bodies[0]["event"] == "round.completed"
    assert bodies[0]["data"]["round_id"] == "r1" and bodies[0]["data"]["label"] == "May"
    assert bodies[0]["data"]["counts"]["targeted"] == 0
    assert [o.status for o in await rt.store.outbox_all()] == ["sent"]
    assert "parley_outbound_total" in metrics.render()


async def test_a_post_interrupted_by_a_crash_is_sent_again_on_start(
        sqlite_runtime: Runtime, receiver: Any) -> None:
    rt, (rec, _) = sqlite_runtime, receiver
    queue = WebhookQueue(rt.store, rt.config.webhooks)
    await queue.sync(T0)
    await rt.store.round_add(Round(id="r4", flow_id="pulse", audience="all", created_at=T0,
                                   start_at=T0, status="closed"))
    await queue.sync(T0)
    rt.store.holder = "the-process-that-crashed"
    await rt.store.outbox_mark_sending(await rt.store.outbox_all())  # then the crash
    rt.store.holder = "the-process-started-again"  # a process is known by its holder name
    out = sender(rt, Metrics())
    await out.start()
    try:
        await until(lambda: len(rec.got) == 1)
        await out.wait_idle()
    finally:
        await out.stop()
    assert [o.status for o in await rt.store.outbox_all()] == ["sent"]


async def test_an_unreachable_receiver_is_given_up_after_the_retry_budget(
        tmp_path: Path) -> None:
    with socket.socket() as s:  # a port nobody listens on: connection refused
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = make_config(webhooks=[hook(f"http://127.0.0.1:{port}/hook")])
    clock = ManualClock(T0)
    rt = await open_runtime(config, store=SqliteStore(tmp_path / "p.db"), clock=clock)
    try:
        queue = WebhookQueue(rt.store, rt.config.webhooks)
        await queue.sync(T0)
        await rt.store.round_add(Round(id="r2", flow_id="pulse", audience="all",
                                       created_at=T0, start_at=T0, status="closed"))
        await queue.sync(T0)
        metrics = Metrics()
        out = sender(rt, metrics, max_attempts=2)
        await out.start()
        try:
            await until(lambda: retries(metrics) == 1)
            clock.advance(timedelta(seconds=5))
            await out.wait_idle()
        finally:
            await out.stop()
        [row] = await rt.store.outbox_all()
        assert row.status == "failed" and row.attempts == 2
        assert 'channel="webhook",outcome="failed"' in metrics.render()
    finally:
        await rt.close()


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_secret_comes_from_the_environment(tmp_path: Path) -> None:
    path = write(tmp_path, '[[webhooks]]\nurl = "https://example.org/in"\n'
                           'events = ["answer.recorded"]\nsecret_env = "MY_HOOK_SECRET"\n')
    config = load_config(path, env={"MY_HOOK_SECRET": "from-env"})
    assert config.webhooks[0].secret == "from-env"
    assert "from-env" not in repr(config.webhooks[0])


@pytest.mark.parametrize(("body", "named"), [
    ('events = ["answer.recorded"]', "url"),
    ('url = "https://example.org/in"\nevents = ["answer.recorded", "answer.deleted"]',
     "events"),
    ('url = "ftp://example.org/in"\nevents = ["answer.recorded"]', "url"),
    ('url = "https://example.org/in"\nevents = ["answer.recorded"]', "PARLEY_WEBHOOK_SECRET"),
    ('url = "https://example.org/in"\nevents = ["answer.recorded"]\nsecret = "s"\n'
     '[[webhooks]]\nurl = "https://example.org/in"\nevents = ["round.completed"]\n'
     'secret = "s"', "appears twice"),
])
def test_bad_webhook_config_is_refused_naming_the_key(tmp_path: Path, body: str,
                                                      named: str) -> None:
    path = write(tmp_path, f"[[webhooks]]\n{body}\n")
    with pytest.raises(ConfigError) as err:
        load_config(path, env={})
    assert "webhooks" in str(err.value) and named in str(err.value)


async def test_serve_wiring_queues_and_sends_from_the_scheduler(
        tmp_path: Path, receiver: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    rec, url = receiver
    monkeypatch.setenv("PARLEY_WEBHOOK_INTERVAL", "0.05")
    config = make_config(webhooks=[hook(url, ["round.completed"])],
                         store={"url": f"sqlite:///{tmp_path / 'serve.db'}"})
    service = await build_service(config, clock=ManualClock(T0))
    await service.start()
    try:
        await service.runtime.store.webhook_cursor_start(T0)  # as the first pass does
        await service.runtime.store.round_add(Round(
            id="r3", flow_id="pulse", audience="all", created_at=T0, start_at=T0,
            status="closed", closed_at=T0))
        await until(lambda: len(rec.got) == 1)
    finally:
        await service.stop()
    [body] = rec.bodies()
    assert body["event"] == "round.completed" and body["data"]["round_id"] == "r3"
    assert signed(*rec.got[0])


async def test_the_cursor_moves_once_even_when_two_read_it(store: Store) -> None:
    await store.apply(Changes(events=[EventRow("p1", None, "ConsentGiven", {"version": "v1"},
                                               T0)]))
    assert await store.webhook_cursor_start(T0) == 1  # history is not replayed
    await store.apply(Changes(events=[EventRow("p1", None, "KeywordReceived",
                                               {"word": "stop"}, T0)]))
    found, upto = await store.webhook_events_after(1, ["KeywordReceived"], 10)
    assert [s.event.name for s in found] == ["KeywordReceived"] and upto == 2
    row = OutboxItem(participant_id="p1", address="https://example.org/in", channel="webhook",
                     payload={"body": "{}"}, created_at=T0, not_before=T0)
    assert await store.webhook_advance(1, upto, [row])
    assert not await store.webhook_advance(1, upto, [row])  # the other reader: nothing
    assert len(await store.outbox_all()) == 1
    assert await store.webhook_events_after(2, ["KeywordReceived"], 10) == ([], 2)


def test_include_answers_false_leaves_the_value_out() -> None:
    event = EventRow("p_1", "s_1", "AnswerRecorded",
                     {"node": "q1", "field": "income", "value": "£900", "raw": "900"}, T0, id=7)
    occ = occurrence(WebhookSource(event, "pulse", "r1"))
    assert occ is not None
    full = json.loads(body("evt_1", occ, include_answers=True))
    bare = json.loads(body("evt_1", occ, include_answers=False))
    assert full["data"]["value"] == "£900" and "value" not in bare["data"]
    assert bare == {"id": "evt_1", "event": "answer.recorded",
                    "occurred_at": T0.isoformat(),
                    "data": {"participant_id": "p_1", "flow": "pulse", "round_id": "r1",
                             "node": "q1", "field": "income"}}
    assert "900" not in json.dumps(bare)  # the raw text is never sent
