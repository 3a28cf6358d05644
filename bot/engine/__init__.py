"""The pure conversation engine: ``step(flow, session, input, now, context)``.

No I/O, no clock reads, no randomness: it returns a new session, channel-neutral
outputs with rendered text, and events for the caller to persist.
"""

from bot.engine.context import StepContext, StepResult
from bot.engine.step import begin, step

__all__ = ["StepContext", "StepResult", "begin", "step"]
