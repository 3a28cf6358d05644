"""Every round's first message says roughly how long the flow takes.

"(About 3 minutes.)" goes in front of the round's first message, when the flow asks
anything. By SMS it goes there
only if that costs no extra segment; otherwise it is a short message of its own just
before (one segment either way, and the flow's own text stays as written).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from bot.burden.estimate import minutes
from bot.config import Config
from bot.engine.io import Output
from bot.flows.models import Flow
from bot.i18n.renderer import Renderer
from bot.text.render import sms_bodies

KEY = "burden.about_minutes"


class Durations:
    """Minutes per flow version and locale, computed once per process (the estimate
    depends on the flow's text, never on a person)."""

    def __init__(self, renderer: Renderer, config: Config) -> None:
        self.renderer, self.config = renderer, config
        self._memo: dict[tuple[str, str, str], int] = {}

    def minutes(self, flow: Flow, locale: str) -> int:
        key = (flow.id, flow.version, locale)
        if key not in self._memo:
            self._memo[key] = minutes(flow, self.renderer, locale, self.config.project_data())
        return self._memo[key]

    def note(self, flow: Flow, locale: str) -> str:
        return self.renderer.render(KEY, locale, {"minutes": self.minutes(flow, locale)})

    def invite(self, outputs: Sequence[Output], flow: Flow, locale: str,
               channel: str) -> list[Output]:
        """The round's first outputs with the duration note added (none for a flow that
        asks nothing: an announcement is not an invitation)."""
        if not outputs or not flow.ordered_asks():
            return list(outputs)
        note = self.note(flow, locale)
        first = outputs[0]
        joined = dataclasses.replace(first, text=f"{note} {first.text}",
                                     plain=f"{note} {first.plain}")
        if channel == "sms" and _segments(joined) > _segments(first):
            alone = Output(text=note, plain=note, kind="notice")
            return [alone, *outputs]
        return [joined, *outputs[1:]]


def _segments(output: Output) -> int:
    return sum(b.segments for b in sms_bodies({"plain": output.plain,
                                               "long_ok": output.long_ok}))
