"""WhatsApp end to end: the real ``parley serve`` process, Twilio-signed webhooks, the fake
Twilio taught WhatsApp's rules (24-hour window, Content templates, media URLs), the real
CLI for import and rounds, and the SQLite file they share.

One server and one fake serve the module; each test writes from its own number.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.config import load_config
from bot.runtime import Runtime, open_runtime
from bot.store.dashboard import Coordinator
from bot.web.dashboard.auth import hash_password
from tests.cli_inprocess import run_cli
from tests.fakes.server import ServedApp
from tests.fakes.twilio_whatsapp import FakeTwilioWhatsApp
from tests.serve_process import ParleyProcess
from tests.sms_harness import until_db
from tests.whatsapp_harness import WhatsAppPhone, write_config

pytestmark = [pytest.mark.timeout(90), pytest.mark.slow]
EMAIL, PASSWORD = "coord@example.org", "correct horse battery"
QUICK_REPLY = [{"title": "{{2}}", "id": "{{3}}"}, {"title": "{{4}}", "id": "{{5}}"}]
LIST_4 = [{"title": f"{{{{{2 + 2 * i}}}}}", "id": f"{{{{{3 + 2 * i}}}}}"} for i in range(4)]


@pytest.fixture(scope="module")
def fake() -> Iterator[tuple[FakeTwilioWhatsApp, ServedApp]]:
    twilio = FakeTwilioWhatsApp(hang_seconds=2.0)
    with twilio.serve() as served:
        twilio.base_url = served.base_url
        yield twilio, served


@pytest.fixture(scope="module")
def sids(fake: tuple[FakeTwilioWhatsApp, ServedApp]) -> dict[str, str]:
    twilio = fake[0]
    return {
        "language.invite": twilio.add_content("{{1}} here. {{2}}"),
        "ons4.reminder": twilio.add_content("A reminder from {{1}}: {{2}}"),
        "quick_reply_2": twilio.add_content("{{1}}", kind="twilio/quick-reply",
                                            approved=False, actions=QUICK_REPLY),
        "list_4": twilio.add_content("{{1}}", kind="twilio/list-picker", approved=False,
                                     actions=LIST_4),
    }


@pytest.fixture(scope="module")
def server(fake: tuple[FakeTwilioWhatsApp, ServedApp], sids: dict[str, str],
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[ParleyProcess]:
    folder = tmp_path_factory.mktemp("whatsapp-serve")
    config = write_config(folder, fake[1].base_url,
                          {k: v for k, v in sids.items() if "." in k},
                          {k: v for k, v in sids.items() if "." not in k})
    mp = pytest.MonkeyPatch()
    mp.setenv("PARLEY_SCHEDULER_INTERVAL", "0.5")
    process = ParleyProcess(config).start()
    yield process
    process.stop()
    mp.undo()


@pytest.fixture
async def db(server: ParleyProcess) -> AsyncIterator[Runtime]:
    runtime = await open_runtime(load_config(server.config))
    yield runtime
    await runtime.close()


def cli(config: Path, *args: str) -> str:
    result = run_cli(*args, "--config", config, cwd=config.parent)
    assert result.returncode == 0, result.stderr + result.stdout
    return result.stdout


def age_window(server: ParleyProcess, fake: FakeTwilioWhatsApp, address: str,
               days: float = 2) -> None:
    """Let the person's last message be ``days`` old, for Parley and for Twilio alike."""
    when = dt.datetime.now(dt.UTC) - dt.timedelta(days=days)
    with sqlite3.connect(server.config.with_name("parley.db")) as con:
        con.execute("UPDATE inbox SET received_at = ? WHERE address = ?",
                    (when.isoformat(timespec="microseconds"), address))
    fake.note_inbound(address, when)


def age_round(server: ParleyProcess, round_id: str, pid: str, days: float = 2) -> None:
    """Let the person's round message be ``days`` (and a minute) old: its reminder is due."""
    now = dt.datetime.now(dt.UTC)
    sent = now - dt.timedelta(days=days, minutes=1)
    with sqlite3.connect(server.config.with_name("parley.db")) as con:
        changed = con.execute(
            "UPDATE round_targets SET sent_at = ?, next_at = ? WHERE round_id = ? AND "
            "participant_id = ?", (sent.isoformat(timespec="microseconds"),
                                   (now - dt.timedelta(seconds=1)).isoformat(
                                       timespec="microseconds"), round_id, pid)).rowcount
    assert changed == 1


