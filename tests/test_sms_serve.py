"""SMS end to end: the real ``parley serve`` process, Twilio-signed webhooks, the fake
Twilio REST API (served on 127.0.0.1), and the SQLite file they share.

One server and one fake serve the whole module (each test texts from its own number);
the crash test runs its own pair.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from bot.privacy import export_participant
from bot.runtime import Runtime
from bot.store.records import Changes, OutboxItem
from tests.fakes.server import ServedApp
from tests.fakes.twilio_api import FakeTwilio, inbound_sms_form
from tests.sms_harness import (
    PUBLIC_URL,
    TWILIO_NUMBER,
    ParleyProcess,
    Phone,
    db_runtime,
    enrol,
    post_signed,
    rows_mentioning,
    until,
    until_db,
    write_config,
)

pytestmark = [pytest.mark.timeout(60), pytest.mark.slow]


@pytest.fixture(scope="module")
def fake() -> Iterator[tuple[FakeTwilio, ServedApp]]:
    twilio = FakeTwilio(hang_seconds=3.0)
    with twilio.serve() as served:
        yield twilio, served


@pytest.fixture(scope="module")
def server(fake: tuple[FakeTwilio, ServedApp],
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[ParleyProcess]:
    folder = tmp_path_factory.mktemp("sms-serve")
    process = ParleyProcess(write_config(folder, fake[1].base_url)).start()
    yield process
    process.stop()


@pytest.fixture
async def db(server: ParleyProcess) -> AsyncIterator[Runtime]:
    runtime = await db_runtime(server.config)
    yield runtime
    await runtime.close()


def phone(server: ParleyProcess, fake: tuple[FakeTwilio, ServedApp], number: str) -> Phone:
    return Phone(server, fake[0], number)


async def outbox_to(db: Runtime, number: str) -> list[OutboxItem]:
    return [o for o in await db.store.outbox_all() if o.address == f"tel:{number}"]


async def test_first_hi_through_consent_onboarding_and_ons4(
        server: ParleyProcess, fake: tuple[FakeTwilio, ServedApp], db: Runtime) -> None:
    me = phone(server, fake, "+447700900101")
    got = await me.say("Hi")
    assert got == ["Hello! Which language would you like? / Helo! Pa iaith hoffech chi?\n"
                   "1 English\n2 Cymraeg\nOr reply SKIP"]
    got = await me.say("1")
    assert got[0].startswith("Hi, this is Money Voices.")
    assert got[-1] == ("Do you agree to take part, and for us to keep your answers?\n"
                       "1 Yes\n2 No")
    p = await db.store.participant_for_address(me.address)
    assert p is not None and p.status == "new"
    assert await db.store.answers(participant_id=p.id) == []  # nothing kept before consent
    got = await me.say("yes")
    assert got[0].startswith("Thank you for joining!")
    assert got[-1].startswith("What would you like us to call you?")
    assert (await me.say("Sam"))[0].startswith("When is the best time")
    assert (await me.say("1"))[0].startswith("How would you like us to message you?")
    assert (await me.say("text"))[0].startswith("How would you like to be paid")  # by label
    assert (await me.say("3"))[0].startswith("Thanks Sam! You're all set.")

    assert await db.conversations.start_flow(p.id, "ons4") == "started"  # a round begins
    got = await me.replies()
    assert got[0].startswith("Next, 4 questions about how you feel.")
    assert got[1].startswith("Overall, how satisfied are you with your life nowadays?")
    for answer in ["7", "8", "6"]:
        await me.say(answer)
    assert await me.say("2") == ["Thank you. Your answers help shape this work."]

    p = await db.store.participant_for_address(me.address)
    assert p is not None and p.status == "consented" and p.pathway_done
    assert p.profile["preferred_name"] == "Sam" and p.preferred_channel == "sms"
    answers = await db.store.answers(participant_id=p.id, flow_id="ons4")
    assert [(a.field, a.value, a.raw) for a in answers] == [
        ("life_satisfaction", 7, "7"), ("worthwhile", 8, "8"), ("happy_yesterday", 6, "6"),
        ("anxious_yesterday", 2, "2")]
    sent = [o for o in await outbox_to(db, me.number)]
    assert sent and all(o.status == "sent" and o.provider_id for o in sent)
    assert all(o.segments == 1 for o in sent)  # every message one GSM-7 segment
    record = fake[0].sent_to(me.number)[0]
    assert record["from"] == TWILIO_NUMBER
    assert record["status_callback"] == PUBLIC_URL + "/sms/status"
    assert record["validity_period"] == 14400


async def test_forged_or_missing_signature_is_refused_and_nothing_kept(
        server: ParleyProcess, fake: tuple[FakeTwilio, ServedApp], db: Runtime) -> None:
    number = "+447700900102"
    form = inbound_sms_form(number, TWILIO_NUMBER, "Hi")
    attempts = [
        await post_signed(server, "/sms/inbound", form, token="not-the-auth-token"),
        await post_signed(server, "/sms/inbound", form, signature=""),
        await post_signed(server, "/sms/inbound", form, signature="Zm9yZ2Vk"),
        # signed for the address the request reached, not the public one
        await post_signed(server, "/sms/inbound", form,
                          signed_url=server.base_url + "/sms/inbound"),
        # a valid signature, but for other form values
        await post_signed(server, "/sms/inbound", {**form, "Body": "STOP"},
                          signature=(await _signature_of(form))),
    ]
    assert [r.status_code for r in attempts] == [403] * 5
    await asyncio.sleep(0.3)
    assert rows_mentioning(server.config.with_name("parley.db"), [number[1:]]) == []
    assert fake[0].sent_to(number) == []
    metrics = httpx.get(server.base_url + "/metrics").text
    assert 'parley_inbound_rejected_total{channel="sms",reason="bad_signature"}' in metrics


async def _signature_of(form: dict[str, str]) -> str:
    from tests.fakes.twilio_api import DEFAULT_AUTH_TOKEN, sign_twilio_request

    return sign_twilio_request(DEFAULT_AUTH_TOKEN, PUBLIC_URL + "/sms/inbound", form)


async def test_redelivered_message_sid_gets_one_reply(
        server: ParleyProcess, fake: tuple[FakeTwilio, ServedApp], db: Runtime) -> None:
    me = phone(server, fake, "+447700900103")
    first = await me.text("HELP", sid="SM" + "a1" * 16)
    again = await me.text("HELP", sid="SM" + "a1" * 16)  # Twilio retrying the webhook
    for response in (first, again):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/xml")
        assert response.text == ('<?xml version="1.0" encoding="UTF-8"?>'
                                 "<Response></Response>")
    assert len(await me.replies()) == 1
    await me.silence(0.5)


async def test_stop_mid_survey_is_acknowledged_once_then_silence_until_start(
        server: ParleyProcess, fake: tuple[FakeTwilio, ServedApp], db: Runtime) -> None:
    me = phone(server, fake, "+447700900104")
    pid = await enrol(db, me.number)
    await db.conversations.start_flow(pid, "ons4")
    assert len(await me.replies()) == 2
    await me.say("5")
    assert await me.say("Stop.") == ["OK, you won't get any more messages from Money Voices. "
                                     "Reply START if you want to come back."]
    assert (await me.text("6")).status_code == 200
    assert (await me.text("STOP")).status_code == 200       # a second STOP: no second ack
    # a round starting for them now, and a message already queued, both stay unsent
    assert await db.conversations.start_flow(pid, "feedback") == "unreachable"
    now = db.clock.now()
    queued = OutboxItem(participant_id=pid, address=me.address, channel="sms",
                        payload={"plain": "A reminder", "text": "A reminder", "kind": "info"},
                        created_at=now, not_before=now)
    await db.store.apply(Changes(outbox=[queued]))
    await until_db(db, lambda rt: _status_of(rt, queued.id) , what="the queued row handled")
    assert await _status_of(db, queued.id) == "cancelled"
    await me.silence(0.5)
    address = await db.store.get_address(me.address)
    assert address is not None and address.opted_out and address.opted_out_at is not None

    got = await me.say("start")
    assert got == ["Welcome back! Here is where we left off.",
                   "Overall, to what extent do you feel that the things you do in your life "
                   "are worthwhile?\nReply 0 to 10 (0 = not at all, 10 = completely), or SKIP"]
    await me.say("8")
    answers = await db.store.answers(participant_id=pid, flow_id="ons4")
    assert [(a.field, a.value) for a in answers] == [("life_satisfaction", 5), ("worthwhile", 8)]
    keywords = [e.payload["word"] for e in await db.store.events(participant_id=pid,
                                                                name="KeywordReceived")]
    assert keywords == ["stop", "start"]


async def _status_of(db: Runtime, outbox_id: int | None) -> str | None:
    assert outbox_id is not None
    row = await db.store.outbox_get(outbox_id)
    return None if row is None or row.status in ("pending", "sending", "retry") else row.status


async def test_delete_twice_erases_from_every_table_and_export(
        server: ParleyProcess, fake: tuple[FakeTwilio, ServedApp], db: Runtime) -> None:
    me = phone(server, fake, "+447700900105")
    secret = "My landlord 😬 said ŵ “no” again"
    pid = await enrol(db, me.number)
    await db.conversations.start_flow(pid, "feedback")
    await me.replies()
    await me.say("1")
    await me.say(secret)
    [answer] = [a for a in await db.store.answers(participant_id=pid) if a.field == "change"]
    assert answer.raw == secret  # byte-exact as Twilio delivered it
    assert "Reply DELETE again" in (await me.say("DELETE"))[0]
    assert await me.say("delete") == ["Your data has been erased. Thank you for taking part."]

    db_file = server.config.with_name("parley.db")
    digits = me.number[1:]
    await until(lambda: not rows_mentioning(db_file, [digits, "landlord"]), 10,
                "every row mentioning the person to go")
    exported = await export_participant(db.store, pid)
    assert exported["participant"]["status"] == "erased"
    assert exported["participant"]["profile"] == {} and exported["addresses"] == []
    assert all(a["value"] is None and a["as_written"] is None for a in exported["answers"])
    assert digits not in str(exported) and "landlord" not in str(exported)


async def test_rate_limit_and_server_error_are_retried_and_sent_once(
        server: ParleyProcess, fake: tuple[FakeTwilio, ServedApp], db: Runtime) -> None:
    for number, kind in (("+447700900106", "429"), ("+447700900107", "500")):
        me = phone(server, fake, number)
        fake[0].fail_next(to=number, kind=kind)
        got = await me.say("HELP")
        assert len(got) == 1 and got[0].startswith("This is Money Voices.")
        creates = [t for name, params, t in fake[0].calls
                   if name == "create" and params.get("To") == number]
        assert len(creates) == 2 and creates[1] - creates[0] >= 0.9  # waited, then once
        [row] = await outbox_to(db, number)
        assert row.status == "sent" and row.attempts == 2


async def test_opted_out_at_carrier_and_bad_number(
        server: ParleyProcess, fake: tuple[FakeTwilio, ServedApp], db: Runtime) -> None:
    cases = (("+447700900108", "21610"), ("+447700900109", "21211"), ("+447700900110", "21614"))
    for number, kind in cases:
        fake[0].fail_next(to=number, kind=kind)
        assert (await phone(server, fake, number).text("HELP")).status_code == 200
    for number, kind in cases:
        address = await until_db(db, lambda rt, n=number: _address_marked(rt, n),
                                 what=f"address marked after {kind}")
        assert (address.opted_out, address.unreachable) == (
            (True, False) if kind == "21610" else (False, True))
        [row] = await outbox_to(db, number)
        assert row.status == "failed" and kind in (row.last_error or "")
        assert fake[0].sent_to(number) == []


async def _address_marked(db: Runtime, number: str):  # type: ignore[no-untyped-def]
    address = await db.store.get_address(f"tel:{number}")
    if address is not None and (address.opted_out or address.unreachable):
        return address
    return None


async def test_unanswered_send_is_looked_up_not_resent(
        server: ParleyProcess, fake: tuple[FakeTwilio, ServedApp], db: Runtime) -> None:
    me = phone(server, fake, "+447700900111")
    fake[0].fail_next(to=me.number, kind="hang", hang_seconds=3.0)  # accepted, answer late
    assert len(await me.say("HELP")) == 1
    rows = await until_db(db, lambda rt: _sent_rows(rt, me.number), what="the send settled")
    assert rows[0].provider_id == fake[0].sent_to(me.number)[0]["sid"]
    await me.silence(1.5)  # the late 201 changes nothing; nothing is sent twice
    creates = [p for name, p, _ in fake[0].calls if name == "create" and p["To"] == me.number]
    assert len(creates) == 1
    metrics = httpx.get(server.base_url + "/metrics").text
    assert 'parley_sms_ambiguous_total{resolution="found"}' in metrics


async def test_dropped_connection_is_looked_up_then_sent_once(
        server: ParleyProcess, fake: tuple[FakeTwilio, ServedApp], db: Runtime) -> None:
    me = phone(server, fake, "+447700900112")
    fake[0].fail_next(to=me.number, kind="drop")  # the request was lost: nothing was sent
    assert len(await me.say("HELP")) == 1
    creates = [p for name, p, _ in fake[0].calls if name == "create" and p["To"] == me.number]
    assert len(creates) == 2
    await until_db(db, lambda rt: _sent_rows(rt, me.number), what="the send settled")


async def _sent_rows(db: Runtime, number: str) -> list[OutboxItem]:
    return [o for o in await outbox_to(db, number) if o.status == "sent"]


async def test_status_callbacks_record_delivery(
        server: ParleyProcess, fake: tuple[FakeTwilio, ServedApp], db: Runtime) -> None:
    me = phone(server, fake, "+447700900113")
    await me.say("HELP")
    [row] = await until_db(db, lambda rt: _sent_rows(rt, me.number), what="sent")
    assert row.delivery_status == "queued" and row.id is not None
    sid = row.provider_id
    assert sid is not None
    for status in ("sent", "delivered", "sent"):  # the late "sent" must not go backwards
        response = await post_signed(server, "/sms/status",
                                     fake[0].status_callback_form(sid, status))
        assert response.status_code == 200
    row = await db.store.outbox_get(row.id)
    assert row is not None and row.delivery_status == "delivered"
    history = await db.store.sms_status_history(row.id)
    assert [(e.status, e.sid) for e in history] == [("sent", sid), ("delivered", sid)]

    forged = await post_signed(server, "/sms/status", fake[0].status_callback_form(sid, "failed"),
                               token="wrong")
    assert forged.status_code == 403
    unknown = {**fake[0].status_callback_form(sid, "delivered"), "MessageSid": "SM" + "0" * 32}
    assert (await post_signed(server, "/sms/status", unknown)).status_code == 200
    metrics = httpx.get(server.base_url + "/metrics").text
    assert 'parley_delivery_status_total{channel="sms",status="delivered"}' in metrics


async def test_undelivered_callback_with_error_code(
        server: ParleyProcess, fake: tuple[FakeTwilio, ServedApp], db: Runtime) -> None:
    me = phone(server, fake, "+447700900114")
    await me.say("HELP")
    [row] = await until_db(db, lambda rt: _sent_rows(rt, me.number), what="sent")
    assert row.provider_id is not None and row.id is not None
    form = fake[0].status_callback_form(row.provider_id, "undelivered", error_code=30006)
    assert (await post_signed(server, "/sms/status", form)).status_code == 200
    stored = await db.store.outbox_get(row.id)
    assert stored is not None and stored.delivery_status == "undelivered"
    [part] = await db.store.sms_parts_of(row.id)
    assert part.error_code == 30006
    address = await db.store.get_address(me.address)
    assert address is not None and address.unreachable  # a landline: try another channel


async def test_long_finding_goes_as_numbered_single_segment_parts(
        server: ParleyProcess, fake: tuple[FakeTwilio, ServedApp], db: Runtime) -> None:
    me = phone(server, fake, "+447700900115")
    pid = await enrol(db, me.number)
    finding = ("People told us that letters about benefit changes arrive too late to act on. "
               "Several said they found out about a cut only when their payment was smaller. "
               "Most wanted a text message a month before any change, in plain words, with a "
               "number to call that a person answers.")
    await db.conversations.start_flow(pid, "endorsement", {"finding_title": "Earlier notice",
                                                           "finding_text": finding})
    got = await me.replies()
    parts = [m for m in got if m.startswith("(")]
    assert len(parts) >= 3 and [m[:5] for m in parts] == [
        f"({i}/{len(parts)})" for i in range(1, len(parts) + 1)]
    assert got[len(parts)].startswith("Do you agree with this draft finding?")
    [row] = [o for o in await outbox_to(db, me.number) if o.payload.get("long_ok")]
    assert row.segments == len(parts) and row.id is not None
    assert len(await db.store.sms_parts_of(row.id)) == len(parts)


@pytest.mark.timeout(90)
async def test_crash_mid_send_is_resolved_by_lookup_after_restart(tmp_path: Path) -> None:
    twilio = FakeTwilio(hang_seconds=30.0)
    with twilio.serve() as served:
        config = write_config(tmp_path, served.base_url, request_timeout=20)
        first = ParleyProcess(config).start()
        number = "+447700900116"
        try:
            me = Phone(first, twilio, number)
            twilio.fail_next(to=number, kind="hang")  # Twilio takes it, never answers
            assert (await me.text("HELP")).status_code == 200
            await until(lambda: me.messages(), 10, "the message to reach Twilio")
            first.kill()  # crash while the row is "sending"
        finally:
            first.stop()
        second = ParleyProcess(config).start()
        try:
            runtime = await db_runtime(config)
            try:
                [row] = await until_db(runtime, lambda rt: _sent_rows(rt, number),
                                       what="the ambiguous send resolved")
                assert row.provider_id == twilio.sent_to(number)[0]["sid"]
            finally:
                await runtime.close()
            await asyncio.sleep(0.5)
            assert len(twilio.sent_to(number)) == 1
            assert sum(1 for name, p, _ in twilio.calls
                       if name == "create" and p["To"] == number) == 1
        finally:
            second.stop()
