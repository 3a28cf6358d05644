"""Durations written the way coordinators write them: ``30m``, ``2d``, ``1w``, ``14d``."""

from __future__ import annotations

import re
from datetime import timedelta
from functools import lru_cache

_PART = re.compile(r"(\d+)\s*([smhdw])")
_WHOLE = re.compile(r"^\s*(\d+\s*[smhdw]\s*)+$")
_UNIT = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


@lru_cache(maxsize=1024)
def parse_duration(text: str) -> timedelta:
    """Parse ``2d``, ``1w 3d``, ``90m``; raise ValueError with the accepted form otherwise."""
    if not _WHOLE.match(text or ""):
        raise ValueError(f"'{text}' is not a duration; write it like 30m, 12h, 2d or 1w")
    total = timedelta()
    for amount, unit in _PART.findall(text):
        total += timedelta(**{_UNIT[unit]: int(amount)})
    if total <= timedelta(0):
        raise ValueError(f"'{text}' must be longer than zero")
    return total
