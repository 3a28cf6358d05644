"""Local time arithmetic: quiet hours, contact windows, wall-clock repeats across DST."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.timing import add_local, allowed_spans, is_quiet, next_allowed, parse_local

UTC = dt.UTC


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_times_without_an_offset_are_in_the_project_zone() -> None:
    assert parse_local("2026-03-16T10:00", "Europe/London") == at("2026-03-16T10:00")
    assert parse_local("2026-04-13T10:00", "Europe/London") == at("2026-04-13T09:00")  # BST
    assert parse_local("2026-04-13T10:00+02:00", "Europe/London") == at("2026-04-13T08:00")
    with pytest.raises(ValueError, match="not an ISO"):
        parse_local("next tuesday", "Europe/London")


def test_whole_days_keep_the_wall_clock_across_dst_and_hours_do_not() -> None:
    start = at("2026-03-16T10:00")  # 10:00 GMT
    assert add_local(start, "14d", "Europe/London") == at("2026-03-30T09:00")  # 10:00 BST
    assert add_local(start, "2w", "Europe/London", times=3) == at("2026-04-27T09:00")
    assert add_local(start, "336h", "Europe/London") == at("2026-03-30T10:00")  # exact
    autumn = at("2026-10-19T09:00")  # 10:00 BST
    assert add_local(autumn, "7d", "Europe/London") == at("2026-10-26T10:00")  # 10:00 GMT


def test_quiet_hours_and_contact_windows_in_each_persons_zone() -> None:
    assert allowed_spans("21:00-09:00", None) == ((540, 1260),)
    assert allowed_spans("", None) == ((0, 1440),)
    assert allowed_spans("21:00-09:00", "evening") == ((1020, 1260),)
    # a window wholly inside quiet hours is ignored, not obeyed
    assert allowed_spans("16:00-22:00", "evening") == ((0, 960), (1320, 1440))
    night = at("2026-03-02T22:30")
    assert next_allowed(night, "Europe/London", "21:00-09:00") == at("2026-03-03T09:00")
    assert next_allowed(night, "America/New_York", "21:00-09:00") == night  # 17:30 there
    assert next_allowed(at("2026-03-02T10:00"), "America/New_York",
                        "21:00-09:00") == at("2026-03-02T14:00")
    assert next_allowed(at("2026-03-02T10:00"), "Europe/London", "21:00-09:00",
                        "evening") == at("2026-03-02T17:00")
    assert next_allowed(at("2026-03-28T22:00"), "Europe/London",
                        "21:00-09:00") == at("2026-03-29T08:00")  # the clocks went forward
    assert next_allowed(at("2026-03-02T10:00"), "Asia/Kolkata",
                        "21:00-09:00") == at("2026-03-02T10:00")  # 15:30 there
    assert is_quiet(at("2026-03-02T08:59"), "Europe/London", "21:00-09:00")
    assert not is_quiet(at("2026-03-02T09:00"), "Europe/London", "21:00-09:00")
    assert not is_quiet(at("2026-03-02T03:00"), "Europe/London", "")
