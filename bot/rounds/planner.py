"""Planning a round: who gets it, on which channel, and when in their own day.

Planning is pure given the candidates (read in one query): each person's send time is
the round's start moved out of their quiet hours and into the part of the day they said
suits them, in their time zone. People sharing a zone and preferences share the same
answer, so 100,000 people cost a few hundred time-zone calculations.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping

from bot.config import Config
from bot.contact_prefs import Prefs, prefs_of
from bot.store.round_records import Candidate, Channel, Round, RoundTarget
from bot.timing import next_allowed


def pick_address(c: Candidate) -> tuple[str, Channel] | str:
    """The address to use (preferred channel first), or why there is none:
    ``opted_out`` or ``unreachable``."""
    first: tuple[str, Channel] | None = None
    for address, channel, opted_out, unreachable in c.addresses:  # oldest first
        if opted_out or unreachable:
            continue
        if channel == c.preferred_channel:
            return address, channel
        first = first or (address, channel)
    if first is not None:
        return first
    return "opted_out" if any(a[2] for a in c.addresses) else "unreachable"


class SendTimes:
    """Memoised local send times for one start moment."""

    def __init__(self, start: dt.datetime, config: Config) -> None:
        self.start, self.config = start, config
        self._memo: dict[Prefs, dt.datetime] = {}
        self._raw: dict[tuple[str | None, str | None, str | None], dt.datetime] = {}

    def for_prefs(self, prefs: Prefs) -> dt.datetime:
        found = self._memo.get(prefs)
        if found is None:
            found = next_allowed(self.start, prefs.timezone, prefs.quiet, prefs.contact_time)
            self._memo[prefs] = found
        return found

    def of(self, c: Candidate) -> dt.datetime:
        key = (c.timezone, c.quiet_hours, c.contact_time)
        found = self._raw.get(key)
        if found is None:
            found = self.for_prefs(prefs_of(*key, self.config))
            self._raw[key] = found
        return found


def plan_targets(item: Round, people: list[Candidate], config: Config, now: dt.datetime,
                 segments: Callable[[str], int],
                 person_vars: Mapping[str, dict[str, str]] | None = None,
                 first_contact: Callable[[str], int] | None = None,
                 ) -> Iterator[RoundTarget]:
    """One target per person: planned (with a send time) or already final (opted out,
    unreachable). ``segments(locale)`` estimates an SMS completion; ``first_contact``
    what someone who never consented gets before it (introduction and consent)."""
    times = SendTimes(max(item.start_at, now), config)
    extra = person_vars or {}
    rid = item.id
    for c in people:
        choice = pick_address(c)
        mine = extra.get(c.id)
        if isinstance(choice, str):
            known = sorted(c.addresses, key=lambda a: a[1] != c.preferred_channel)
            yield RoundTarget(rid, c.id, times.of(c), known[0][1] if known else None,
                              status="opted_out" if choice == "opted_out" else "unreachable",
                              vars=dict(mine or {}))
            continue
        address, channel = choice
        send_at = times.of(c)
        cost = segments(c.locale) + (first_contact(c.locale) if first_contact is not None
                                     and c.status == "new" else 0)
        target = RoundTarget(rid, c.id, send_at, channel, address, "planned", 0, send_at,
                             segments_estimated=cost if channel == "sms" else 0)
        if mine:
            target.vars = dict(mine)
        yield target
