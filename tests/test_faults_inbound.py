"""Issue #11, inbound: a person's messages are processed strictly in arrival order,
whatever fails (a locked or full store) and whichever process accepted them."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bot.delivery.inbox import InboxProcessor
from bot.metrics import Metrics
from bot.runtime import Runtime
from bot.simulator import SimulatedPhone
from bot.store.sqlite import SqliteStore
from tests import faults_support
from tests.faults_support import (
    capped_runtime,
    fill_store,
    free_store,
    inbound,
    until,
)

# the suite's fixtures, shared through tests/faults_support.py
sqlite_runtime = faults_support.sqlite_runtime

pytestmark = [pytest.mark.timeout(40),
              pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")]


# -- defect 3: after a failed message, the same person's next one overtook it --------------

async def test_a_message_that_fails_holds_back_the_persons_next_one(
        sqlite_runtime: Runtime, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    rt, address = sqlite_runtime, "tel:+447700900311"
    phone = SimulatedPhone(rt, address)
    for text in ("Hi", "1", "yes"):  # language, consent: now asked their name
        await phone.say(text)
    processor = InboxProcessor(rt.store, rt.conversations, rt.clock, Metrics(), paused=True)
    name = inbound("SM1", address, "Sam")
    await processor.accept(name)
    blocker = sqlite3.connect(tmp_path / "parley.db", isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")  # the store cannot write: processing fails
    processor.schedule(name)
    await until(lambda: "will be retried" in caplog.text, 5, "the first failure")
    blocker.execute("ROLLBACK")
    blocker.close()
    processor.paused = False
    await processor.accept(inbound("SM2", address, "1"))  # "morning", to the next question
    await until(lambda: not processor._queues, 10, "both processed")
    await processor.stop()
    person = await rt.store.participant_for_address(address)
    assert person is not None
    assert person.profile.get("preferred_name") == "Sam"
    assert person.profile.get("contact_time") == "morning"
    assert await rt.store.inbox_pending() == []

async def test_the_store_full_during_inbound_processing_loses_and_reorders_nothing(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "parley.db"
    rt = await capped_runtime(path)
    try:
        address = "tel:+447700900341"
        phone = SimulatedPhone(rt, address)
        for text in ("Hi", "1", "yes"):
            await phone.say(text)
        processor = InboxProcessor(rt.store, rt.conversations, rt.clock, Metrics(),
                                   paused=True)
        messages = [inbound(f"SM{n}", address, text)
                    for n, text in enumerate(["Sam", "1", "3", "2"])]
        for item in messages:
            assert await processor.accept(item)
        assert isinstance(rt.store, SqliteStore)
        await fill_store(rt.store)
        for item in messages:
            processor.schedule(item)
        await until(lambda: "will be retried" in caplog.text, 5, "processing to fail")
        free_store(path)
        await until(lambda: not processor._queues, 15, "all processed after the disk freed")
        await processor.stop()
        person = await rt.store.participant_for_address(address)
        assert person is not None
        assert (person.profile.get("preferred_name"), person.profile.get("contact_time")) \
            == ("Sam", "morning")
        fields = [(a.field, a.raw) for a in await rt.store.answers(participant_id=person.id)]
        assert fields[:2] == [("participant.preferred_name", "Sam"),
                              ("participant.contact_time", "1")]  # each under its question
        assert await rt.store.inbox_pending() == []
    finally:
        await rt.close()

async def test_an_older_message_only_the_store_knows_of_is_processed_first(
        sqlite_runtime: Runtime) -> None:
    """Another process accepted the person's message and died before processing it:
    this process's next message from them waits for it (order kept in the store)."""
    rt, address = sqlite_runtime, "tel:+447700900351"
    phone = SimulatedPhone(rt, address)
    for text in ("Hi", "1", "yes"):
        await phone.say(text)
    assert await rt.store.inbox_put(inbound("SM1", address, "Sam"))  # the other process
    processor = InboxProcessor(rt.store, rt.conversations, rt.clock, Metrics())
    await processor.accept(inbound("SM2", address, "1"))
    await until(lambda: not processor._queues, 10, "both processed")
    person = await rt.store.participant_for_address(address)
    assert person is not None
    assert (person.profile.get("preferred_name"), person.profile.get("contact_time")) == (
        "Sam", "morning")
