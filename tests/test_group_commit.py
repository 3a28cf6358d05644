"""Group commit (``bot/store/group_commit.py``): the small writes ready in the same turn of
the event loop share one SQLite transaction, each in a savepoint of its own, and each
writer still gets exactly its own outcome, only once it is committed."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from bot.errors import StoreError
from bot.store.records import Changes, InboxItem
from bot.store.sqlite import SqliteStore
from bot.store.sqlite_lane import LoopLane
from tests.test_store_contract import T0, address, person


def enrol(n: int, **profile: Any) -> Changes:
    pid = f"p{n}"
    return Changes(participant=person(pid, profile=profile),
                   addresses=[address(f"telegram:{n}", pid)])


@pytest.fixture
async def store(tmp_path: Path) -> Any:
    store = SqliteStore(tmp_path / "p.db")
    await store.open()
    yield store
    await store.close()


async def test_writes_ready_together_share_one_transaction(
        store: SqliteStore, monkeypatch: pytest.MonkeyPatch) -> None:
    begun: list[bool] = []
    begin = LoopLane.begin

    def counting(self: LoopLane, *, durable: bool = False) -> bool:
        begun.append(durable)
        return begin(self, durable=durable)

    monkeypatch.setattr(LoopLane, "begin", counting)
    items = [InboxItem("telegram", f"u{n}", f"telegram:{n}", {"text": "7"}, T0)
             for n in range(3)]
    await asyncio.gather(*(store.apply(enrol(n)) for n in range(10)),
                         *(store.inbox_put(item) for item in items))
    # ten units of work: one ordinary transaction; the three webhooks, batched by the
    # inbox a loop turn later: one more, durable (on disk before their 200)
    assert begun == [False, True]
    assert len(await store.list_participants()) == 10
    assert len(await store.inbox_pending(100)) == 3
    await store.apply(enrol(11))  # alone: its own transaction
    assert begun == [False, True, False]


async def test_a_failing_writer_is_undone_alone_and_the_others_commit(
        store: SqliteStore) -> None:
    # p2's address names a participant who does not exist: its whole unit of work
    # (the participant row written before the address) must be undone, and only it
    broken = Changes(participant=person("p2"), addresses=[address("telegram:2", "nobody")])
    results = await asyncio.gather(store.apply(enrol(1)), store.apply(broken),
                                   store.apply(enrol(3)), return_exceptions=True)
    assert results[0] is None and results[2] is None
    assert isinstance(results[1], StoreError)
    assert [p.id for p in await store.list_participants()] == ["p1", "p3"]
    assert await store.contact_of("telegram:2") is None


async def test_a_writer_is_told_it_succeeded_only_if_its_rows_are_there(
        tmp_path: Path) -> None:
    """The database fills up in the middle of a group: whichever writers SQLite could
    not take fail (alone, or with the whole group), and no writer that was told "done"
    is missing, nor any that was told "failed" half there."""
    path = tmp_path / "p.db"
    setup = SqliteStore(path)
    await setup.open()
    await setup.health()
    await setup.close()
    pages = sqlite3.connect(path).execute("PRAGMA page_count").fetchone()[0]
    store = SqliteStore.from_url(f"sqlite:///{path}?max_page_count={pages + 12}")
    await store.open()
    try:
        outcomes: list[Any] = []
        for _ in range(4):  # groups of eight people, each with a page of notes
            outcomes += await asyncio.gather(
                *(store.apply(enrol(len(outcomes) + n, notes="x" * 3000)) for n in range(8)),
                return_exceptions=True)
        failed = {n for n, result in enumerate(outcomes) if result is not None}
        assert failed, "the database never filled up: the test proves nothing"
        assert all(isinstance(outcomes[n], StoreError) for n in failed)
        kept = {p.id for p in await store.list_participants()}
        assert kept == {f"p{n}" for n in range(len(outcomes)) if n not in failed}
        for n in failed:
            assert await store.contact_of(f"telegram:{n}") is None
    finally:
        await store.close()


async def test_a_writer_cancelled_before_its_group_is_written_writes_nothing(
        store: SqliteStore) -> None:
    waiting = asyncio.create_task(store.apply(enrol(1)))
    await asyncio.sleep(0)  # it has joined the group, which is written next turn
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    await store.apply(enrol(2))
    assert [p.id for p in await store.list_participants()] == ["p2"]


async def test_what_a_group_wrote_is_there_for_the_other_connection_and_after_reopening(
        tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "p.db")
    await store.open()
    await asyncio.gather(*(store.apply(enrol(n)) for n in range(5)))
    assert len(await store.list_participants()) == 5  # read on aiosqlite's connection
    await store.close()
    again = SqliteStore(tmp_path / "p.db")
    await again.open()
    try:
        assert [p.id for p in await again.list_participants()] == [f"p{n}" for n in range(5)]
    finally:
        await again.close()
