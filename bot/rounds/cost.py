"""Estimated SMS segments for one person completing a round's flow.

Delegates to ``bot.sms_check.completion_segments`` (the flow's main path, rendered
with the round's own variables, so an endorsement round is costed with the finding's
real text, not a placeholder), memoised per locale.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

from bot.flows.models import Flow
from bot.i18n.renderer import Renderer
from bot.sms_check import completion_segments


class Estimator:
    """Everyone with the same locale costs the same, so 100,000 people cost one
    rendering per locale."""

    def __init__(self, flow: Flow, renderer: Renderer, project: Mapping[str, str],
                 vars: Mapping[str, str]) -> None:
        self.flow, self.renderer = flow, renderer
        self.project, self.vars = dict(project), dict(vars)
        self.segments = lru_cache(maxsize=32)(self._segments)

    def _segments(self, locale: str) -> int:
        return completion_segments(self.flow, self.renderer, locale, self.project, self.vars)
