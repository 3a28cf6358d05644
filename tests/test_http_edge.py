"""The HTTP edge (issue 12, findings 7 and 9) against the real ``parley serve``: deep JSON
is 400, a chunked body over the limit is 413 (before any signature check), clients that
go away mid-body leave one DEBUG line and no traceback, slow clients are dropped,
redirects never echo the Host header, every response says nosniff (HSTS on https), and
the database is created readable by its owner only."""

from __future__ import annotations

import json
import logging
import socket
import stat
import time
from collections.abc import Iterator

import httpx
import pytest

from bot.text_hygiene import loads_bounded
from bot.web.edge import HttpEdge
from tests.serve_process import ParleyProcess, write_config
from tests.test_hostile_input import SECRET, TOKEN

pytestmark = [pytest.mark.timeout(60)]
LIMIT = 4096


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ParleyProcess]:
    folder = tmp_path_factory.mktemp("edge")
    config = write_config(folder, "telegram", {"token": TOKEN, "webhook_secret": SECRET,
                                               "api_base_url": "http://127.0.0.1:9/bot"},
                          public_url="https://parley.example")
    text = config.read_text().replace('public_url = "https://parley.example"',
                                      'public_url = "https://parley.example"\n'
                                      f"max_body_bytes = {LIMIT}\nread_timeout = 1.0")
    config.write_text(text)
    process = ParleyProcess(config, log_level="DEBUG").start()
    yield process
    process.stop()


def _raw(served: ParleyProcess, data: bytes, *, read: bool = True,
         timeout: float = 5.0) -> bytes:
    port = int(served.base_url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        if not read:
            return b""
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)


def test_deep_json_is_400_and_the_parser_bounds_depth(served: ParleyProcess) -> None:
    deep = "[" * 3000 + "]" * 3000
    with pytest.raises(ValueError):
        loads_bounded(deep)
    with pytest.raises(ValueError):
        loads_bounded("[" * 100_000)  # the C decoder's RecursionError, as a ValueError
    assert loads_bounded('{"a": [[1]]}') == {"a": [[1]]}
    response = httpx.post(served.base_url + "/telegram/webhook",
                          content="[" * 2000 + "]" * 2000,  # a RecursionError, once a 500
                          headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
    assert response.status_code == 400
    nested = json.dumps({"update_id": 1, "x": json.loads("[" * 200 + "]" * 200)})
    response = httpx.post(served.base_url + "/telegram/webhook", content=nested,
                          headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
    assert response.status_code == 400


def test_chunked_body_over_the_limit_is_413(served: ParleyProcess) -> None:
    def pieces() -> Iterator[bytes]:
        for _ in range(LIMIT // 512 + 2):
            yield b"Body=" + b"x" * 507

    response = httpx.post(served.base_url + "/sms/inbound", content=pieces())
    assert response.status_code == 413
    assert "Traceback" not in served.log.read_text(errors="replace")


def test_disconnects_mid_body_log_once_at_debug_and_no_traceback(
        served: ParleyProcess) -> None:
    before = served.log.read_text(errors="replace")
    for _ in range(20):
        _raw(served, b"POST /telegram/webhook HTTP/1.1\r\nHost: x\r\n"
                     b"Content-Length: 1000\r\n\r\n{\"update_id\":", read=False)
    time.sleep(0.5)
    assert httpx.get(served.base_url + "/healthz").status_code == 200
    new = served.log.read_text(errors="replace")[len(before):]
    assert "Traceback" not in new and "ERROR" not in new
    assert new.count("client went away") == 20  # one line each, at DEBUG


def test_a_slow_body_is_dropped(served: ParleyProcess) -> None:
    started = time.monotonic()
    answer = _raw(served, b"POST /telegram/webhook HTTP/1.1\r\nHost: x\r\n"
                          b"Content-Length: 100\r\n\r\n{", timeout=10)
    assert answer.startswith(b"HTTP/1.1 408")
    assert time.monotonic() - started < 5


def test_redirects_are_relative_whatever_the_host_header(served: ParleyProcess) -> None:
    for path in ("/admin", "/admin/"):
        response = httpx.get(served.base_url + path, headers={"Host": "evil.example"})
        assert response.status_code in (303, 307), response.status_code
        location = response.headers["location"]
        assert location.startswith("/admin") and "evil" not in location


def test_nosniff_everywhere_and_hsts_on_https(served: ParleyProcess) -> None:
    for path in ("/healthz", "/metrics", "/admin/login", "/admin/static/dashboard.css",
                 "/nowhere"):
        response = httpx.get(served.base_url + path)
        assert response.headers.get("x-content-type-options") == "nosniff", path
        assert "max-age=" in response.headers.get("strict-transport-security", ""), path


def test_database_files_are_private(served: ParleyProcess) -> None:
    db = served.config.with_name("parley.db")
    for path in (db, db.with_name("parley.db-wal")):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


async def test_edge_alone_does_not_call_the_app_when_the_client_leaves(
        caplog: pytest.LogCaptureFixture) -> None:
    called: list[str] = []

    async def app(scope: object, receive: object, send: object) -> None:
        called.append("app")

    messages = iter([{"type": "http.request", "body": b"{", "more_body": True},
                     {"type": "http.disconnect"}])

    async def receive() -> dict[str, object]:
        return next(messages)

    async def send(message: object) -> None:
        called.append("send")

    edge = HttpEdge(app, limit=LIMIT)
    with caplog.at_level(logging.DEBUG, logger="parley.web"):
        await edge({"type": "http", "method": "POST", "path": "/x", "headers": []},
                   receive, send)
    assert called == []
    assert [r.levelname for r in caplog.records] == ["DEBUG"]


async def test_webhooks_are_answered_directly_with_the_same_answers(
        caplog: pytest.LogCaptureFixture) -> None:
    """A provider's webhook (a POST ``PlainEndpoint`` route) is handed its request by the
    edge, past Starlette's routing; other methods on its path still get Starlette's 405,
    other paths Starlette's routes, and a failing webhook a 500 with its traceback in
    the log, as Starlette would answer it."""
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from bot.plain_http import PlainEndpoint, header
    from bot.web.app import webhooks

    async def hook(headers: list[tuple[bytes, bytes]], body: bytes) -> tuple[int, str]:
        if body == b"boom":
            raise RuntimeError("a bug")
        return 202, f"{header(headers, b'x-key')!r} {body.decode()}"

    async def page(request: object) -> PlainTextResponse:
        return PlainTextResponse("page")

    routes = [Route("/hook", PlainEndpoint(hook), methods=["POST"]), Route("/page", page)]
    direct = webhooks(routes)
    assert list(direct) == ["/hook"]
    edge = HttpEdge(Starlette(routes=routes), limit=LIMIT, direct=direct)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=edge),
                                 base_url="http://parley.test") as http:
        answer = await http.post("/hook", content=b"hi", headers={"X-Key": "k"})
        assert (answer.status_code, answer.text) == (202, "b'k' hi")
        assert answer.headers["content-type"] == "text/plain; charset=utf-8"
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert (await http.get("/hook")).status_code == 405
        assert (await http.get("/page")).text == "page"
        assert (await http.post("/hook", content=b"x" * (LIMIT + 1))).status_code == 413
        with caplog.at_level(logging.ERROR, logger="parley.web"):
            failed = await http.post("/hook", content=b"boom")
    assert failed.status_code == 500 and "a bug" not in failed.text
    assert "RuntimeError: a bug" in caplog.text
