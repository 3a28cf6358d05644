"""SIGKILL at chosen points: after restart every acknowledged message is processed once
and every outbound message is sent once or recorded ambiguous.

Each kill point is made deterministic rather than lucky: processing or senders are
paused so the process is known to be *between* two steps when it dies, or the kill waits
until the fake provider has recorded a seeded number of sends, or a send is left hanging
at the provider so the process dies mid-request.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
from collections import Counter
from pathlib import Path

import pytest

from tests.fakes.server import ServedApp
from tests.fakes.twilio_api import FakeTwilio
from tests.sms_harness import (
    ParleyProcess,
    Phone,
    db_runtime,
    enrol,
    until,
    write_config,
)

pytestmark = pytest.mark.timeout(120)


def outbox_statuses(db: Path) -> Counter[str]:
    with sqlite3.connect(db) as con:
        return Counter(r[0] for r in con.execute("SELECT status FROM outbox"))


def inbox_statuses(db: Path) -> Counter[str]:
    with sqlite3.connect(db) as con:
        return Counter(r[0] for r in con.execute("SELECT status FROM inbox"))


async def test_killed_after_acknowledging_before_processing(tmp_path: Path) -> None:
    fake = FakeTwilio()
    with ServedApp(fake.app) as served:
        config = write_config(tmp_path, served.base_url)
        first = ParleyProcess(config, args=("--processing", "paused")).start()
        phones = [Phone(first, fake, f"+4477009{n:05d}") for n in range(5)]
        for phone in phones:
            assert (await phone.text("Hi")).status_code == 200
        assert inbox_statuses(tmp_path / "parley.db") == {"pending": 5}
        first.kill()
        assert fake.messages == []  # nothing was processed, so nothing sent
        second = ParleyProcess(config).start()
        try:
            for phone in phones:
                await until(lambda p=phone: p.messages(), 15, "the language question")
            await asyncio.sleep(1.0)
            for phone in phones:  # exactly one language question each
                assert [m.startswith("Hello! Which language") for m in phone.messages()] \
                    == [True]
            assert inbox_statuses(tmp_path / "parley.db") == {"done": 5}
        finally:
            second.stop()


async def test_killed_with_replies_written_but_unsent(tmp_path: Path) -> None:
    fake = FakeTwilio()
    with ServedApp(fake.app) as served:
        config = write_config(tmp_path, served.base_url)
        first = ParleyProcess(config, args=("--senders", "paused")).start()
        phone = Phone(first, fake, "+447700900777")
        for text in ["Hi", "HELP"]:
            assert (await phone.text(text)).status_code == 200
        await until(lambda: outbox_statuses(tmp_path / "parley.db")["pending"] == 2, 10,
                    "replies queued")
        first.kill()
        second = ParleyProcess(config).start()
        try:
            await until(lambda: len(phone.messages()) == 2, 15, "both replies")
            await asyncio.sleep(1.0)
            assert len(phone.messages()) == 2
            assert outbox_statuses(tmp_path / "parley.db") == {"sent": 2}
        finally:
            second.stop()


@pytest.mark.parametrize("seed", [3, 11])
async def test_killed_mid_broadcast_after_a_seeded_number_of_sends(tmp_path: Path,
                                                                     seed: int) -> None:
    people = 30
    kill_after = random.Random(seed).randint(5, people - 12)
    fake = FakeTwilio()
    with ServedApp(fake.app) as served:
        config = write_config(tmp_path, served.base_url, rate_limit_per_second=8)
        runtime = await db_runtime(config)
        numbers = [f"+4477009{n:05d}" for n in range(people)]
        for number in numbers:
            await runtime.conversations.start_flow(await enrol(runtime, number), "feedback")
        await runtime.close()
        first = ParleyProcess(config).start()
        await until(lambda: len(fake.messages) >= kill_after, 30, f"{kill_after} sends")
        first.kill()
        at_kill = len(fake.messages)
        assert at_kill < people, "the broadcast finished before the kill: not a crash test"
        second = ParleyProcess(config).start()
        try:
            await until(lambda: len({m["to"] for m in fake.messages}) == people, 30,
                        "everyone reached")
            await asyncio.sleep(1.0)
            per_person = Counter(m["to"] for m in fake.messages)
            statuses = outbox_statuses(tmp_path / "parley.db")
            duplicates = sum(c - 1 for c in per_person.values())
            assert set(per_person) == set(numbers)
            assert statuses["sent"] + statuses["ambiguous"] == people
            # an SMS left mid-send is looked up at Twilio, so even it is not sent twice
            assert duplicates == 0, (per_person, statuses)
        finally:
            second.stop()


async def test_killed_during_a_send_that_hangs_at_the_provider(tmp_path: Path) -> None:
    fake = FakeTwilio(hang_seconds=30)
    with ServedApp(fake.app) as served:
        config = write_config(tmp_path, served.base_url, request_timeout=20)
        runtime = await db_runtime(config)
        pid = await enrol(runtime, "+447700900555")
        await runtime.conversations.start_flow(pid, "feedback")
        await runtime.close()
        fake.fail_next(kind="hang")  # Twilio takes the message, the answer never comes
        first = ParleyProcess(config).start()
        await until(lambda: len(fake.messages) == 1, 15, "the hanging send")
        assert outbox_statuses(tmp_path / "parley.db") == {"sending": 1}
        first.kill()
        fake.release_hangs()
        second = ParleyProcess(config).start()
        try:
            await until(lambda: outbox_statuses(tmp_path / "parley.db") == {"sent": 1}, 15,
                        "the interrupted send looked up and found")
            await asyncio.sleep(1.0)
            assert len(fake.messages) == 1  # found at Twilio: not sent again
        finally:
            second.stop()


async def test_telegram_send_cut_off_by_a_crash_is_ambiguous_and_never_resent(
        tmp_path: Path) -> None:
    """Telegram cannot be asked whether a message arrived, so a send the crash cut off
    is recorded ambiguous, counted, and — with ``[telegram] ambiguous = "never"``, strict
    at-most-once — not repeated (the default resends once: tests/test_faults.py)."""
    from tests.fakes.telegram_api import FakeTelegram
    from tests.telegram_harness import Chat
    from tests.telegram_harness import ParleyProcess as TelegramProcess
    from tests.telegram_harness import write_config as telegram_config

    fake = FakeTelegram(hang_seconds=30)
    with ServedApp(fake.app) as served:
        config = telegram_config(tmp_path, served.base_url, request_timeout=20,
                                 ambiguous="never")
        first = TelegramProcess(config).start()
        chat = Chat(first, fake, 31337)
        fake.fail_next(chat_id=31337, kind="hang")  # delivered, the answer never comes
        assert (await chat.send("Hi")).status_code == 200
        await until(lambda: len(chat.messages()) == 1, 15, "the hanging send")
        await until(lambda: outbox_statuses(tmp_path / "parley.db")["sending"] == 1, 10,
                    "the row marked sending")
        first.kill()
        fake.release_hangs()
        second = TelegramProcess(config).start()
        try:
            await until(lambda: outbox_statuses(tmp_path / "parley.db")["ambiguous"] == 1, 15,
                        "the interrupted send recorded as ambiguous")
            await asyncio.sleep(1.5)
            assert len(chat.messages()) == 1  # never sent twice
        finally:
            second.stop()