def tap(message: dict[str, Any], title: str) -> str:
    return next(a["id"] for a in message["params"]["actions"] if a["title"] == title)


async def test_whatsapp_only_person_from_import_to_ons4_with_a_template_reminder_and_stop(
        server: ParleyProcess, fake: tuple[FakeTwilioWhatsApp, ServedApp],
        sids: dict[str, str], db: Runtime) -> None:
    twilio = fake[0]
    people = server.config.with_name("people.csv")
    people.write_text("name,phone,telegram_id,whatsapp,locale,timezone,cohort,tags\n"
                      "Sam Example,,,07700 900401,en,,wa,\n", encoding="utf-8")
    assert "Imported 1" in cli(server.config, "participants", "import", str(people))
    preview = cli(server.config, "rounds", "create", "--flow", "ons4", "--audience",
                  "cohort:wa", "--remind-after", "2d", "--dry-run")
    assert "1 WhatsApp" in preview
    assert "ons4: its first message has no WhatsApp template" in " ".join(preview.split())
    round_id = cli(server.config, "rounds", "create", "--flow", "ons4", "--audience",
                   "cohort:wa", "--remind-after", "2d").strip().splitlines()[-1]
    cli(server.config, "rounds", "start", round_id)

    me = WhatsAppPhone(server, twilio, "+447700900401")
    [invite] = await me.replies(timeout=20)  # the introduction: a template
    assert invite["params"]["ContentSid"] == sids["language.invite"]
    assert invite["body"].startswith("Money Voices here. Hello, this is Money Voices.")
    assert invite["body"].endswith("1 English\n2 Cymraeg\nOr reply SKIP")
    assert invite["from"] == "whatsapp:+447700900555"

    [consent] = await me.say("1")  # inside the window now: native buttons
    assert consent["params"]["ContentSid"] == sids["quick_reply_2"]
    assert consent["body"].startswith("Hi, this is Money Voices.")  # one message …
    assert consent["body"].endswith("Do you agree to take part, and for us to keep your "
                                    "answers?")  # … of the consent texts and its question
    [joined] = await me.say(button=(tap(consent, "Yes"), "Yes"))
    assert "ContentSid" not in joined["params"]  # free-form inside the window
    assert joined["body"].startswith("Thank you for joining!")
    assert joined["body"].endswith("What would you like us to call you? Any name is fine."
                                   "\nOr reply SKIP")
    [when] = await me.say("Sam")
    assert when["params"]["ContentSid"] == sids["list_4"]  # four times: a list picker
    [channel] = await me.say(button=(tap(when, "Any time"), "Any time"))
    assert channel["body"].startswith("How would you like us to message you?")
    [payment] = await me.say("4")  # a typed number works too: WhatsApp
    assert payment["body"].startswith("How would you like to be paid")  # titles too long
    assert "3 I'd rather not be paid" in payment["body"]  # … for buttons: numbered text
    got = await me.say("3")
    assert got[0]["body"].startswith("Thanks Sam! You're all set.")
    assert "Overall, how satisfied are you" in got[-1]["body"]  # the round's ons4 follows
    [second] = await me.say("7")
    assert second["body"].startswith("Overall, to what extent")

    pid = (await db.store.participant_for_address(me.address)).id  # type: ignore[union-attr]
    age_window(server, twilio, me.address)  # two days of silence: the window has closed …
    age_round(server, round_id, pid)  # … and the round's reminder is due: the scheduler
    [reminder] = await me.replies()    # in `parley serve` sends it
    assert reminder["params"]["ContentSid"] == sids["ons4.reminder"]
    assert reminder["body"].startswith("A reminder from Money Voices: Just a reminder:")
    assert "Overall, to what extent" in reminder["body"]  # the open question, in it
    assert reminder["body"].endswith("Reply 0 to 10 (0 = not at all, 10 = completely), "
                                     "or SKIP")
    for answer in ("8", "6"):
        await me.say(answer)
    [thanks] = await me.say("2")
    assert thanks["body"] == "Thank you. Your answers help shape this work."

    p = await db.store.participant_for_address(me.address)
    assert p is not None and p.status == "consented" and p.preferred_channel == "whatsapp"
    assert p.profile["contact_time"] == "any"
    answers = await db.store.answers(participant_id=p.id, flow_id="ons4")
    assert [(a.field, a.value) for a in answers] == [
        ("life_satisfaction", 7), ("worthwhile", 8), ("happy_yesterday", 6),
        ("anxious_yesterday", 2)]
    [stopped] = await me.say("STOP")
    assert stopped["body"].startswith("OK, you won't get any more messages from Money Voices")
    address = await db.store.get_address(me.address)
    assert address is not None and address.opted_out
    status = json.loads(cli(server.config, "rounds", "status", round_id, "--json"))
    assert status["by_channel"]["whatsapp"]["completed"] == 1
    assert status["by_channel"]["whatsapp"]["targeted"] == 1


