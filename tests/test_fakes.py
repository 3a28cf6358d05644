"""The fakes, verified against the real client libraries (PTB 22, twilio 9).

These tests pin down what production code will observe when the remote services
misbehave, so the fakes can be trusted by the channel and delivery tests.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import subprocess
import sys
import time
import warnings
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import requests
import telegram
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from telegram.error import (
    BadRequest,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.request import HTTPXRequest
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

REPO_ROOT = Path(__file__).resolve().parents[1]
# `tests` is not a regular package and pytest is not configured with pythonpath=["."],
# so make the canonical `tests.fakes` name importable (as benchmarks use it).
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from tests.fakes.server import ServedApp  # noqa: E402
from tests.fakes.telegram_api import DEFAULT_TOKEN, FakeTelegram  # noqa: E402
from tests.fakes.twilio_api import (  # noqa: E402
    DEFAULT_ACCOUNT_SID,
    DEFAULT_AUTH_TOKEN,
    FakeTwilio,
    inbound_sms_form,
    segment_count,
    sign_twilio_request,
)

UK_TO = "+447700900123"
UK_FROM = "+447700900000"

pytestmark = [
    pytest.mark.timeout(30),
    # PTB 22.2+ warns whenever RetryAfter is built unless PTB_TIMEDELTA=true.
    pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning"),
]


class ManualClock:
    """Deterministic monotonic clock for the rate-limit windows."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def retry_after_seconds(exc: RetryAfter) -> float:
    """PTB 22.2+ returns int (deprecated) or timedelta (PTB_TIMEDELTA=true)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)


# ---------------------------------------------------------------------------- server


def _hello_app() -> Starlette:
    async def hello(request: Request) -> PlainTextResponse:
        return PlainTextResponse("hello")

    return Starlette(routes=[Route("/", hello)])


def test_served_app_binds_loopback_ephemeral_port_and_stops() -> None:
    with ServedApp(_hello_app()) as srv:
        assert srv.port > 0
        assert srv.base_url == f"http://127.0.0.1:{srv.port}"
        assert httpx.get(srv.url("/")).text == "hello"
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{srv.port}/", timeout=1)


async def test_served_app_async_context() -> None:
    async with ServedApp(_hello_app()) as srv, httpx.AsyncClient() as client:
        assert (await client.get(srv.url("/"))).text == "hello"


@pytest.mark.slow
@pytest.mark.parametrize(
    ("module", "probe"),
    [
        ("tests.fakes.telegram_api", f"/bot{DEFAULT_TOKEN}/getMe"),
        ("tests.fakes.twilio_api", "/_fake/stats"),
    ],
)
def test_standalone_process_reports_port(tmp_path: Path, module: str, probe: str) -> None:
    port_file = tmp_path / "port"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    cmd = [sys.executable, "-m", module, "--port", "0", "--port-file", str(port_file)]
    proc = subprocess.Popen(cmd, cwd=REPO_ROOT, env=env, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 15
        while not port_file.exists():
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            assert time.monotonic() < deadline, "port file never written"
            time.sleep(0.05)
        port = int(port_file.read_text())
        response = httpx.get(f"http://127.0.0.1:{port}{probe}", timeout=5)
        assert response.status_code == 200
        stats = httpx.get(f"http://127.0.0.1:{port}/_fake/stats", timeout=5).json()
        assert "rate_limited_count" in stats
    finally:
        proc.terminate()
        _, stderr = proc.communicate(timeout=10)
    # tests/fakes/__init__.py imports lazily, so runpy does not warn about a double import.
    assert b"RuntimeWarning" not in stderr


# -------------------------------------------------------------------------- telegram


@pytest.fixture
def tg(tg_server: tuple[FakeTelegram, ServedApp]) -> tuple[FakeTelegram, ServedApp]:
    tg_server[0].reset()
    return tg_server


@pytest.fixture(scope="module")
def tg_server() -> Iterator[tuple[FakeTelegram, ServedApp]]:
    """One server per module (uvicorn start/stop costs ~0.2 s); ``tg`` resets state."""
    fake = FakeTelegram(max_long_poll=0.5, hang_seconds=3.0)
    with fake.serve() as srv:
        yield fake, srv


def make_bot(srv: ServedApp, token: str = DEFAULT_TOKEN, read_timeout: float = 2.0) -> telegram.Bot:
    # PTB 22: requests go to f"{base_url}{token}/{method}" (token appended to base_url).
    return telegram.Bot(
        token,
        base_url=f"{srv.base_url}/bot",
        request=HTTPXRequest(read_timeout=read_timeout, connect_timeout=2.0),
        get_updates_request=HTTPXRequest(read_timeout=read_timeout, connect_timeout=2.0),
    )


@pytest.fixture
async def bot(tg: tuple[FakeTelegram, ServedApp]) -> AsyncIterator[telegram.Bot]:
    async with make_bot(tg[1], read_timeout=0.3) as bot:
        yield bot


KEYBOARD = telegram.InlineKeyboardMarkup(
    [[telegram.InlineKeyboardButton("Yes", callback_data="q1:yes")]]
)


async def test_ptb_get_me_and_send_message(
    tg: tuple[FakeTelegram, ServedApp], bot: telegram.Bot
) -> None:
    fake, _ = tg
    assert bot.bot.id == 4242
    assert bot.bot.username == "parley_test_bot"
    first = await bot.send_message(chat_id=1, text="hi", reply_markup=KEYBOARD)
    second = await bot.send_message(chat_id=1, text="again")
    other = await bot.send_message(chat_id=2, text="hello")
    assert (first.message_id, second.message_id, other.message_id) == (1, 2, 1)
    assert first.chat.id == 1 and first.chat.type == "private"
    assert first.from_user is not None and first.from_user.is_bot
    assert first.reply_markup == KEYBOARD
    assert [c[0] for c in fake.calls] == ["getMe", "sendMessage", "sendMessage", "sendMessage"]
    sent = fake.sent_messages[0]
    assert sent["chat_id"] == 1 and sent["text"] == "hi"
    assert sent["reply_markup"] == KEYBOARD.to_dict()
    assert fake.texts_to(1) == ["hi", "again"]


async def test_ptb_retry_after_from_429(
    tg: tuple[FakeTelegram, ServedApp], bot: telegram.Bot
) -> None:
    fake, _ = tg
    fake.fail_next(kind="429")
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(chat_id=1, text="hi")
    assert retry_after_seconds(caught.value) == 3
    assert fake.sent_messages == []
    await bot.send_message(chat_id=1, text="hi")  # consumed: next call succeeds
    assert len(fake.sent_messages) == 1


async def test_429_body_is_exactly_telegrams(tg: tuple[FakeTelegram, ServedApp]) -> None:
    fake, srv = tg
    fake.fail_next(kind="429", retry_after=7)
    async with httpx.AsyncClient() as client:
        response = await client.post(
            srv.url(f"/bot{DEFAULT_TOKEN}/sendMessage"), data={"chat_id": "5", "text": "x"}
        )
    assert response.status_code == 429
    assert response.content == (
        b'{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 7",'
        b'"parameters":{"retry_after":7}}'
    )


async def test_ptb_forbidden_from_403_and_blocked_chats(
    tg: tuple[FakeTelegram, ServedApp], bot: telegram.Bot
) -> None:
    fake, _ = tg
    fake.fail_next(chat_id=7, kind="403")
    await bot.send_message(chat_id=8, text="other chat is unaffected")
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(chat_id=7, text="hi")
    fake.blocked_chats.add(9)
    for _ in range(2):
        with pytest.raises(Forbidden):
            await bot.send_message(chat_id=9, text="hi")
    assert fake.texts_to(8) == ["other chat is unaffected"]


async def test_ptb_500_is_plain_network_error(
    tg: tuple[FakeTelegram, ServedApp], bot: telegram.Bot
) -> None:
    tg[0].fail_next(kind="500")
    with pytest.raises(NetworkError) as caught:
        await bot.send_message(chat_id=1, text="hi")
    assert type(caught.value) is NetworkError
    assert str(caught.value) == "Internal Server Error"


async def test_ptb_hang_times_out_but_message_was_delivered(
    tg: tuple[FakeTelegram, ServedApp], bot: telegram.Bot
) -> None:
    fake, _ = tg
    fake.fail_next(chat_id=1, kind="hang", hang_seconds=3.0)
    started = time.monotonic()
    with pytest.raises(TimedOut):
        await bot.send_message(chat_id=1, text="did it go?")
    assert time.monotonic() - started < 2.0
    assert fake.texts_to(1) == ["did it go?"]  # the provider sent it; the answer was lost


async def test_ptb_drop_is_network_error(
    tg: tuple[FakeTelegram, ServedApp], bot: telegram.Bot
) -> None:
    fake, _ = tg
    fake.fail_next(kind="drop")
    with pytest.raises(NetworkError, match="RemoteProtocolError") as caught:
        await bot.send_message(chat_id=1, text="lost")
    assert type(caught.value) is NetworkError
    assert fake.sent_messages == []
    fake.fail_next(kind="drop", delivered=True)
    with pytest.raises(NetworkError):
        await bot.send_message(chat_id=1, text="sent, answer lost")
    assert fake.texts_to(1) == ["sent, answer lost"]


async def test_wrong_token_and_unknown_method(tg: tuple[FakeTelegram, ServedApp]) -> None:
    _, srv = tg
    bad = make_bot(srv, token="999:WRONG")
    with pytest.raises(InvalidToken):
        await bad.initialize()
    await bad.request.shutdown()  # initialize() failed, so Bot.shutdown() would be a no-op
    async with httpx.AsyncClient() as client:
        unauthorized = await client.post(srv.url("/bot999:WRONG/getMe"))
        unknown = await client.post(srv.url(f"/bot{DEFAULT_TOKEN}/sendHologram"))
    assert unauthorized.status_code == 401
    assert unauthorized.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
    assert unknown.status_code == 404
    assert unknown.json() == {"ok": False, "error_code": 404, "description": "Not Found"}


async def test_json_body_is_accepted(tg: tuple[FakeTelegram, ServedApp]) -> None:
    fake, srv = tg
    markup = {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}
    async with httpx.AsyncClient() as client:
        response = await client.post(
            srv.url(f"/bot{DEFAULT_TOKEN}/sendMessage"),
            json={"chat_id": "42", "text": "json", "reply_markup": markup},
        )
    body = response.json()
    assert body["ok"] is True
    assert body["result"]["chat"] == {"id": 42, "type": "private"}
    assert body["result"]["reply_markup"] == markup
    assert fake.sent_messages[0]["chat_id"] == 42


async def test_send_document_multipart(
    tg: tuple[FakeTelegram, ServedApp], bot: telegram.Bot
) -> None:
    fake, _ = tg
    payload = b"id,answer\r\n1,\xc3\xa9\n\x00\xff"
    message = await bot.send_document(
        chat_id=3, document=payload, filename="export.csv", caption="Your data"
    )
    assert message.document is not None and message.document.file_name == "export.csv"
    assert message.caption == "Your data"
    [doc] = fake.documents
    assert (doc["chat_id"], doc["filename"], doc["content"]) == (3, "export.csv", payload)
    assert doc["caption"] == "Your data"


async def test_edit_message_and_callback_updates(
    tg: tuple[FakeTelegram, ServedApp], bot: telegram.Bot
) -> None:
    fake, _ = tg
    sent = await bot.send_message(chat_id=1, text="Question?", reply_markup=KEYBOARD)
    fake.push_callback(1, "q1:yes")
    [update] = await bot.get_updates(timeout=1)
    assert update.callback_query is not None and update.callback_query.data == "q1:yes"
    assert update.callback_query.message is not None
    assert update.callback_query.message.message_id == sent.message_id
    assert await bot.answer_callback_query(update.callback_query.id)
    edited = await bot.edit_message_text("Question? (answered)", chat_id=1, message_id=1)
    assert isinstance(edited, telegram.Message) and edited.reply_markup is None
    with pytest.raises(BadRequest, match="not modified"):
        await bot.edit_message_text("Question? (answered)", chat_id=1, message_id=1)
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_reply_markup(chat_id=1, message_id=99, reply_markup=KEYBOARD)
    await bot.edit_message_reply_markup(chat_id=1, message_id=1, reply_markup=KEYBOARD)
    assert fake.message(1, 1) is not None
    assert fake.message(1, 1)["reply_markup"] == KEYBOARD.to_dict()  # type: ignore[index]


async def test_get_updates_offset_and_bounded_long_poll(
    tg: tuple[FakeTelegram, ServedApp], bot: telegram.Bot
) -> None:
    fake, _ = tg
    fake.push_text(5, "/start")
    fake.push_text(5, "hello")
    updates = await bot.get_updates(timeout=1)
    assert [u.message.text for u in updates if u.message] == ["/start", "hello"]
    assert await bot.get_updates(offset=updates[0].update_id + 1) == updates[1:]
    started = time.monotonic()
    assert await bot.get_updates(offset=updates[-1].update_id + 1, timeout=10) == ()
    assert time.monotonic() - started < 2.0  # capped by max_long_poll=0.5

    async def push_later() -> None:
        await asyncio.sleep(0.1)
        fake.push_text(5, "late")

    pusher = asyncio.create_task(push_later())
    [late] = await bot.get_updates(offset=updates[-1].update_id + 1, timeout=1)
    await pusher
    assert late.message is not None and late.message.text == "late"


async def test_webhook_methods(tg: tuple[FakeTelegram, ServedApp], bot: telegram.Bot) -> None:
    fake, _ = tg
    assert await bot.set_webhook("https://parley.example/tg", secret_token="s3cret")
    assert fake.webhook["url"] == "https://parley.example/tg"
    assert fake.webhook["secret_token"] == "s3cret"
    assert (await bot.get_webhook_info()).url == "https://parley.example/tg"
    with pytest.raises(Conflict):
        await bot.get_updates()
    assert await bot.delete_webhook()
    assert (await bot.get_webhook_info()).url == ""
    assert await bot.set_my_commands([("start", "Begin")])
    assert [c.command for c in await bot.get_my_commands()] == ["start"]


async def test_rate_limits_per_chat_and_global() -> None:
    clock = ManualClock()
    fake = FakeTelegram(
        enforce_limits=True, global_per_second=3, per_chat_per_second=1, clock=clock
    )
    async with fake.serve() as srv, make_bot(srv) as bot:
        await bot.send_message(chat_id=1, text="a")
        with pytest.raises(RetryAfter) as caught:
            await bot.send_message(chat_id=1, text="b")  # same chat within 1 s
        assert retry_after_seconds(caught.value) == 1
        await bot.send_message(chat_id=2, text="c")
        await bot.send_message(chat_id=3, text="d")
        with pytest.raises(RetryAfter):
            await bot.send_message(chat_id=4, text="e")  # 4th in the global 1 s window
        clock.now += 1.0
        await bot.send_message(chat_id=1, text="b again")
        await bot.send_message(chat_id=4, text="e again")
    assert fake.rate_limited_count == 2
    assert fake.accepted_count == 5
    assert len(fake.sent_messages) == 5


async def test_rate_limit_burst_tolerance() -> None:
    fake = FakeTelegram(enforce_limits=True, per_chat_per_second=1, burst=1, clock=ManualClock())
    async with fake.serve() as srv, make_bot(srv) as bot:
        await bot.send_message(chat_id=1, text="a")
        await bot.send_message(chat_id=1, text="b")
        with pytest.raises(RetryAfter):
            await bot.send_message(chat_id=1, text="c")
    assert fake.rate_limited_count == 1


# ---------------------------------------------------------------------------- twilio


@pytest.fixture
def tw(tw_server: tuple[FakeTwilio, ServedApp]) -> tuple[FakeTwilio, ServedApp]:
    tw_server[0].reset()
    return tw_server


@pytest.fixture(scope="module")
def tw_server() -> Iterator[tuple[FakeTwilio, ServedApp]]:
    fake = FakeTwilio(hang_seconds=3.0)
    with fake.serve() as srv:
        yield fake, srv


def make_client(srv: ServedApp, token: str = DEFAULT_AUTH_TOKEN, timeout: float = 2.0) -> Client:
    client = Client(DEFAULT_ACCOUNT_SID, token, http_client=TwilioHttpClient(timeout=timeout))
    client.api.base_url = srv.base_url  # twilio.base.domain.Domain.base_url
    return client


def test_twilio_create_fetch_and_list(tw: tuple[FakeTwilio, ServedApp]) -> None:
    fake, srv = tw
    client = make_client(srv)
    message = client.messages.create(
        to=UK_TO,
        from_=UK_FROM,
        body="hi",
        status_callback="https://parley.example/sms/status",
        validity_period=600,
    )
    assert message.sid is not None and len(message.sid) == 34 and message.sid.startswith("SM")
    assert (message.status, message.direction, message.num_segments) == (
        "queued",
        "outbound-api",
        "1",
    )
    assert message.account_sid == DEFAULT_ACCOUNT_SID and message.error_code is None
    assert message.date_created is not None and message.date_created.tzinfo is not None
    [record] = fake.messages
    assert (record["to"], record["from"], record["body"]) == (UK_TO, UK_FROM, "hi")
    assert record["status_callback"] == "https://parley.example/sms/status"
    assert record["validity_period"] == 600 and record["sid"] == message.sid

    assert client.messages(message.sid).fetch().status == "sent"
    fake.set_status(message.sid, "delivered")
    assert client.messages(message.sid).fetch().status == "delivered"

    since = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    assert [m.sid for m in client.messages.list(to=UK_TO, date_sent_after=since)] == [message.sid]
    assert client.messages.list(to="+447700900999") == []
    future = dt.datetime.now(dt.UTC) + dt.timedelta(days=2)
    assert client.messages.list(to=UK_TO, date_sent_after=future) == []


def test_twilio_list_paginates_newest_first(tw: tuple[FakeTwilio, ServedApp]) -> None:
    _, srv = tw
    client = make_client(srv)
    sids = [client.messages.create(to=UK_TO, from_=UK_FROM, body=str(i)).sid for i in range(3)]
    listed = client.messages.list(to=UK_TO, page_size=2)
    assert [m.sid for m in listed] == sids[::-1]
    raw = httpx.get(
        srv.url(f"/2010-04-01/Accounts/{DEFAULT_ACCOUNT_SID}/Messages.json"),
        params={"To": UK_TO, "PageSize": 2},
        auth=(DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN),
    ).json()
    assert (raw["page"], raw["page_size"], raw["start"], raw["end"]) == (0, 2, 0, 1)
    assert raw["next_page_uri"] is not None and raw["previous_page_uri"] is None


def test_twilio_messaging_service_and_segments(tw: tuple[FakeTwilio, ServedApp]) -> None:
    _, srv = tw
    client = make_client(srv)
    service = "MG" + "0" * 32
    message = client.messages.create(to=UK_TO, messaging_service_sid=service, body="ы" * 71)
    assert (message.status, message.from_, message.num_segments) == ("accepted", None, "2")
    assert segment_count("a" * 160) == 1 and segment_count("a" * 161) == 2
    assert segment_count("€" * 80) == 1 and segment_count("€" * 81) == 2  # escape = 2 septets


@pytest.mark.parametrize(
    ("kind", "status", "code"),
    [
        ("21610", 400, 21610),
        ("21211", 400, 21211),
        ("21614", 400, 21614),
        ("429", 429, 20429),
        ("500", 500, 20500),
    ],
)
def test_twilio_scripted_errors(
    tw: tuple[FakeTwilio, ServedApp], kind: str, status: int, code: int
) -> None:
    fake, srv = tw
    fake.fail_next(kind=kind)
    with pytest.raises(TwilioRestException) as caught:
        make_client(srv).messages.create(to=UK_TO, from_=UK_FROM, body="hi")
    assert (caught.value.status, caught.value.code) == (status, code)
    assert fake.messages == []


def test_twilio_fail_next_targets_recipient(tw: tuple[FakeTwilio, ServedApp]) -> None:
    fake, srv = tw
    client = make_client(srv)
    fake.fail_next(to="+447700900555", kind="21610")
    client.messages.create(to=UK_TO, from_=UK_FROM, body="unaffected")
    with pytest.raises(TwilioRestException):
        client.messages.create(to="+447700900555", from_=UK_FROM, body="hi")
    assert [m["to"] for m in fake.messages] == [UK_TO]


def test_twilio_unsubscribed_and_validation(tw: tuple[FakeTwilio, ServedApp]) -> None:
    fake, srv = tw
    client = make_client(srv)
    fake.unsubscribed.add(UK_TO)
    for _ in range(2):
        with pytest.raises(TwilioRestException) as caught:
            client.messages.create(to=UK_TO, from_=UK_FROM, body="hi")
        assert caught.value.code == 21610
    with pytest.raises(TwilioRestException) as caught:
        client.messages.create(to="07700900123", from_=UK_FROM, body="hi")
    assert caught.value.code == 21211
    with pytest.raises(TwilioRestException) as caught:
        client.messages.create(to="+447700900124", from_=UK_FROM, body="x" * 1601)
    assert caught.value.code == 21617


def test_twilio_auth_failure(tw: tuple[FakeTwilio, ServedApp]) -> None:
    _, srv = tw
    with pytest.raises(TwilioRestException) as caught:
        make_client(srv, token="wrong").messages.create(to=UK_TO, from_=UK_FROM, body="hi")
    assert (caught.value.status, caught.value.code) == (401, 20003)
    raw = httpx.get(srv.url(f"/2010-04-01/Accounts/{DEFAULT_ACCOUNT_SID}/Messages.json"))
    assert raw.json() == {
        "code": 20003,
        "message": "Authenticate",
        "more_info": "https://www.twilio.com/docs/errors/20003",
        "status": 401,
    }


def test_twilio_hang_times_out_and_lookup_finds_the_send(tw: tuple[FakeTwilio, ServedApp]) -> None:
    fake, srv = tw
    fake.fail_next(to=UK_TO, kind="hang")
    since = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=5)
    with pytest.raises(requests.exceptions.ReadTimeout):
        make_client(srv, timeout=0.3).messages.create(to=UK_TO, from_=UK_FROM, body="ambiguous")
    [record] = fake.messages
    found = make_client(srv).messages.list(to=UK_TO, date_sent_after=since)
    assert [(m.sid, m.body) for m in found] == [(record["sid"], "ambiguous")]


def test_twilio_drop_is_connection_error(tw: tuple[FakeTwilio, ServedApp]) -> None:
    fake, srv = tw
    fake.fail_next(kind="drop")
    with pytest.raises(requests.exceptions.ConnectionError):
        make_client(srv).messages.create(to=UK_TO, from_=UK_FROM, body="lost")
    assert fake.messages == []


def test_twilio_rate_limit_enforcement() -> None:
    clock = ManualClock()
    fake = FakeTwilio(enforce_limits=True, per_second=2, clock=clock)
    with fake.serve() as srv:
        client = make_client(srv)
        client.messages.create(to=UK_TO, from_=UK_FROM, body="1")
        client.messages.create(to=UK_TO, from_=UK_FROM, body="2")
        with pytest.raises(TwilioRestException) as caught:
            client.messages.create(to=UK_TO, from_=UK_FROM, body="3")
        assert (caught.value.status, caught.value.code) == (429, 20429)
        clock.now += 1.0
        client.messages.create(to=UK_TO, from_=UK_FROM, body="3 again")
    assert (fake.accepted_count, fake.rate_limited_count) == (3, 1)


async def test_twilio_async_client(tw: tuple[FakeTwilio, ServedApp]) -> None:
    """AsyncTwilioHttpClient (aiohttp) works; bound it with asyncio timeouts.

    twilio 9.13's AsyncTwilioHttpClient ignores its constructor ``timeout`` (only a
    per-request timeout is forwarded, and ``create_async`` never passes one), so a
    hang is only cut short by an outer ``asyncio.wait_for``/``asyncio.timeout``.
    """
    fake, srv = tw
    http_client = AsyncTwilioHttpClient()
    try:
        client = Client(DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, http_client=http_client)
        client.api.base_url = srv.base_url
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # aiohttp BasicAuth
            message = await client.messages.create_async(to=UK_TO, from_=UK_FROM, body="hi")
            assert message.status == "queued"
            fake.fail_next(kind="hang")
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(
                    client.messages.create_async(to=UK_TO, from_=UK_FROM, body="slow"), 0.3
                )
    finally:
        await http_client.close()
    assert [m["body"] for m in fake.messages] == ["hi", "slow"]


def test_status_callback_form(tw: tuple[FakeTwilio, ServedApp]) -> None:
    fake, srv = tw
    sid = make_client(srv).messages.create(to=UK_TO, from_=UK_FROM, body="hi").sid
    assert sid is not None
    assert fake.status_callback_form(sid, "delivered") == {
        "ApiVersion": "2010-04-01",
        "AccountSid": DEFAULT_ACCOUNT_SID,
        "MessageSid": sid,
        "MessageStatus": "delivered",
        "SmsSid": sid,
        "SmsStatus": "delivered",
        "From": UK_FROM,
        "To": UK_TO,
    }
    assert fake.status_callback_form(sid, "undelivered", error_code=30006)["ErrorCode"] == "30006"


def test_inbound_form_and_signature() -> None:
    form = inbound_sms_form(UK_TO, UK_FROM, "STOP")
    assert list(form) == [
        "ToCountry", "ToState", "SmsMessageSid", "NumMedia", "ToCity", "FromZip", "SmsSid",
        "FromState", "SmsStatus", "FromCity", "Body", "FromCountry", "To", "ToZip",
        "NumSegments", "MessageSid", "AccountSid", "From", "ApiVersion",
    ]  # fmt: skip
    assert form["MessageSid"] == form["SmsSid"] == form["SmsMessageSid"]
    assert (form["From"], form["To"], form["Body"], form["FromCountry"]) == (
        UK_TO, UK_FROM, "STOP", "GB",
    )  # fmt: skip
    url = "https://parley.example/sms/inbound"
    signature = sign_twilio_request(DEFAULT_AUTH_TOKEN, url, form)
    assert RequestValidator(DEFAULT_AUTH_TOKEN).validate(url, form, signature)
    assert not RequestValidator("other-token").validate(url, form, signature)
