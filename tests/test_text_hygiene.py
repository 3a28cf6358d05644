"""Text hygiene at the edges (issue 12, findings 6 and 8): a lone surrogate or NUL in a
Telegram message is stored as U+FFFD, so the results page, its CSV, the participant's
export and the CLI keep working; participants' text printed by the CLI cannot drive the
terminal (ANSI, OSC-8 links, bidi overrides, rich markup)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from bot.config import Config, load_config
from bot.privacy import export_participant
from bot.runtime import Runtime, open_runtime
from bot.server import build_channels
from bot.service import ParleyService
from bot.simulator import enrolled_phone
from bot.store.dashboard import Coordinator
from bot.store.records import Changes, Participant
from bot.text_hygiene import clean, clean_text, for_terminal
from bot.web.app import create_app
from bot.web.dashboard.auth import hash_password
from tests.cli_inprocess import run_cli
from tests.fakes.server import ServedApp
from tests.fakes.telegram_api import FakeTelegram
from tests.serve_process import write_config
from tests.test_dashboard import EMAIL, PASSWORD, login

SECRET = "s3cret-webhook-token-for-tests"
TOKEN = "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghij"
HOSTILE = ("\x1b[2J\x1b[31mred\x1b[0m \x1b]8;;http://evil.example\x1b\\click\x1b]8;;\x1b\\ "
           "\u202edesrever\u202c [link=http://evil.example]x[/link] \x07\x9b")


def test_clean_replaces_lone_surrogates_and_nul_only() -> None:
    assert clean_text("a\ud800b\x00c") == "a\ufffdb\ufffdc"
    assert clean_text("😀 ŵ \u202e ok") == "😀 ŵ \u202e ok"  # valid text is kept as is
    assert clean({"t": ["\udfff", 1, None], "\x00": True}) == {
        "t": ["\ufffd", 1, None], "\ufffd": True}


def test_for_terminal_leaves_nothing_that_drives_a_terminal() -> None:
    shown = for_terminal(HOSTILE)
    assert not any(ch in shown for ch in "\x1b\x07\x9b\u202e\u202c")
    assert "\\[link=http://evil.example]" in shown  # markup escaped, text kept
    assert for_terminal("Ann\tO'Neill\nline two") == "Ann\tO'Neill\nline two"


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[tuple[ParleyService, httpx.AsyncClient]]:
    telegram = FakeTelegram(token=TOKEN)
    with ServedApp(telegram.app) as tg:
        config = Config.model_validate({
            "project": {"locales": ["en", "cy"]},
            "store": {"url": f"sqlite:///{tmp_path / 'p.db'}"},
            "telegram": {"token": TOKEN, "webhook_secret": SECRET,
                         "api_base_url": f"{tg.base_url}/bot"}})
        runtime = await open_runtime(config)
        await runtime.store.save_coordinator(Coordinator(EMAIL, hash_password(PASSWORD),
                                                         runtime.clock.now()))
        service = ParleyService(runtime, senders_paused=True)
        build_channels(service)
        await service.start()
        async with httpx.AsyncClient(transport=httpx.ASGITransport(
                app=create_app(service, manage_lifecycle=False)),
                base_url="http://parley.test") as client:
            yield service, client
        await service.stop()


async def _say(client: httpx.AsyncClient, update_id: int, text: str) -> None:
    body = json.dumps({"update_id": update_id, "message": {
        "message_id": update_id, "date": 1767600000, "text": text,
        "chat": {"id": 4242, "type": "private", "first_name": "Ann"},
        "from": {"id": 4242, "is_bot": False, "first_name": "Ann"}}})
    response = await client.post("/telegram/webhook", content=body.encode(
        "utf-8", "surrogatepass"), headers={"X-Telegram-Bot-Api-Secret-Token": SECRET,
                                            "Content-Type": "application/json"})
    assert response.status_code == 200


async def test_a_lone_surrogate_answer_breaks_no_page_or_export(
        served: tuple[ParleyService, httpx.AsyncClient]) -> None:
    service, client = served
    runtime: Runtime = service.runtime
    _, pid = await enrolled_phone(runtime, "telegram:4242", name="Ann")
    await runtime.conversations.start_flow(pid, "feedback")
    await _say(client, 1, "1")
    await _say(client, 2, "broken \ud800 text\x00here")
    await service.inbox.wait_idle(10)
    (answer,) = [a for a in await runtime.store.answers(participant_id=pid)
                 if a.field == "change"]
    assert answer.raw == "broken \ufffd text\ufffdhere"
    exported = await export_participant(runtime.store, pid)
    json.dumps(exported, ensure_ascii=False).encode("utf-8")  # valid UTF-8 throughout
    await login(client)
    page = await client.get("/admin/results/feedback")
    csv_file = await client.get("/admin/results/feedback/export.csv")
    person = await client.get(f"/admin/participants/{pid}/export.json")
    assert [page.status_code, csv_file.status_code, person.status_code] == [200, 200, 200]
    assert "broken \ufffd text" in csv_file.text


def test_cli_list_prints_names_inert(tmp_path: Path) -> None:
    config = write_config(tmp_path, "sms", {})

    async def seed() -> None:
        runtime = await open_runtime(load_config(config))
        try:
            await runtime.store.apply(Changes(participant=Participant(
                "p1", runtime.clock.now(), status="consented", name=HOSTILE)))
        finally:
            await runtime.close()

    asyncio.run(seed())
    shown = run_cli("participants", "list", "--config", config, cwd=tmp_path, columns=400)
    assert shown.returncode == 0, shown.stderr
    assert "red" in shown.stdout and "desrever" in shown.stdout
    assert not any(ch in shown.stdout for ch in "\x1b\x07\x9b\u202e\u202c")
    assert "[link=http://evil.example]x[/link]" in shown.stdout  # shown, not obeyed