async def test_a_voice_note_to_a_text_question_is_stored_played_and_erased(
        server: ParleyProcess, fake: tuple[FakeTwilioWhatsApp, ServedApp],
        db: Runtime) -> None:
    twilio = fake[0]
    me = WhatsAppPhone(server, twilio, "+447700900402")
    from bot.simulator import enrolled_phone

    _, pid = await enrolled_phone(db, me.address, name="Ffion")
    await me.send("hi")  # opens the window
    await me.replies()
    assert await db.conversations.start_flow(pid, "feedback") == "started"
    await me.replies()
    [change] = await me.say("1")
    assert change["body"].startswith("What should we change")
    voice = b"OggS\x00\x02" + bytes(range(200))
    url = twilio.add_media(voice, "audio/ogg")
    [again] = await me.say(media=[(url, "audio/ogg")])
    assert again["body"].startswith("Would you take part in something like this again?")
    answers = await db.store.answers(participant_id=pid, flow_id="feedback")
    assert [a.value for a in answers if a.field == "change"] == ["[voice note]"]
    [item] = await until_db(db, lambda rt: _stored(rt, pid), what="the voice note stored")
    assert Path(item.path).read_bytes() == voice and item.kind == "voice"

    async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as web:
        await db.store.save_coordinator(Coordinator(EMAIL, hash_password(PASSWORD),
                                                    dt.datetime.now(dt.UTC)))
        page = await web.get("/admin/login")
        csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
        # behind https (public_url) the cookies are Secure: hand them over ourselves
        web.headers["cookie"] = secure_cookies(page)
        logged_in = await web.post("/admin/login", data={
            "csrf": csrf, "email": EMAIL, "password": PASSWORD, "next": "/admin/media"})
        web.headers["cookie"] = secure_cookies(logged_in)
        listing = await web.get(f"/admin/media?participant={pid}")
        assert f'<audio controls preload="none" src="/admin/media/{item.id}/file"' \
            in listing.text
        played = await web.get(f"/admin/media/{item.id}/file")
        assert played.status_code == 200 and played.content == voice
        assert played.headers["content-type"] == "audio/ogg"
        async with httpx.AsyncClient(base_url=server.base_url) as anonymous:
            refused = await anonymous.get(f"/admin/media/{item.id}/file")
        assert refused.status_code == 303 and refused.content != voice  # login first

        await db.store.erase_participant(pid, dt.datetime.now(dt.UTC))
        assert not Path(item.path).exists()
        assert (await web.get(f"/admin/media/{item.id}/file")).status_code == 404
        assert f"/admin/media/{item.id}/file" not in (await web.get("/admin/media")).text


def secure_cookies(response: httpx.Response) -> str:
    return "; ".join(c.split(";")[0] for c in response.headers.get_list("set-cookie"))


async def _stored(runtime: Runtime, pid: str) -> list[Any]:
    return [m for m in await runtime.store.media_of(pid) if m.status == "stored"]


async def test_held_when_there_is_no_template_then_released_when_they_write(
        server: ParleyProcess, fake: tuple[FakeTwilioWhatsApp, ServedApp],
        db: Runtime) -> None:
    twilio = fake[0]
    me = WhatsAppPhone(server, twilio, "+447700900403")
    from bot.simulator import enrolled_phone

    _, pid = await enrolled_phone(db, me.address, name="Kai")
    assert await db.conversations.start_flow(pid, "feedback") == "started"

    async def held(runtime: Runtime) -> list[Any]:
        return [o for o in await runtime.store.outbox_of(pid)
                if o.status == "failed" and "held:" in (o.last_error or "")]

    [row] = await until_db(db, held, what="the feedback question held")
    assert "no template (feedback.felt, feedback.invite)" in (row.last_error or "")
    assert me.received() == []  # never sent, so never a 63016
    got = await me.say("hello")  # they write: the window opens, the question goes
    assert got[0]["body"].startswith("How did taking part feel")
