"""Reading a reply to a question: which parser its answer kind takes, and what that
parser needs besides the text (the rendered labels, today's date)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from zoneinfo import ZoneInfo

from bot.engine import answers, answers_many, many
from bot.engine.caches import Skeleton
from bot.engine.context import StepContext
from bot.flows.models import (
    AskNode,
    ChoiceAnswer,
    DateAnswer,
    NumberAnswer,
    ScaleAnswer,
    YesNoAnswer,
)


def read_reply(node: AskNode, raw: str, skeleton: Callable[[], Skeleton], now: dt.datetime,
               ctx: StepContext) -> answers.Parsed:
    """``raw`` parsed for ``node``'s answer kind. ``skeleton`` gives the question as
    asked; it is called only when the labels are needed (a scale's "7" never is)."""
    answer = node.answer
    if isinstance(answer, ScaleAnswer):
        return answers.parse_scale(answer, raw, lambda: skeleton().scale_labels)
    if isinstance(answer, ChoiceAnswer | YesNoAnswer):
        labels = [label for _, label, _ in skeleton().entries]
        if isinstance(answer, ChoiceAnswer):
            return answers.parse_choice(answer, raw, labels)
        return answers.parse_yes_no(answer, raw, (labels[0], labels[1]))
    if isinstance(answer, many.MANY):
        labels = [label for _, label, _ in skeleton().entries]
        return answers_many.parse(answer, raw, labels)
    if isinstance(answer, NumberAnswer):
        return answers.parse_number(answer, raw)
    if isinstance(answer, DateAnswer):
        today = now.astimezone(ZoneInfo(ctx.timezone)).date()
        return answers.parse_date(answer, raw, today, ctx.date_order)
    return answers.parse_text(answer, raw)
