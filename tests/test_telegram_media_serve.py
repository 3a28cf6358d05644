"""Telegram end to end for issue 17: the real ``parley serve`` process, the fake Bot API
(now with getFile and file downloads), the SQLite file and the media folder.

- the consent introduction arrives as at most two messages (texts fold into the
  question that follows them on a rich channel);
- a voice note to a free-text question is the answer: fetched through the real Bot's
  getFile, stored, played in the dashboard, and gone after erasure;
- a photo to a choice question gets a kind reply (a number or a button, or SKIP).
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.config import load_config
from bot.runtime import Runtime, open_runtime
from bot.simulator import enrolled_phone
from bot.store.dashboard import Coordinator
from bot.store.records import Address, Participant
from bot.web.dashboard.auth import hash_password
from tests.fakes.server import ServedApp
from tests.fakes.telegram_api import FakeTelegram, make_media_update
from tests.sms_harness import until_db
from tests.telegram_harness import Chat, ParleyProcess, post_update, write_config

pytestmark = [pytest.mark.timeout(60), pytest.mark.slow]
EMAIL, PASSWORD = "coord@example.org", "correct horse battery"
_IDS = itertools.count(900_000_000)


@pytest.fixture(scope="module")
def fake() -> Iterator[tuple[FakeTelegram, ServedApp]]:
    telegram = FakeTelegram(hang_seconds=4.0)
    with telegram.serve() as served:
        yield telegram, served


@pytest.fixture(scope="module")
def server(fake: tuple[FakeTelegram, ServedApp],
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[ParleyProcess]:
    folder = tmp_path_factory.mktemp("telegram-media")
    config = write_config(folder, fake[1].base_url, per_chat_per_second=1)
    with config.open("a", encoding="utf-8") as file:
        file.write(f'\n[media]\nfolder = "{folder / "media"}"\n')
    process = ParleyProcess(config).start()
    yield process
    process.stop()


@pytest.fixture
async def db(server: ParleyProcess) -> AsyncIterator[Runtime]:
    runtime = await open_runtime(load_config(server.config))
    yield runtime
    await runtime.close()


async def send_media(chat: Chat, field: str, item: Any) -> httpx.Response:
    update = make_media_update(next(_IDS), chat.chat_id, field, item,
                               message_id=next(_IDS) % 100_000)
    response = await post_update(chat.server, update)
    assert response.status_code == 200, response.text
    return response


async def test_the_consent_introduction_arrives_as_at_most_two_messages(
        server: ParleyProcess, fake: tuple[FakeTelegram, ServedApp], db: Runtime) -> None:
    me = Chat(server, fake[0], 5101)
    now = dt.datetime.now(dt.UTC)
    await db.store.import_participants([(Participant("p_tg_intro", now, imported=True),
                                         [Address(me.address, "p_tg_intro", "telegram",
                                                  now)])])
    assert await db.conversations.start_flow("p_tg_intro", "ons4") == "introduced"
    first = await me.replies()
    assert len(first) == 1  # who is writing, how to stop, and the language question
    assert first[0].startswith("Hello, this is Money Voices.")
    assert "Which language would you like?" in first[0]
    consent = await me.tap("English")
    assert len(consent) == 1  # the whole consent text and its question: one message
    assert consent[0].startswith("Hi, this is Money Voices.")
    assert consent[0].endswith("Do you agree to take part, and for us to keep your answers?")
    assert me.buttons(me.messages()[-1]) == ["Yes", "No"]
    sends = [c for c in fake[0].calls if c[0] == "sendMessage"
             and c[1].get("chat_id") == me.chat_id]
    assert len(sends) == 2


async def test_a_voice_note_to_a_text_question_is_the_answer_and_is_erased_with_them(
        server: ParleyProcess, fake: tuple[FakeTelegram, ServedApp], db: Runtime) -> None:
    telegram = fake[0]
    me = Chat(server, telegram, 5102)
    _, pid = await enrolled_phone(db, me.address, name="Ffion")
    assert await db.conversations.start_flow(pid, "feedback") == "started"
    await me.replies()
    assert (await me.tap("OK"))[-1].startswith("What should we change")
    voice = b"OggS\x00\x02telegram-voice" + bytes(300)
    file_id = telegram.add_file(voice)
    await send_media(me, "voice", {"file_id": file_id, "file_unique_id": file_id[-8:],
                                   "duration": 4, "mime_type": "audio/ogg",
                                   "file_size": len(voice)})
    assert (await me.replies())[-1].startswith("Would you take part in something")
    answers = await db.store.answers(participant_id=pid, flow_id="feedback")
    assert [a.value for a in answers if a.field == "change"] == ["[voice note]"]
    [item] = await until_db(db, lambda rt: _stored(rt, pid), what="the voice note stored")
    assert Path(item.path).read_bytes() == voice and item.content_type == "audio/ogg"

    async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as web:
        await db.store.save_coordinator(Coordinator(EMAIL, hash_password(PASSWORD),
                                                    dt.datetime.now(dt.UTC)))
        page = await web.get("/admin/login")
        csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
        await web.post("/admin/login", data={"csrf": csrf, "email": EMAIL,
                                             "password": PASSWORD, "next": "/admin/media"})
        listing = await web.get("/admin/media")
        assert f'<audio controls preload="none" src="/admin/media/{item.id}/file"' \
            in listing.text
        assert "voice note" in listing.text
        played = await web.get(f"/admin/media/{item.id}/file")
        assert played.status_code == 200 and played.content == voice
        assert played.headers["x-content-type-options"] == "nosniff"
        results = await web.get("/admin/results/feedback")
        assert "voice note" in results.text  # counted by kind beside typed answers

        assert (await me.say("DELETE"))[-1]
        await me.say("DELETE")  # confirmed: erased
        await until_db(db, lambda rt: _none_left(rt, pid), what="the media erased")
        assert not Path(item.path).exists()
        assert (await web.get(f"/admin/media/{item.id}/file")).status_code == 404


async def test_a_photo_to_a_choice_question_gets_a_kind_reply(
        server: ParleyProcess, fake: tuple[FakeTelegram, ServedApp], db: Runtime) -> None:
    telegram = fake[0]
    me = Chat(server, telegram, 5103)
    _, pid = await enrolled_phone(db, me.address, name="Kai")
    assert await db.conversations.start_flow(pid, "feedback") == "started"
    await me.replies()
    photo = telegram.add_file(b"\xff\xd8jpeg", ".jpg")
    await send_media(me, "photo", [{"file_id": photo, "file_unique_id": "x", "width": 90,
                                    "height": 90}])
    [kind] = await me.replies()
    assert kind == ("Thanks! For this question please reply with one of the numbers or "
                    "tap a button, or reply SKIP.")
    assert await db.store.media_of(pid) == []  # not an answer: nothing kept


async def _stored(runtime: Runtime, pid: str) -> list[Any]:
    return [m for m in await runtime.store.media_of(pid) if m.status == "stored"]


async def _none_left(runtime: Runtime, pid: str) -> bool:
    return await runtime.store.media_of(pid) == [] and \
        (await runtime.store.get_participant(pid)).status == "erased"  # type: ignore[union-attr]
