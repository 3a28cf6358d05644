"""How long a flow takes, for the "(About 3 minutes.)" every invitation carries.

Computed from the flow itself along the path of someone who answers everything
(``main_path``): reading time for every message at a slow, phone-screen pace, plus
thinking-and-typing time per question by the kind of answer. Rounded up to whole
minutes, so the promise errs on the long side.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from bot.flows.models import AskNode, Flow
from bot.i18n.renderer import Renderer
from bot.sms_check import main_path, message_costs

WORDS_PER_MINUTE = 150
"""Slower than print reading (≈ 200-250): small screens, second languages, low literacy."""
ANSWER_SECONDS = {"text": 60, "ranking": 30, "allocate": 45, "multi": 20}
"""Time to answer by kind; a tap or a number (choice, scale, yes/no, date) is 10 s."""
TAP_SECONDS = 10


def seconds(flow: Flow, renderer: Renderer, locale: str, project: Mapping[str, str],
            vars: Mapping[str, str] | None = None) -> int:
    """Estimated seconds to complete the flow, answering every question."""
    bodies = {node: body for node, _, _, body in
              message_costs(flow, renderer, locale, project, vars)}
    total = 0.0
    for node_id in main_path(flow):
        words = len(bodies.get(node_id, "").split())
        total += words * 60 / WORDS_PER_MINUTE
        node = flow.nodes[node_id]
        if isinstance(node, AskNode):
            total += ANSWER_SECONDS.get(node.answer.kind, TAP_SECONDS)
    return math.ceil(total)


def minutes(flow: Flow, renderer: Renderer, locale: str, project: Mapping[str, str],
            vars: Mapping[str, str] | None = None) -> int:
    """Whole minutes, at least 1."""
    return max(1, math.ceil(seconds(flow, renderer, locale, project, vars) / 60))


def messages(flow: Flow) -> int:
    """Messages one person receives for a full completion (no reprompts or reminders)."""
    return sum(1 for node_id in main_path(flow)
               if getattr(flow.nodes[node_id], "text", None))
