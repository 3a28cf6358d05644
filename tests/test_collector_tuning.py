"""``parley serve`` tunes Python's garbage collector once started
(``bot.server.tune_collector``): start-up is frozen out of its reach, young objects are
collected less often, and garbage made afterwards is still collected."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from bot.server import COLLECTOR_THRESHOLDS, tune_collector


@pytest.fixture
def restored_collector() -> Iterator[None]:
    before = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*before)


class Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the collector can free it


@pytest.mark.usefixtures("restored_collector")
def test_start_up_is_frozen_and_later_cycles_are_still_collected() -> None:
    made_at_start_up = Node()
    tune_collector()
    assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == COLLECTOR_THRESHOLDS
    assert gc.get_threshold()[0] > 700  # Python's default, several collections a turn
    later = Node()
    gone = weakref.ref(later)
    del later
    gc.collect()
    assert gone() is None
    assert made_at_start_up.me is made_at_start_up
