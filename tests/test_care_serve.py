"""Events and the time bank end to end: one real ``parley serve`` with both channels
(the fake Telegram Bot API and the fake Twilio, on 127.0.0.1), coordinators at the real
command line, participants texting and tapping.

An event with 3 places: five people say yes (three SMS, two Telegram), two wait; one
booked person says no to the day-before reminder and the first in line is promoted;
attendance by code word credits money and hours; hours are spent on an offer with OFFERS
and SPEND over SMS and Telegram, confirmed and declined by a coordinator.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import AsyncIterator, Iterator

import pytest

from bot.runtime import Runtime
from bot.simulator import enrolled_phone
from tests.cli_inprocess import run_cli
from tests.conftest import ROOT
from tests.fakes.server import ServedApp
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import FakeTwilio
from tests.serve_process import ParleyProcess, until
from tests.sms_harness import Phone, db_runtime
from tests.sms_harness import write_config as sms_config
from tests.telegram_harness import Chat
from tests.telegram_harness import write_config as telegram_config

pytestmark = [pytest.mark.timeout(90), pytest.mark.slow]


@pytest.fixture(scope="module")
def fakes() -> Iterator[tuple[FakeTwilio, ServedApp, FakeTelegram, ServedApp]]:
    twilio, telegram = FakeTwilio(), FakeTelegram()
    with twilio.serve() as sms_served, telegram.serve() as tg_served:
        yield twilio, sms_served, telegram, tg_served


@pytest.fixture(scope="module")
def server(fakes: tuple[FakeTwilio, ServedApp, FakeTelegram, ServedApp],
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[ParleyProcess]:
    folder = tmp_path_factory.mktemp("care-serve")
    telegram_section = telegram_config(folder, fakes[3].base_url).read_text(
        encoding="utf-8").split("[telegram]", 1)[1]
    config = sms_config(folder, fakes[1].base_url)
    config.write_text(config.read_text(encoding="utf-8") + "\n[telegram]" + telegram_section
                      + '\n[credits]\ntime_bank = true\nunit = "£"\n', encoding="utf-8")
    before = os.environ.get("PARLEY_SCHEDULER_INTERVAL")
    os.environ["PARLEY_SCHEDULER_INTERVAL"] = "0.5"
    try:
        process = ParleyProcess(config).start()
    finally:
        if before is None:
            os.environ.pop("PARLEY_SCHEDULER_INTERVAL")
        else:
            os.environ["PARLEY_SCHEDULER_INTERVAL"] = before
    yield process
    process.stop()


@pytest.fixture
async def db(server: ParleyProcess) -> AsyncIterator[Runtime]:
    runtime = await db_runtime(server.config)
    yield runtime
    await runtime.close()


def parley(server: ParleyProcess, *args: str) -> str:
    """A coordinator at the command line, on the server's config; its output."""
    done = run_cli(*args, "--config", server.config, cwd=ROOT,
                   env={"PARLEY_ACTOR": "sam@example.org"})
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


async def seen(check: object, what: str) -> None:
    await until(check, 15, what)  # type: ignore[arg-type]


def has(texts: list[str], needle: str) -> bool:
    return any(needle in t for t in texts)


