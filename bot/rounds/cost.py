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
from bot.text.sms_encoding import sanitise_system_text, segments_for_body


class Estimator:
    """Everyone with the same locale costs the same, so 100,000 people cost one
    rendering per locale."""

    def __init__(self, flow: Flow, renderer: Renderer, project: Mapping[str, str],
                 vars: Mapping[str, str], consent: Flow | None = None) -> None:
        self.flow, self.renderer = flow, renderer
        self.project, self.vars = dict(project), dict(vars)
        self.consent = consent
        self.segments = lru_cache(maxsize=32)(self._segments)
        self.first_contact = lru_cache(maxsize=32)(self._first_contact)

    def _segments(self, locale: str) -> int:
        return completion_segments(self.flow, self.renderer, locale, self.project, self.vars)

    def _first_contact(self, locale: str) -> int:
        """What someone who never consented gets first (DESIGN §2), which the round
        causes and pays for too: the introduction, then the consent flow."""
        intro = 0
        if self.renderer.resolve_locale("system.intro", locale) is not None:
            intro = segments_for_body(sanitise_system_text(self.renderer.render(
                "system.intro", locale, {"project": self.project})))
        consent = 0 if self.consent is None else completion_segments(
            self.consent, self.renderer, locale, self.project, {})
        return intro + consent
