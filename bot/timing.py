"""Local time for each person: quiet hours, contact windows and wall-clock arithmetic.

Everything here is pure (no clock reads) so the 12-week tests can check exact instants.

- Times without an offset are in the project time zone.
- ``add_local(t, "14d", zone)`` keeps the wall-clock time across daylight-saving
  changes for whole days or weeks (10:00 stays 10:00); other durations are exact.
- ``next_allowed`` moves an instant forward out of a person's quiet hours and into the
  window they said suits them (``contact_time``), in their own time zone.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.durations import parse_duration

UTC = dt.UTC
DAY = 24 * 60
WINDOWS: dict[str, tuple[int, int]] = {
    "morning": (9 * 60, 12 * 60),
    "afternoon": (12 * 60, 17 * 60),
    "evening": (17 * 60, 21 * 60),
}
"""Contact-time answers from onboarding, as local minutes [start, end)."""
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")
_WHOLE_DAYS = re.compile(r"^\s*(\d+\s*[dw]\s*)+$")

Spans = tuple[tuple[int, int], ...]


@lru_cache(maxsize=512)
def zone(name: str) -> ZoneInfo:
    """A time zone by IANA name; ValueError naming it when unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone '{name}'") from exc


def parse_local(text: str, default_zone: str) -> dt.datetime:
    """An ISO date-time; without an offset it is in ``default_zone``. Returned in UTC."""
    try:
        value = dt.datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise ValueError(f"'{text}' is not an ISO date-time (e.g. 2026-03-16T10:00)") from exc
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone(default_zone))
    return value.astimezone(UTC)


def whole_days(duration: str) -> int | None:
    """The number of days in ``14d``/``2w``; None for durations with hours or minutes."""
    if not _WHOLE_DAYS.match(duration):
        return None
    return parse_duration(duration).days


def add_local(instant: dt.datetime, duration: str, tz: str, times: int = 1) -> dt.datetime:
    """``instant + times × duration``, keeping the local wall-clock time in ``tz`` when
    the duration is whole days (so a 10:00 round stays at 10:00 after the clocks go
    forward)."""
    days = whole_days(duration)
    if days is None:
        return instant + parse_duration(duration) * times
    z = zone(tz)
    local = instant.astimezone(z).replace(tzinfo=None)
    moved = local + dt.timedelta(days=days * times)
    return moved.replace(tzinfo=z).astimezone(UTC)


@lru_cache(maxsize=256)
def quiet_spans(quiet: str) -> Spans:
    """Quiet hours ``"21:00-09:00"`` as local-minute spans; ``""`` means none."""
    if not quiet:
        return ()
    match = _HHMM.match(quiet.strip())
    if not match:
        raise ValueError(f"quiet hours '{quiet}' should look like 21:00-09:00")
    start = int(match.group(1)) * 60 + int(match.group(2))
    end = int(match.group(3)) * 60 + int(match.group(4))
    if start == end:
        return ()
    if start < end:
        return ((start, end),)
    return ((start, DAY), (0, end))


@lru_cache(maxsize=256)
def allowed_spans(quiet: str, contact_time: str | None) -> Spans:
    """Local-minute spans of the day when a round message may go out."""
    allowed: list[tuple[int, int]] = [(0, DAY)]
    for q_start, q_end in quiet_spans(quiet):
        nxt: list[tuple[int, int]] = []
        for a, b in allowed:
            if q_end <= a or q_start >= b:
                nxt.append((a, b))
                continue
            if a < q_start:
                nxt.append((a, q_start))
            if q_end < b:
                nxt.append((q_end, b))
        allowed = nxt
    window = WINDOWS.get(contact_time or "")
    if window is not None:
        narrowed = [(max(a, window[0]), min(b, window[1])) for a, b in allowed]
        narrowed = [(a, b) for a, b in narrowed if a < b]
        if narrowed:  # a window wholly inside quiet hours is ignored, not obeyed
            allowed = narrowed
    return tuple(sorted(allowed))


def is_quiet(instant: dt.datetime, tz: str, quiet: str,
             contact_time: str | None = None) -> bool:
    """True when ``instant`` is outside the times a round message may go to this person."""
    return next_allowed(instant, tz, quiet, contact_time) != instant


def next_allowed(instant: dt.datetime, tz: str, quiet: str,
                 contact_time: str | None = None) -> dt.datetime:
    """The first moment at or after ``instant`` when a round message may go out."""
    spans = allowed_spans(quiet, contact_time)
    if spans == ((0, DAY),) or not spans:
        return instant
    z = zone(tz)
    local = instant.astimezone(z)
    minute = (local.hour * 60 + local.minute + local.second / 60
              + local.microsecond / 60_000_000)
    for a, b in spans:
        if a <= minute < b:
            return instant
    for offset in (0, 1):
        day = local.date() + dt.timedelta(days=offset)
        for a, _ in spans:
            if offset == 1 or a > minute:
                wall = dt.datetime.combine(day, dt.time(a // 60, a % 60))
                return wall.replace(tzinfo=z).astimezone(UTC)
    raise AssertionError("unreachable: a non-empty day always has a next span")  # pragma: no cover
