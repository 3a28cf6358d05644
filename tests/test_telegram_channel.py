"""The Telegram channel's parts in-process: update parsing, keyboards, the transport's
outcomes through the real python-telegram-bot against the fake Bot API, and what
Conversations writes for button presses, /mydata and /delete."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from telegram import Bot
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut
from telegram.request import BaseRequest, HTTPXRequest

from bot.channels.telegram import file_base_url, proxy_configured
from bot.channels.telegram_aiohttp import AiohttpRequest
from bot.channels.telegram_transport import TelegramTransport, keyboard, outcome_of
from bot.channels.telegram_updates import UpdateError, callback_data, chat_of, normalise
from bot.conversations import Inbound
from bot.delivery.transport import Pacing
from bot.errors import AmbiguousSend, RateLimited, Rejected, TransientError, Unreachable
from bot.runtime import Runtime
from bot.simulator import SimulatedPhone, enrolled_phone
from bot.store.records import OutboxItem
from bot.text.render import split_telegram
from tests.fakes.server import ServedApp
from tests.fakes.telegram_api import (
    DEFAULT_TOKEN,
    FakeTelegram,
    TelegramApiError,
    make_callback_update,
    make_text_update,
)

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")


# -- updates -----------------------------------------------------------------------------
def test_text_update_keeps_no_names_and_keys_on_update_chat_and_message() -> None:
    found = normalise(make_text_update(5, 77, "hello", message_id=3, first_name="Ffion"))
    assert found is not None
    assert found.address == "telegram:77" and found.dedupe_key == "5:77:3"
    assert found.payload == {"text": "hello", "kind": "text", "press": None, "invite": None,
                             "ack": None, "source_id": None}
    assert "Ffion" not in repr(found)


def test_deep_link_start_carries_the_invite_code() -> None:
    found = normalise(make_text_update(6, 77, "/start inv_AB-12", message_id=4))
    assert found is not None and found.payload["text"] == "/start"
    assert found.payload["invite"] == "inv_AB-12"
    odd = normalise(make_text_update(7, 77, "/start not a code!", message_id=5))
    assert odd is not None and odd.payload["invite"] is None


def test_press_media_group_and_ignored_updates() -> None:
    message = {"message_id": 9, "chat": {"id": 77, "type": "private"}, "date": 1, "text": "q"}
    press = normalise(make_callback_update(8, 77, "a:abc.1.2", message=message,
                                           callback_id="cb1"))
    assert press is not None and press.dedupe_key == "8:cb:cb1"
    assert press.payload | {} == {"text": "", "kind": "press", "press": "abc.1.2",
                                  "invite": None, "ack": "cb1", "source_id": "9"}
    old = normalise(make_callback_update(9, 77, "a:x", callback_id="cb2"))  # no message
    assert old is not None and old.address == "telegram:77" and old.payload["source_id"] is None
    photo = make_text_update(10, 77, "x", message_id=6)
    del photo["message"]["text"]
    photo["message"]["voice"] = {"file_id": "v"}
    assert normalise(photo).payload["kind"] == "media"  # type: ignore[union-attr]
    group = normalise(make_text_update(11, -1001, "/help", message_id=1))
    assert group is not None and group.payload["kind"] == "group"
    assert normalise(make_text_update(12, -1001, "chatter", message_id=2)) is None
    assert normalise({"update_id": 13, "edited_message": {}}) is None
    for bad in ({}, {"update_id": "1"}, {"update_id": 1, "message": []},
                {"update_id": 1, "message": {"chat": {"id": 1}}},
                {"update_id": 1, "callback_query": {"data": "a:x"}}):
        with pytest.raises(UpdateError):
            normalise(bad)


def test_callback_data_fits_64_bytes_and_addresses_round_trip() -> None:
    assert callback_data("abcdef12.3.10") == "a:abcdef12.3.10"
    assert len(callback_data("x" * 62).encode()) == 64
    with pytest.raises(ValueError, match="64-byte"):
        callback_data("é" * 32)
    assert chat_of("telegram:-100123") == -100123
    with pytest.raises(ValueError):
        chat_of("tel:+447700900123")
    assert file_base_url("http://127.0.0.1:9/bot") == "http://127.0.0.1:9/file/bot"


def choices(labels: list[str]) -> list[dict[str, object]]:
    return [{"key": str(i), "label": label, "value": label, "token": f"t.{i}"}
            for i, label in enumerate(labels)]


@pytest.mark.parametrize(("layout", "count", "rows"), [
    ("grid", 11, [6, 5]), ("grid", 5, [5]), ("grid", 7, [4, 3]), ("grid", 10, [5, 5]),
    ("row", 2, [2]), ("list", 3, [1, 1, 1]),
])
def test_keyboard_layouts(layout: str, count: int, rows: list[int]) -> None:
    markup = keyboard({"choices": choices([str(i) for i in range(count)]), "layout": layout})
    assert markup is not None
    assert [len(r) for r in markup.inline_keyboard] == rows
    assert markup.inline_keyboard[0][0].callback_data == "a:t.0"
    assert keyboard({"choices": []}) is None


# -- error mapping -------------------------------------------------------------------------
def _caused(exc: Exception, cause: BaseException) -> Exception:
    exc.__cause__ = cause
    return exc


def test_ptb_errors_map_to_outbox_outcomes() -> None:
    request = httpx.Request("POST", "http://x")
    limited = outcome_of(RetryAfter(7))
    assert isinstance(limited, RateLimited) and limited.retry_after == 7
    assert isinstance(outcome_of(Forbidden("Forbidden: bot was blocked by the user")),
                      Unreachable)
    assert isinstance(outcome_of(BadRequest("Bad Request: message is too long")), Rejected)
    assert isinstance(outcome_of(_caused(TimedOut(), httpx.ReadTimeout("r", request=request))),
                      AmbiguousSend)
    assert isinstance(outcome_of(_caused(TimedOut(), httpx.ConnectTimeout("c"))),
                      TransientError)
    assert isinstance(outcome_of(_caused(NetworkError("httpx.ConnectError: refused"),
                                         httpx.ConnectError("refused"))), TransientError)
    assert isinstance(outcome_of(_caused(NetworkError("httpx.RemoteProtocolError"),
                                         httpx.RemoteProtocolError("gone"))), AmbiguousSend)
    assert isinstance(outcome_of(NetworkError("Internal Server Error")), TransientError)


# -- the transport against the fake --------------------------------------------------------
@pytest.fixture(scope="module")
def served() -> Iterator[tuple[FakeTelegram, ServedApp]]:
    fake = FakeTelegram(hang_seconds=2.0)
    with fake.serve() as srv:
        yield fake, srv


def backend(kind: str, timeout: float = 0.5) -> BaseRequest:
    """PTB's httpx backend, or Parley's aiohttp one (which uploads files through httpx)."""
    httpx_request = HTTPXRequest(read_timeout=timeout, connect_timeout=timeout)
    if kind == "httpx":
        return httpx_request
    return AiohttpRequest(files=httpx_request, read_timeout=timeout, connect_timeout=timeout,
                          write_timeout=timeout, pool_size=4)


@pytest.fixture(params=["aiohttp", "httpx"])
async def transport(served: tuple[FakeTelegram, ServedApp],
                    request: pytest.FixtureRequest) -> AsyncIterator[TelegramTransport]:
    fake, srv = served
    fake.reset()
    bot = Bot(DEFAULT_TOKEN, base_url=f"{srv.base_url}/bot", request=backend(request.param))
    yield TelegramTransport(bot, Pacing(30, 1))
    await bot.shutdown()
    await bot.request.shutdown()  # an uninitialised Bot skips it


def row(payload: dict[str, object], chat: int = 77, item_id: int = 1) -> OutboxItem:
    return OutboxItem(participant_id="p", address=f"telegram:{chat}", channel="telegram",
                      payload=payload, created_at=T0, not_before=T0, id=item_id)


async def test_message_with_buttons_and_long_text_split_on_paragraphs(
        transport: TelegramTransport, served: tuple[FakeTelegram, ServedApp]) -> None:
    fake = served[0]
    result = await transport.send(row({"text": "Pick one", "choices": choices(["Yes", "No"]),
                                       "layout": "row"}))
    assert result.provider_id == "1"
    [sent] = fake.sent_messages
    assert sent["reply_markup"]["inline_keyboard"][0][1]["callback_data"] == "a:t.1"
    assert sent["parse_mode"] is None
    long = "\n\n".join(["para " + "x" * 2000] * 3)
    await transport.send(row({"text": long, "choices": choices(["OK"]), "layout": "list"},
                             item_id=2))
    parts = fake.sent_messages[1:]
    assert [p["text"] for p in parts] == split_telegram(long)
    assert [len(p["text"]) for p in parts] == [4012, 2005]  # cut at the second paragraph
    assert parts[0]["reply_markup"] is None and parts[1]["reply_markup"] is not None


async def test_a_long_text_retried_after_part_one_does_not_repeat_it(
        transport: TelegramTransport, served: tuple[FakeTelegram, ServedApp],
        monkeypatch: pytest.MonkeyPatch) -> None:
    fake = served[0]
    send = fake._handlers["sendMessage"]
    calls = {"n": 0}

    def second_part_fails_once(params: dict[str, Any]) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:
            raise TelegramApiError(500, "Internal Server Error")
        return send(params)

    monkeypatch.setitem(fake._handlers, "sendMessage", second_part_fails_once)
    long = "\n\n".join(["para " + "x" * 3000] * 2)
    with pytest.raises(TransientError):
        await transport.send(row({"text": long}, item_id=3))
    assert len(fake.sent_messages) == 1  # part one went out
    await transport.send(row({"text": long}, item_id=3))  # the sender's retry
    assert [m["text"] for m in fake.sent_messages] == split_telegram(long)  # each once


async def test_transport_outcomes_through_real_ptb(
        transport: TelegramTransport, served: tuple[FakeTelegram, ServedApp]) -> None:
    fake = served[0]
    cases = [("429", RateLimited), ("403", Unreachable), ("500", TransientError),
             ("hang", AmbiguousSend), ("drop", AmbiguousSend)]
    for kind, expected in cases:
        fake.fail_next(77, kind=kind, retry_after=2)
        with pytest.raises(expected):
            await transport.send(row({"text": "hello"}))
    with pytest.raises(Rejected, match="no text"):
        await transport.send(row({"text": "  "}))
    with pytest.raises(Rejected, match="not a Telegram address"):
        await transport.send(OutboxItem(participant_id="p", address="tel:+447700900123",
                                        channel="telegram", payload={"text": "hi"},
                                        created_at=T0, not_before=T0, id=9))
    too_long = [{"key": "1", "label": "A", "value": 1, "token": "t" * 63}]
    with pytest.raises(Rejected, match="64-byte"):
        await transport.send(row({"text": "hi", "choices": too_long}))
    with pytest.raises(AmbiguousSend):
        await transport.resolve_ambiguous(row({"text": "x"}))


@pytest.mark.parametrize("kind", ["aiohttp", "httpx"])
async def test_connection_refused_is_transient_not_ambiguous(kind: str) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    bot = Bot(DEFAULT_TOKEN, base_url=f"http://127.0.0.1:{port}/bot", request=backend(kind))
    try:
        with pytest.raises(TransientError, match="cannot connect"):
            await TelegramTransport(bot, Pacing(30, 1)).send(row({"text": "hi"}))
    finally:
        await bot.shutdown()
        await bot.request.shutdown()  # an uninitialised Bot skips it


async def test_press_ack_answers_edits_and_is_safe_to_repeat(
        transport: TelegramTransport, served: tuple[FakeTelegram, ServedApp]) -> None:
    fake = served[0]
    await transport.send(row({"text": "Q?", "choices": choices(["A", "B"]), "layout": "row"}))
    ack = {"kind": "press_ack", "ack": "cb9", "source_id": "1", "notice": None,
           "edit_text": "Q?\n\n✓ A", "drop_buttons": False}
    await transport.send(row(ack))
    await transport.send(row(ack))  # a retry: "not modified" is fine
    assert fake.message(77, 1) == {**fake.message(77, 1), "text": "Q?\n\n✓ A"}  # type: ignore[dict-item]
    assert "reply_markup" not in fake.message(77, 1)  # type: ignore[operator]
    assert [c["callback_query_id"] for c in fake.calls_to("answerCallbackQuery")] == ["cb9"] * 2
    stale = {**ack, "ack": "cb10", "edit_text": None, "drop_buttons": True,
             "notice": "That question has closed."}
    await transport.send(row(stale))  # no buttons left to drop: harmless
    assert fake.calls_to("answerCallbackQuery")[-1]["text"] == "That question has closed."


async def test_press_ack_can_keep_new_buttons_on_the_edited_question(
        transport: TelegramTransport, served: tuple[FakeTelegram, ServedApp]) -> None:
    """A tap on a multi-choice question: the same message, its new ticks and buttons."""
    fake = served[0]
    await transport.send(row({"text": "Pick", "choices": choices(["A", "B"]), "layout": "list"}))
    ticked = [{**c, "label": "✅ " + c["label"]} if i == 0 else c
              for i, c in enumerate(choices(["A", "B"]))]
    await transport.send(row({"kind": "press_ack", "ack": "cb11", "source_id": "1",
                              "notice": "Up to 1", "edit_text": "Pick",
                              "edit_choices": ticked, "edit_layout": "list",
                              "drop_buttons": False}))
    message = fake.message(77, 1)
    assert message is not None and message["text"] == "Pick"
    assert [[b["text"] for b in r] for r in message["reply_markup"]["inline_keyboard"]] == [
        ["✅ A"], ["B"]]
    assert fake.calls_to("answerCallbackQuery")[-1]["text"] == "Up to 1"


async def test_document(transport: TelegramTransport,
                        served: tuple[FakeTelegram, ServedApp]) -> None:
    result = await transport.send(row({"kind": "document", "filename": "my-data.json",
                                       "content": '{"a": 1}', "text": ""}))
    [doc] = served[0].documents
    assert doc["filename"] == "my-data.json" and doc["content"] == b'{"a": 1}'
    assert result.provider_id == "1"


# -- what Conversations writes for Telegram's native UX --------------------------------------
async def press(runtime: Runtime, address: str, token: str, ack: str,
                source: str = "5") -> list[OutboxItem]:
    await runtime.conversations.handle(Inbound(
        channel="telegram", address=address, received_at=runtime.clock.now(), kind="press",
        press=token, ack=ack, source_id=source))
    due = await runtime.store.outbox_due("telegram", runtime.clock.now(), 100)
    for item in due:
        item.status = "sent"
        await runtime.store.outbox_update(item)
    return due


async def test_a_press_is_answered_first_and_its_question_edited(runtime: Runtime) -> None:
    phone, pid = await enrolled_phone(runtime, "telegram:55")
    await runtime.conversations.start_flow(pid, "ons4")
    question = (await phone.collect())[-1]
    token = question.choices[7]["token"]
    rows = await press(runtime, "telegram:55", token, "cb1")
    assert [r.payload["kind"] for r in rows] == ["press_ack", "question"]
    ack = rows[0].payload
    assert ack["ack"] == "cb1" and ack["source_id"] == "5" and ack["notice"] is None
    assert ack["edit_text"] == question.payload["text"] + "\n\n✓ 7"
    stale = await press(runtime, "telegram:55", token, "cb2")  # the same button again
    assert [r.payload["kind"] for r in stale] == ["press_ack"]
    assert stale[0].payload["notice"] == ("That question has closed. Please answer the "
                                          "latest message.")
    assert stale[0].payload["drop_buttons"] is True
    answers = await runtime.store.answers(participant_id=pid)
    assert [a.value for a in answers] == [7]
    events = [e.name for e in await runtime.store.events(participant_id=pid)]
    assert "StaleInputIgnored" in events


async def test_press_without_ack_still_says_closed_in_a_message(runtime: Runtime) -> None:
    phone = SimulatedPhone(runtime, "telegram:56")
    await runtime.conversations.handle(Inbound(
        channel="telegram", address="telegram:56", received_at=runtime.clock.now(),
        kind="press", press="gone.1.1"))
    got = await phone.collect()
    assert [m.text for m in got] == ["That question has closed. Please answer the latest "
                                     "message."]


async def test_opted_out_press_is_still_answered_silently(runtime: Runtime) -> None:
    phone, _pid = await enrolled_phone(runtime, "telegram:57")
    await phone.say("STOP")
    rows = await press(runtime, "telegram:57", "x.1.1", "cb3")
    assert [r.payload["kind"] for r in rows] == ["press_ack"]


async def test_delete_confirmation_has_buttons_and_keep_cancels(runtime: Runtime) -> None:
    phone, pid = await enrolled_phone(runtime, "telegram:58")
    [confirm] = await phone.say("/delete")
    assert [c["label"] for c in confirm.choices] == ["Erase my data", "Keep it"]
    assert confirm.payload["layout"] == "row"
    rows = await press(runtime, "telegram:58", "sys.keep", "cb4")
    assert rows[0].payload["edit_text"].endswith("✓ Keep it")
    assert rows[1].payload["text"] == "OK, nothing has been erased."
    p = await runtime.store.get_participant(pid)
    assert p is not None and p.status == "consented"
    stale = await press(runtime, "telegram:58", "sys.delete", "cb5")  # after keeping
    assert [r.payload["kind"] for r in stale] == ["press_ack"] and stale[0].payload["notice"]
    await phone.say("/delete")
    rows = await press(runtime, "telegram:58", "sys.delete", "cb6")
    assert [r.payload["kind"] for r in rows] == ["press_ack", "notice"]
    assert rows[0].participant_id == "" and rows[1].payload["text"].startswith(
        "Your data has been erased.")
    assert (await runtime.store.get_participant(pid)).status == "erased"  # type: ignore[union-attr]


async def test_mydata_on_sms_has_no_file(runtime: Runtime) -> None:
    phone, _pid = await enrolled_phone(runtime, "tel:+447700900555")
    got = await phone.say("/mydata")
    assert len(got) == 1 and "your SMS address" in got[0].text
    assert "To get a full copy: call 0800 123 456." in got[0].text


async def test_group_chat_is_declined_without_enrolling(runtime: Runtime) -> None:
    await runtime.conversations.handle(Inbound(
        channel="telegram", address="telegram:-1009", received_at=runtime.clock.now(),
        kind="group"))
    due = await runtime.store.outbox_due("telegram", runtime.clock.now(), 10)
    assert [d.payload["text"] for d in due] == ["Sorry, I only talk in private chats."]
    assert await runtime.store.list_participants() == []


# -- the aiohttp backend's own corners ----------------------------------------------------
async def read_request(reader: asyncio.StreamReader) -> bytes:
    """One request's body, read whole, as a server does before answering."""
    head = await reader.readuntil(b"\r\n\r\n")
    length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
    return await reader.readexactly(length)


