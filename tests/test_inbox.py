"""The inbox processor: a message is processed once, even when a sweep reads it as
pending while its first processing is still running."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from bot.clock import ManualClock
from bot.delivery.inbox import InboxProcessor
from bot.metrics import Metrics
from bot.runtime import Runtime
from bot.store.records import InboxItem
from tests.conftest import T0

pytestmark = pytest.mark.timeout(30)


def help_message(key: str) -> InboxItem:
    return InboxItem(channel="telegram", dedupe_key=key, address="telegram:5005",
                     payload={"text": "HELP", "kind": "text"}, received_at=T0)


async def replies(runtime: Runtime) -> list[str]:
    return [o.payload["text"] for o in await runtime.store.outbox_all()
            if o.address == "telegram:5005"]


async def test_a_stale_pending_copy_is_not_answered_twice(runtime: Runtime) -> None:
    metrics = Metrics()
    first = InboxProcessor(runtime.store, runtime.conversations, runtime.clock, metrics)
    item = help_message("u1")
    # what a sweep read before the first processing committed: still "pending"
    assert await first.accept(item) is True
    stale = dataclasses.replace(item)
    await first.wait_idle()
    assert len(await replies(runtime)) == 1

    first.schedule(stale)  # the same processor remembers it finished this one
    await first.wait_idle()
    # a processor without that memory (another sweep, a restart's recover) is refused
    # by the store, whole: no second reply, and the row counts as a duplicate
    second = InboxProcessor(runtime.store, runtime.conversations, runtime.clock, metrics)
    second.schedule(stale)
    await second.wait_idle()
    assert len(await replies(runtime)) == 1
    assert metrics.value("parley_inbound_processed_total", channel="telegram",
                         result="duplicate") == 1
    assert metrics.value("parley_inbound_processed_total", channel="telegram",
                         result="done") == 1
    assert await runtime.store.inbox_pending() == []


async def test_later_messages_still_flow_after_a_refused_duplicate(runtime: Runtime) -> None:
    processor = InboxProcessor(runtime.store, runtime.conversations, runtime.clock, Metrics())
    item = help_message("u1")
    await processor.accept(item)
    await processor.wait_idle()
    fresh = InboxProcessor(runtime.store, runtime.conversations, runtime.clock, Metrics())
    fresh.schedule(dataclasses.replace(item))
    later = help_message("u2")
    await fresh.accept(later)
    await fresh.wait_idle()
    assert len(await replies(runtime)) == 2  # the first HELP once, the second once


async def test_a_sweep_leaves_a_fresh_row_to_the_process_that_accepted_it(
        runtime: Runtime, clock: ManualClock) -> None:
    """Two processes share the database: the one that accepted a message processes it;
    the other's sweep takes it only once it has been pending a whole sweep interval
    (its process stopped), so the message is not run twice."""
    accepting = InboxProcessor(runtime.store, runtime.conversations, runtime.clock,
                               Metrics(), paused=True)  # accepted; still processing it
    await accepting.accept(help_message("u1"))
    metrics = Metrics()
    other = InboxProcessor(runtime.store, runtime.conversations, runtime.clock, metrics,
                           sweep_interval=2.0)
    assert await other.sweep() == 0
    await other.wait_idle()
    assert await replies(runtime) == []
    clock.advance(timedelta(seconds=2))  # the accepting process is gone: nobody answered
    assert await other.sweep() == 1
    await other.wait_idle()
    assert len(await replies(runtime)) == 1
    assert metrics.value("parley_inbound_processed_total", channel="telegram",
                         result="done") == 1
