"""Where and when one person may be messaged: their own time zone, quiet hours and
contact window, else the project's. Below rounds and the agenda, which both need it."""

from __future__ import annotations

from dataclasses import dataclass

from bot.config import Config
from bot.timing import zone


@dataclass(frozen=True)
class Prefs:
    """Where and when a person may be messaged."""

    timezone: str
    quiet: str
    contact_time: str | None


def prefs_of(timezone: str | None, quiet_hours: object, contact_time: object,
             config: Config) -> Prefs:
    """A person's own settings, else the project's (an unknown zone falls back too)."""
    tz = timezone or config.schedule.timezone
    try:
        zone(tz)
    except ValueError:
        tz = config.schedule.timezone
    quiet = quiet_hours if isinstance(quiet_hours, str) else config.schedule.quiet_hours
    contact = contact_time if isinstance(contact_time, str) else None
    return Prefs(tz, quiet, contact)
