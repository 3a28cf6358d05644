"""A turn writes back only the rows it changed (issue 18): the participant's and the
address's rows are no longer rewritten by every message."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from bot.clock import ManualClock
from bot.ids import SequentialIds
from bot.runtime import Runtime, open_runtime
from bot.simulator import SimulatedPhone, enrolled_phone
from bot.store.records import Changes
from bot.store.sqlite import SqliteStore
from tests.conftest import T0, make_config


@asynccontextmanager
async def in_ons4(tmp_path: Path
                  ) -> AsyncIterator[tuple[Runtime, SqliteStore, SimulatedPhone, str]]:
    """Ann on Telegram, asked ONS4's first question (the one with a no-reply nudge)."""
    store = SqliteStore(tmp_path / "p.db", clock=ManualClock(T0))
    rt = await open_runtime(make_config(), store=store, clock=ManualClock(T0),
                            ids=SequentialIds())
    try:
        phone, pid = await enrolled_phone(rt, "telegram:4242", name="Ann")
        await rt.conversations.start_flow(pid, "ons4")
        await phone.collect()
        yield rt, store, phone, pid
    finally:
        await rt.close()


async def test_a_turn_rewrites_only_rows_that_changed(tmp_path: Path) -> None:
    """A plain answer leaves the participant's and the address's rows as they were (a
    coordinator's edit made meanwhile is not overwritten); STOP and a new name are
    stored. Issue 18: two statements fewer a turn."""
    async with in_ons4(tmp_path) as (_, store, phone, pid):
        participant = await store.get_participant(pid)
        assert participant is not None
        # read by the turn below, then changed by someone else before it commits
        original = store.contact_of

        async def read_then_edit(address: str) -> object:
            found = await original(address)
            edited = await store.get_participant(pid)
            assert edited is not None
            edited.tags = ("ward3",)
            await store.apply(Changes(participant=edited))
            return found

        store.contact_of = read_then_edit  # type: ignore[method-assign]
        await phone.say("7")
        store.contact_of = original  # type: ignore[method-assign]
        kept = await store.get_participant(pid)
        assert kept is not None and kept.tags == ("ward3",)  # not overwritten
        await phone.say("STOP")
        address = await store.get_address("telegram:4242")
        assert address is not None and address.opted_out


async def test_timers_are_rewritten_only_when_a_turn_changes_them(tmp_path: Path) -> None:
    """Answering the question with a no-reply timeout removes that timer; answers
    between questions without one leave the session's expiry row untouched (same id,
    same due time: no delete and insert every turn), and that expiry still ends the
    session when it comes due."""
    async with in_ons4(tmp_path) as (rt, store, phone, pid):
        session = await store.active_session(pid)
        assert session is not None
        assert sorted(t.kind for t in await store.timers_of(session.id)) == ["expiry",
                                                                             "timeout"]
        await phone.say("7")  # the question with the 2-day nudge is answered
        after_first = await store.timers_of(session.id)
        assert [t.kind for t in after_first] == ["expiry"]
        await phone.say("6")
        await phone.say("5")
        assert await store.timers_of(session.id) == after_first
        await rt.conversations.fire_timer(after_first[0])
        ended = await store.get_session(session.id)
        assert ended is not None and ended.status == "expired"
        assert await store.timers_of(session.id) == []