async def test_aiohttp_backend_survives_a_server_closing_idle_connections() -> None:
    """A server that closes after each answer (as one whose keep-alive ran out would):
    every send still arrives once, none is reported as failed."""
    seen: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(await read_request(reader))
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 25\r\n\r\n"
                     b'{"ok":true,"result":true}')
        await writer.drain()
        await asyncio.sleep(0.01)
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    bot = Bot(DEFAULT_TOKEN, base_url=f"http://127.0.0.1:{port}/bot",
              request=backend("aiohttp"))
    try:
        for _ in range(3):
            assert await bot.delete_webhook() is True
            await asyncio.sleep(0.05)  # the server has closed the idle connection
        assert len(seen) == 3
    finally:
        await bot.shutdown()
        await bot.request.shutdown()  # an uninitialised Bot skips it
        server.close()


@asynccontextmanager
async def bot_answered_with(answers: list[bytes],
                            request: BaseRequest | None = None) -> AsyncIterator[Bot]:
    """A Bot whose server reads each request and writes the next of ``answers`` (whole
    HTTP responses, byte for byte), then closes the connection."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(answers.pop(0))
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    bot = Bot(DEFAULT_TOKEN, base_url=f"http://127.0.0.1:{port}/bot",
              request=request or backend("aiohttp"))
    try:
        yield bot
    finally:
        await bot.shutdown()
        await bot.request.shutdown()  # an uninitialised Bot skips it
        server.close()


async def test_aiohttp_backend_reads_chunked_and_close_delimited_answers() -> None:
    answers = [b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
               b"5\r\n{\"ok\"\r\n8\r\n:true,\"r\r\nC\r\nesult\":true}\r\n0\r\n\r\n",
               b"HTTP/1.0 200 OK\r\n\r\n{\"ok\":true,\"result\":true}"]
    async with bot_answered_with(answers) as bot:
        assert await bot.delete_webhook() is True  # chunked
        assert await bot.delete_webhook() is True  # HTTP/1.0, body to end of stream


@pytest.mark.parametrize("declared", [True, False])
async def test_an_oversized_answer_is_refused_unread_and_ambiguous(declared: bool) -> None:
    """Over the cap, whether announced by Content-Length or only found while reading:
    the send is ambiguous (Telegram answered, so it may have acted), never resent."""
    body = b'{"ok":true,"result":"' + b"x" * 5000 + b'"}'
    head = (f"Content-Length: {len(body)}" if declared else "Connection: close").encode()
    request = AiohttpRequest(files=HTTPXRequest(), read_timeout=2, connect_timeout=2,
                             max_response_bytes=4096)
    async with bot_answered_with([b"HTTP/1.1 200 OK\r\n" + head + b"\r\n\r\n" + body],
                                 request) as bot:
        with pytest.raises(AmbiguousSend, match="ResponseTooLarge"):
            await TelegramTransport(bot, Pacing(30, 1)).send(row({"text": "hi"}))


async def test_an_answer_that_is_not_json_is_a_retry_as_with_ptbs_own_parser(
        caplog: pytest.LogCaptureFixture) -> None:
    """The answer is read by orjson through PTB's ``parse_json_payload`` hook: junk is
    PTB's own "Invalid server response", retried as before, and its text (which could
    hold a participant's message) is not logged."""
    body = b'{"ok": true, "result": {"text": "Ann\'s reply'  # cut short
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body
    async with bot_answered_with([answer]) as bot:
        with pytest.raises(TransientError, match="Invalid server response"):
            await TelegramTransport(bot, Pacing(30, 1)).send(row({"text": "hi"}))
    assert "invalid JSON" in caplog.text and "Ann" not in caplog.text


