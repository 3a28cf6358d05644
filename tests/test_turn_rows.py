"""A turn writes back only the rows it changed (issue 18): the participant's and the
address's rows are no longer rewritten by every message."""

from __future__ import annotations

from pathlib import Path

from bot.clock import ManualClock
from bot.ids import SequentialIds
from bot.runtime import open_runtime
from bot.simulator import enrolled_phone
from bot.store.records import Changes
from bot.store.sqlite import SqliteStore
from tests.conftest import T0, make_config


async def test_a_turn_rewrites_only_rows_that_changed(tmp_path: Path) -> None:
    """A plain answer leaves the participant's and the address's rows as they were (a
    coordinator's edit made meanwhile is not overwritten); STOP and a new name are
    stored. Issue 18: two statements fewer a turn."""
    store = SqliteStore(tmp_path / "p.db", clock=ManualClock(T0))
    rt = await open_runtime(make_config(), store=store, clock=ManualClock(T0),
                            ids=SequentialIds())
    try:
        phone, pid = await enrolled_phone(rt, "telegram:4242", name="Ann")
        await rt.conversations.start_flow(pid, "ons4")
        await phone.collect()
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
    finally:
        await rt.close()
