"""Problems in a flow's content found at run time are never silent (issue #11).

The engine records them as ``FlowErrored`` events (stored, also before consent: they
hold no personal data) and still sends a fallback text; this logs each one, so a
coordinator watching the logs sees it the moment it happens, not when a person says a
question never came.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from bot.engine import events as ev

log = logging.getLogger("parley.flows")


def log_flow_errors(flow_id: str, events: Iterable[ev.Event]) -> int:
    """Log every ``FlowErrored`` among ``events``; returns how many."""
    count = 0
    for event in events:
        if isinstance(event, ev.FlowErrored):
            log.warning("flow %s, node %s: %s (a fallback text was sent)", flow_id,
                        event.node, event.message)
            count += 1
    return count
