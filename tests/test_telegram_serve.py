"""Telegram end to end: the real ``parley serve`` process, webhooks with the secret token,
the fake Bot API (served on 127.0.0.1) driven through python-telegram-bot, and the SQLite
file they share.

One server and one fake serve most of the module (each test chats from its own chat
id); the crash, polling and log tests run their own pair.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from bot.config import load_config
from bot.runtime import Runtime, open_runtime
from bot.simulator import enrolled_phone
from bot.store.records import Address, Invite, OutboxItem, Participant
from tests.fakes.server import ServedApp
from tests.fakes.telegram_api import DEFAULT_TOKEN, FakeTelegram, make_text_update
from tests.telegram_harness import (
    SECRET,
    Chat,
    ParleyProcess,
    post_update,
    until,
    write_config,
)

pytestmark = [pytest.mark.timeout(60), pytest.mark.slow]
PUBLIC_URL = "https://parley.example"
SCALE_ROWS = [["0", "1", "2", "3", "4", "5"], ["6", "7", "8", "9", "10"]]


@pytest.fixture(scope="module")
def fake() -> Iterator[tuple[FakeTelegram, ServedApp]]:
    telegram = FakeTelegram(hang_seconds=4.0)
    with telegram.serve() as served:
        yield telegram, served


@pytest.fixture(scope="module")
def server(fake: tuple[FakeTelegram, ServedApp],
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[ParleyProcess]:
    folder = tmp_path_factory.mktemp("telegram-serve")
    process = ParleyProcess(write_config(folder, fake[1].base_url,
                                         public_url=PUBLIC_URL)).start()
    yield process
    process.stop()


@pytest.fixture
async def db(server: ParleyProcess) -> AsyncIterator[Runtime]:
    runtime = await open_runtime(load_config(server.config))
    yield runtime
    await runtime.close()


def chat(server: ParleyProcess, fake: tuple[FakeTelegram, ServedApp], chat_id: int) -> Chat:
    return Chat(server, fake[0], chat_id)


async def outbox_to(db: Runtime, address: str) -> list[OutboxItem]:
    return [o for o in await db.store.outbox_all() if o.address == address]


def inbox_count(config: Path) -> int:
    with sqlite3.connect(config.with_name("parley.db")) as con:
        return int(con.execute("SELECT count(*) FROM inbox").fetchone()[0])


async def test_start_up_registers_webhook_commands_and_username(
        server: ParleyProcess, fake: tuple[FakeTelegram, ServedApp], db: Runtime) -> None:
    telegram = fake[0]
    await until(lambda: telegram.calls_to("setWebhook"), what="setWebhook")
    assert telegram.webhook["url"] == PUBLIC_URL + "/telegram/webhook"
    assert telegram.webhook["secret_token"] == SECRET
    assert telegram.webhook["allowed_updates"] == ["message", "callback_query"]
    commands = telegram.calls_to("setMyCommands")
    assert [c["command"] for c in commands[0]["commands"]] == [
        "start", "help", "stop", "mydata", "delete", "balance"]
    assert "language_code" not in commands[0]
    assert commands[1]["language_code"] == "cy"
    assert await db.store.get_meta("telegram_username") == "parley_test_bot"


async def test_start_through_consent_onboarding_and_ons4_with_buttons_and_typing(
        server: ParleyProcess, fake: tuple[FakeTelegram, ServedApp], db: Runtime) -> None:
    me = chat(server, fake, 1001)
    assert await me.say("/start") == [
        "Hello! Which language would you like? / Helo! Pa iaith hoffech chi?"]
    language = me.messages()[-1]
    assert me.keyboard(language) == [["English"], ["Cymraeg"]]
    got = await me.tap("English")
    assert got[0].startswith("Hi, this is Money Voices.")
    # the pressed question now shows the answer and has no buttons left
    edited = fake[0].message(1001, language["message_id"])
    assert edited is not None and edited["text"].endswith("\n\n✓ English")
    assert "reply_markup" not in edited
    # the consent texts and their question travel as one message (delivery.bundle)
    assert len(got) == 1
    assert got[-1].endswith("\n\nDo you agree to take part, and for us to keep your answers?")
    assert me.keyboard(me.messages()[-1]) == [["Yes", "No"]]
    got = await me.say("yes")  # typed, not pressed
    assert got == ["Thank you for joining! Next, a few quick questions.\n\n"
                   "What would you like us to call you? Any name is fine."]
    assert await me.say("Ffion") == ["When is the best time to message you?"]
    assert me.keyboard(me.messages()[-1]) == [["Morning"], ["Afternoon"], ["Evening"],
                                              ["Any time"]]
    await me.tap("Evening")
    await me.tap("Telegram")
    got = await me.say("3")  # a number typed for a button question
    assert got == ["Thanks Ffion! You're all set. We'll message you when there's "
                   "something to answer."]
    p = await db.store.participant_for_address(me.address)
    assert p is not None and p.status == "consented" and p.pathway_done
    assert p.profile["contact_time"] == "evening" and p.preferred_channel == "telegram"

    assert await db.conversations.start_flow(p.id, "ons4") == "started"
    got = await me.replies()
    assert got[-1].endswith("\n\nOverall, how satisfied are you with your life nowadays?\n"
                            "(0 = not at all, 10 = completely)")
    assert me.keyboard(me.messages()[-1]) == SCALE_ROWS
    await me.tap("7")
    assert await me.say("8") == ["Overall, how happy did you feel yesterday?\n"
                                 "(0 = not at all, 10 = completely)"]
    await me.tap("6")
    assert await me.say("2") == ["Thank you. Your answers help shape this work."]
    answers = await db.store.answers(participant_id=p.id, flow_id="ons4")
    assert [(a.field, a.value) for a in answers] == [
        ("life_satisfaction", 7), ("worthwhile", 8), ("happy_yesterday", 6),
        ("anxious_yesterday", 2)]
    assert [a.raw for a in answers] == ["7", "8", "6", "2"]
    # every press answered (spinner stopped) exactly once
    presses = [c for c in fake[0].calls_to("answerCallbackQuery")]
    acks = [o for o in await outbox_to(db, me.address) if o.payload["kind"] == "press_ack"]
    assert len(acks) == 5 and all(o.status == "sent" for o in acks)
    assert {o.payload["ack"] for o in acks} <= {c["callback_query_id"] for c in presses}


async def test_same_update_posted_twice_gets_one_reply(
        server: ParleyProcess, fake: tuple[FakeTelegram, ServedApp], db: Runtime) -> None:
    me = chat(server, fake, 1002)
    update = me.text_update("/help")
    first = await post_update(server, update)
    second = await post_update(server, update)
    assert (first.status_code, first.text) == (200, "stored")
    assert (second.status_code, second.text) == (200, "duplicate")
    assert await me.replies() == ["This is Money Voices. To talk to a person: call 0800 123 456. "
                                  "Reply STOP to stop messages or DELETE to erase your data."]
    await me.silence()
    third = await post_update(server, update)  # later, after it was answered
    assert third.text == "duplicate"
    await me.silence(0.5)


async def test_wrong_or_missing_secret_is_403_and_nothing_is_kept(
        server: ParleyProcess, fake: tuple[FakeTelegram, ServedApp]) -> None:
    me = chat(server, fake, 1003)
    before = inbox_count(server.config)
    for secret in ("not-the-secret", None, "", SECRET + "x", SECRET[:-1]):
        response = await post_update(server, me.text_update("hello"), secret=secret)
        assert response.status_code == 403
    assert inbox_count(server.config) == before
    await me.silence(0.5)
    async with httpx.AsyncClient() as http:
        metrics = (await http.get(server.base_url + "/metrics")).text
    assert 'parley_inbound_rejected_total{channel="telegram",reason="bad_secret"} 3' in metrics


async def test_malformed_bodies_are_400(server: ParleyProcess,
                                        fake: tuple[FakeTelegram, ServedApp]) -> None:
    before = inbox_count(server.config)
    for body in (b"{not json", b"[1, 2]", b'{"update_id": "x"}', b"\xff\xfe",
                 json.dumps({"update_id": 5, "message": {"chat": {"id": 1}}}).encode()):
        response = await post_update(server, body)
        assert response.status_code == 400, body
    assert inbox_count(server.config) == before
    ignored = await post_update(server, {"update_id": 77, "edited_message": {}})
    assert (ignored.status_code, ignored.text) == (200, "ignored")
    log = server.log.read_text()
    assert "refused a malformed webhook body" in log and "{not json" not in log


async def test_429_and_500_are_delivered_once_after_the_wait(
        server: ParleyProcess, fake: tuple[FakeTelegram, ServedApp], db: Runtime) -> None:
    telegram = fake[0]
    me = chat(server, fake, 1004)
    telegram.fail_next(1004, kind="429", retry_after=1)
    telegram.fail_next(1004, kind="500")
    assert (await me.send("/menu")).status_code == 200
    got = await me.replies(timeout=15)
    assert got == ["You can reply HELP, BALANCE, STOP or DELETE at any time."]
    await me.silence()
    times = [t for name, params, t in telegram.calls
             if name == "sendMessage" and params.get("chat_id") == 1004]
    assert len(times) == 3  # 429, then 500, then accepted
    assert times[1] - times[0] >= 0.95  # retry_after honoured
    assert times[2] - times[1] >= 0.95  # back-off after the 500
    [row] = await outbox_to(db, me.address)
    assert row.status == "sent" and row.attempts == 3 and row.provider_id


async def test_403_marks_the_address_unreachable(
        server: ParleyProcess, fake: tuple[FakeTelegram, ServedApp], db: Runtime) -> None:
    me = chat(server, fake, 1005)
    fake[0].blocked_chats.add(1005)
    try:
        assert (await me.send("/help")).status_code == 200
        deadline = time.monotonic() + 10
        while True:
            address = await db.store.get_address(me.address)
            if address is not None and address.unreachable:
                break
            assert time.monotonic() < deadline, "address never marked unreachable"
            await asyncio.sleep(0.1)
        assert address.unreachable_reason == "telegram: Forbidden: bot was blocked by the user"
        [row] = await outbox_to(db, me.address)
        assert row.status == "failed" and row.attempts == 1
    finally:
        fake[0].blocked_chats.discard(1005)
    assert me.texts() == []


async def test_a_send_that_times_out_is_ambiguous_and_resent_once_later(
        server: ParleyProcess, fake: tuple[FakeTelegram, ServedApp], db: Runtime) -> None:
    """DESIGN §3 (issue #11): Telegram cannot be asked whether it got a message, so an
    ambiguous send is resent once after a short delay ([telegram] ambiguous default)."""
    me = chat(server, fake, 1006)
    fake[0].fail_next(1006, kind="hang", hang_seconds=3.5)  # delivered, answer too late
    assert (await me.send("/help")).status_code == 200
    await until(lambda: len(me.texts()) == 1, what="the hung send to arrive")
    deadline = time.monotonic() + 10
    while True:
        rows = await outbox_to(db, me.address)
        if rows and rows[0].status == "retry":
            break
        assert time.monotonic() < deadline, f"not scheduled to resend: {rows}"
        await asyncio.sleep(0.1)
    assert "no answer in time" in (rows[0].last_error or "")
    assert "resending once" in (rows[0].last_error or "")
    assert rows[0].id is not None and await db.store.outbox_resent([rows[0].id])
    await asyncio.sleep(2.5)  # long past the hang, before the resend: still one message
    assert len(me.texts()) == 1
    async with httpx.AsyncClient() as http:
        metrics = (await http.get(server.base_url + "/metrics")).text
    assert 'parley_outbound_total{channel="telegram",outcome="ambiguous"}' in metrics
    assert 'parley_outbound_resent_total{channel="telegram"} 1' in metrics


async def test_a_dropped_connection_is_ambiguous_too(
        server: ParleyProcess, fake: tuple[FakeTelegram, ServedApp], db: Runtime) -> None:
    me = chat(server, fake, 1007)
    fake[0].fail_next(1007, kind="drop")
    assert (await me.send("/help")).status_code == 200
    deadline = time.monotonic() + 10
    while not [r for r in await outbox_to(db, me.address)
               if "resending once" in (r.last_error or "")]:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.1)
    await me.silence(1.0)


async def test_stale_button_says_the_question_has_closed_on_the_button(
        server: ParleyProcess, fake: tuple[FakeTelegram, ServedApp], db: Runtime) -> None:
    me = chat(server, fake, 1008)
    _, pid = await enrolled_phone(db, me.address, name="Sam")
    await db.conversations.start_flow(pid, "ons4")
    await me.replies()
    first_question = me.messages()[-1]
    stale = me.press_update("5", first_question)
    await me.tap("4")  # answers the first question; the second is asked
    response = await post_update(server, stale)  # the same question's other button, later
    assert response.status_code == 200
    await until(lambda: any(c["callback_query_id"] == stale["callback_query"]["id"]
                            for c in fake[0].calls_to("answerCallbackQuery")),
                what="the stale press to be answered")
    answer = next(c for c in fake[0].calls_to("answerCallbackQuery")
                  if c["callback_query_id"] == stale["callback_query"]["id"])
    assert answer["text"] == "That question has closed. Please answer the latest message."
    await me.silence(0.6)  # no new message in the chat for it
    answers = await db.store.answers(participant_id=pid)
    assert [(a.field, a.value) for a in answers] == [("life_satisfaction", 4)]


async def test_media_and_group_chats_get_polite_answers(
        server: ParleyProcess, fake: tuple[FakeTelegram, ServedApp], db: Runtime) -> None:
    me = chat(server, fake, 1009)
    photo = me.text_update("x")
    del photo["message"]["text"]
    photo["message"]["photo"] = [{"file_id": "AgAD", "file_unique_id": "u", "width": 1,
                                  "height": 1}]
    assert (await post_update(server, photo)).status_code == 200
    assert await me.replies() == ["Sorry, I can only read text. Please reply in words."]
    group = make_text_update(9_100_001, -100555, "/start", message_id=3)
    assert (await post_update(server, group)).status_code == 200
    await until(lambda: fake[0].texts_to(-100555), what="group reply")
    assert fake[0].texts_to(-100555) == ["Sorry, I only talk in private chats."]
    assert await db.store.get_address("telegram:-100555") is None  # nobody enrolled
    chatter = make_text_update(9_100_002, -100555, "hi all", message_id=4)
    assert (await post_update(server, chatter)).text == "ignored"


async def test_mydata_sends_a_summary_and_a_json_file_then_delete_by_button(
        server: ParleyProcess, fake: tuple[FakeTelegram, ServedApp], db: Runtime) -> None:
    me = chat(server, fake, 1010)
    _, pid = await enrolled_phone(db, me.address, name="Sam")
    await db.conversations.start_flow(pid, "ons4")
    await me.replies()
    await me.say("9")
    got = await me.say("/mydata")
    assert got == ["Here is what Money Voices holds about you: your Telegram address, 1 answer "
                   "and 0 consent records, and the name you gave us (Sam). The attached file "
                   "has all of it. Reply DELETE to erase it."]
    await until(lambda: [d for d in fake[0].documents if d["chat_id"] == 1010], what="file")
    [document] = [d for d in fake[0].documents if d["chat_id"] == 1010]
    assert document["filename"] == "my-data.json"
    export = json.loads(document["content"])
    assert export["participant"]["id"] == pid
    assert [(a["field"], a["value"]) for a in export["answers"]] == [("life_satisfaction", 9)]

    got = await me.say("/delete")
    assert got[0].startswith("This will erase everything you have told us.")
    assert me.keyboard(me.messages()[-1]) == [["Erase my data", "Keep it"]]
    assert await me.tap("Erase my data") == [
        "Your data has been erased. Thank you for taking part."]
    assert await db.store.get_address(me.address) is None
    assert (await db.store.get_participant(pid)).status == "erased"  # type: ignore[union-attr]


async def test_crash_after_acknowledging_loses_nothing_and_answers_once(
        tmp_path: Path) -> None:
    """Senders paused, so nothing can be answered before the crash; SIGKILL; restart with
    senders running: every update that got a 200 is answered, exactly once."""
    telegram = FakeTelegram()
    with telegram.serve() as served:
        config = write_config(tmp_path, served.base_url)
        first = ParleyProcess(config, paused=True).start()
        chats = [Chat(first, telegram, 2000 + i) for i in range(8)]
        words = ["/help", "/menu", "/balance"]
        updates = [(c, c.text_update(w)) for w in words for c in chats]

        async def in_order(c: Chat) -> list[int]:  # as Telegram does: one chat in order
            return [(await post_update(first, u)).status_code for d, u in updates if d is c]

        try:
            results = await asyncio.gather(*(in_order(c) for c in chats))
            assert results == [[200] * len(words)] * len(chats)
            await asyncio.sleep(0.3)
            assert telegram.sent_messages == []  # paused: no reply can have gone out yet
        finally:
            first.kill()
        second = ParleyProcess(config).start()
        try:
            for c in chats:
                c.server = second
            # Telegram may re-send some of them (it never saw our 200, say): still once
            again = await asyncio.gather(*(post_update(second, u) for _, u in updates[:5]))
            assert {r.text for r in again} == {"duplicate"}
            await until(lambda: all(len(c.texts()) >= 3 for c in chats), timeout=20,
                        what="every update answered")
            await asyncio.sleep(1.0)
            for c in chats:
                assert c.texts() == [
                    "This is Money Voices. To talk to a person: call 0800 123 456. Reply STOP "
                    "to stop messages or DELETE to erase your data.",
                    "You can reply HELP, BALANCE, STOP or DELETE at any time.",
                    "You have not earned any credits yet."]
        finally:
            second.stop()
    with sqlite3.connect(config.with_name("parley.db")) as con:
        statuses = dict(con.execute("SELECT status, count(*) FROM outbox GROUP BY status"))
        pending = con.execute("SELECT count(*) FROM inbox WHERE status != 'done'").fetchone()
    assert statuses == {"sent": len(updates)} and pending == (0,)


REALISTIC_TOKEN = "7123456789:AAHk3v_Qz8pLmN0rStUvWxYz-1234567890ab"


async def test_polling_mode_and_no_secret_or_name_in_any_log(tmp_path: Path) -> None:
    """Polling feeds the same inbox; and with a realistic token, a full DEBUG log of the
    run never shows the token, the webhook secret or the person's name."""
    telegram = FakeTelegram(token=REALISTIC_TOKEN, max_long_poll=0.3)
    with telegram.serve() as served:
        config = write_config(tmp_path, served.base_url, token=REALISTIC_TOKEN,
                              mode="polling")
        server = ParleyProcess(config, log_level="DEBUG").start()
        try:
            me = Chat(server, telegram, 3001)
            update = make_text_update(41, 3001, "/start", message_id=1, first_name="Ffion")
            update["message"]["from"]["username"] = "ffion_w"
            telegram.push_update(update)
            await until(lambda: me.texts(), what="a reply by polling")
            assert telegram.calls_to("deleteWebhook")
            telegram.push_callback(3001, me.messages()[-1]["reply_markup"]["inline_keyboard"]
                                   [0][0]["callback_data"])
            await until(lambda: len(me.texts()) > 1, what="the press handled")
            assert me.texts()[1].startswith("Hi, this is Money Voices.")
            fake_bad = make_text_update(1, 3001, "x", message_id=1)
            assert (await post_update(server, fake_bad, secret="wrong")).status_code == 403
        finally:
            server.stop()
    log = server.log.read_text()
    assert "Parley listening" in log and "polling for updates as @parley_test_bot" in log
    for secret in (REALISTIC_TOKEN, REALISTIC_TOKEN.split(":")[1], SECRET, "Ffion",
                   "ffion_w"):
        assert secret not in log
    assert DEFAULT_TOKEN not in log


async def test_start_with_an_invite_code_joins_the_cohort_or_the_imported_person(
        server: ParleyProcess, fake: tuple[FakeTelegram, ServedApp], db: Runtime) -> None:
    now = db.clock.now()
    imported = Participant(id="p_imported1", created_at=now, imported=True, cohort="north")
    await db.store.import_participants([(imported, [Address("tel:+447700900777",
                                                            imported.id, "sms", now)])])
    await db.store.create_invites([
        Invite("cohortSouth-1", now, cohort="south", max_uses=10),
        Invite("personal_9f3a", now, participant_id=imported.id)])
    stranger = chat(server, fake, 1011)
    got = await stranger.say("/start cohortSouth-1")
    assert got == ["Hello! Which language would you like? / Helo! Pa iaith hoffech chi?"]
    p = await db.store.participant_for_address(stranger.address)
    assert p is not None and p.cohort == "south"
    invited = chat(server, fake, 1012)
    await invited.say("/start personal_9f3a")
    p = await db.store.participant_for_address(invited.address)
    assert p is not None and p.id == imported.id  # this chat is now theirs too
    assert {a.address for a in await db.store.addresses_of(imported.id)} == {
        "tel:+447700900777", invited.address}
    used = await db.store.get_invite("personal_9f3a")
    assert used is not None and used.uses == 1
