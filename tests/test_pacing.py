"""Pacing counts sends the way providers count arrivals."""

from __future__ import annotations

from bot.delivery.pacing import MARGIN, PerChat, SlidingWindow


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_window_admits_rate_then_waits_a_full_window_from_the_answer() -> None:
    clock = FakeTime()
    window = SlidingWindow(3, clock=clock)
    slots = [window.take() for _ in range(3)]
    assert window.delay() > 0  # full, and the oldest is still in flight
    clock.now += 0.2
    window.close(slots[0])     # answered at 100.2
    assert abs(window.delay() - MARGIN) < 1e-9
    clock.now += MARGIN
    assert window.delay() == 0.0
    window.take()
    assert window.delay() > 0


def test_an_unanswered_send_holds_its_slot() -> None:
    clock = FakeTime()
    window = SlidingWindow(1, clock=clock)
    window.take()
    clock.now += 60
    assert window.delay() > 0  # arrival time unknown: never assume it has left the window


def test_slow_rates_space_single_sends() -> None:
    clock = FakeTime()
    window = SlidingWindow(0.5, clock=clock)
    window.close(window.take())
    assert abs(window.delay() - 2 * MARGIN) < 1e-9


def test_per_chat_counts_from_the_answer_and_honours_pauses() -> None:
    clock = FakeTime()
    chats = PerChat(1, clock=clock)
    assert chats.ready("a")
    chats.record("a")
    assert not chats.ready("a") and chats.ready("b")
    clock.now += MARGIN
    assert chats.ready("a")
    chats.pause("a", 5)
    clock.now += 4
    assert not chats.ready("a")