async def test_event_rsvps_waiting_list_attendance_and_time_bank_offers(
        server: ParleyProcess, fakes: tuple[FakeTwilio, ServedApp, FakeTelegram, ServedApp],
        db: Runtime) -> None:
    twilio, _, telegram, _ = fakes
    sms = {n: Phone(server, twilio, f"+44770090070{n}") for n in (1, 2, 3)}
    tg = {n: Chat(server, telegram, 7000 + n) for n in (1, 2)}
    for who in [*sms.values(), *tg.values()]:
        await enrolled_phone(db, who.address)
    pids = {a.address: a.participant_id for p in await db.store.list_participants()
            for a in await db.store.addresses_of(p.id)}

    at = (dt.datetime.now(dt.UTC) + dt.timedelta(minutes=30)).isoformat(timespec="minutes")
    out = parley(server, "events", "create", "--title", "Housing workshop", "--at", at,
                 "--place", "Town hall", "--capacity", "3", "--credits", "5", "--hours", "2",
                 "--code-word", "bluebell")
    event_id = out.strip().splitlines()[-1]
    dry = parley(server, "events", "invite", event_id, "--audience", "all", "--dry-run")
    assert "Dry run: event_rsvp to all" in dry and "5 people: 2 Telegram, 3 SMS" in dry
    round_id = parley(server, "events", "invite", event_id, "--audience", "all"
                      ).strip().splitlines()[-1]
    parley(server, "rounds", "start", round_id)
    await seen(lambda: all(has(p.messages(), "You're invited: Housing workshop")
                           for p in sms.values()) and
               all(has(c.texts(), "You're invited") for c in tg.values()), "invitations")
    assert tg[1].buttons(tg[1].messages()[-1]) == ["Yes", "No", "Maybe"]

    # five yeses in turn: three places, then the waiting list
    for step in (lambda: sms[1].text("yes"), lambda: tg[1].press("Yes"),
                 lambda: sms[2].text("1"), lambda: tg[2].press("Yes"),
                 lambda: sms[3].text("Yes please")):
        before = len(twilio.messages) + len(telegram.sent_messages)
        assert (await step()).status_code == 200
        await seen(lambda b=before: len(twilio.messages) + len(telegram.sent_messages) > b,
                   "an RSVP answer")
    await seen(lambda: has(tg[2].texts(), "number 1 on the waiting list"), "waiting 1")
    await seen(lambda: has(sms[3].messages(), "number 2 on the waiting list"), "waiting 2")
    assert has(sms[1].messages(), "You're booked for Housing workshop")

    # the day before (the event is within a day): booked people are reminded
    await seen(lambda: has(tg[1].texts(), "Reminder: Housing workshop"), "reminder")
    assert (await tg[1].press("No")).status_code == 200
    await seen(lambda: has(tg[2].texts(), "Good news: a place has come up"), "promotion")
    listed = parley(server, "events", "list")
    assert "3/3" in listed and "BLUEBELL" in listed

    # during the event: the code word
    await sms[1].text("Bluebell!")
    await seen(lambda: has(sms[1].messages(), "recorded: 5 credits and 2 hours"), "attend")
    await tg[2].send("BLUEBELL")
    await seen(lambda: has(tg[2].texts(), "Your attendance is recorded"), "attend tg")

    # the time bank: OFFERS and SPEND over SMS, confirmed
    parley(server, "timebank", "offers", "add", "--code", "SWIM", "--title",
           "Swimming session", "--hours", "1")
    await sms[1].text("OFFERS")
    await seen(lambda: has(sms[1].messages(), "1 SWIM: Swimming session, 1h"), "offers")
    await sms[1].text("SPEND 1 SWIM")
    await seen(lambda: has(sms[1].messages(), "you asked to spend 1 hours"), "spend")
    pending = parley(server, "timebank", "requests")
    assert pids[sms[1].address] in pending
    parley(server, "timebank", "confirm", "1")
    await seen(lambda: has(sms[1].messages(), "Confirmed: 1 hours spent on Swimming session. "
                                              "You have 1 hours left."), "confirmed")
    await sms[1].text("BALANCE")
    await seen(lambda: has(sms[1].messages(), "Credits: 5 (£). Time bank: 1 hours."),
               "balance")

    # and over Telegram, declined
    await tg[2].send("/offers")
    await seen(lambda: has(tg[2].texts(), "Time bank offers (you have 2h)"), "tg offers")
    await tg[2].send("spend 2 swim")
    await seen(lambda: has(tg[2].texts(), "you asked to spend 2 hours"), "tg spend")
    parley(server, "timebank", "decline", "2", "--reason", "the pool is closed")
    await seen(lambda: has(tg[2].texts(), "(the pool is closed). Your 2 hours are still "
                                          "yours."), "declined")
    ledger = await db.store.hour_entries()
    assert sorted((e.kind, e.minutes) for e in ledger) == [
        ("earned", 120), ("earned", 120), ("spent", -60)]