def test_a_proxy_in_the_environment_means_httpx() -> None:
    assert proxy_configured({"HTTPS_PROXY": "http://proxy:3128"})
    assert not proxy_configured({})


async def test_a_rejected_message_fails_at_once_with_the_reason(runtime: Runtime) -> None:
    from bot.delivery.outbox import OutboxSender
    from bot.metrics import Metrics
    from bot.store.records import Changes

    class Refusing:
        channel = "telegram"
        pacing = Pacing(30, 1)

        async def start(self) -> None: ...
        async def stop(self) -> None: ...

        async def send(self, item: OutboxItem) -> Any:
            raise Rejected("telegram: Bad Request: message is too long")

        async def resolve_ambiguous(self, item: OutboxItem) -> Any:
            raise AmbiguousSend("cannot tell")

    item = row({"text": "x", "kind": "notice"}, item_id=None)  # type: ignore[arg-type]
    item.participant_id = ""
    await runtime.store.apply(Changes(outbox=[item]))
    sender = OutboxSender(runtime.store, Refusing(), runtime.clock, Metrics())  # type: ignore[arg-type]
    await sender.send_one(item)
    [stored] = await runtime.store.outbox_all()
    assert stored.status == "failed" and stored.attempts == 1
    assert stored.last_error == "rejected: telegram: Bad Request: message is too long"
