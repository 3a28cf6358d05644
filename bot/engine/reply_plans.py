"""The usual steps, worked out once per flow version: a valid answer that leads on,
past any messages, to the next question or the end; and a flow's start.

Most steps of most flows are one of those: "7" to one question of a survey, then the
next question. The general step (``step.step_general``) walks there node by node,
asking at each node what kind of node, answer and input it has. A plan records those
answers once per question (or per flow, for its start), so a step it covers parses the
reply, saves it and sends what the plan says, from the shared question skeletons and the
templates' fixed texts.

Anything a plan does not cover returns None and takes the general step: a skip, a
rejected answer, a text that reads the person's data or a question not yet worked out,
a branch or a field set on the way, an answer that updates the person, a flow with
options from the round, a button of another asking. The planned steps are checked
against the general one (``tests/test_reply_plans.py``).

Plans are keyed by flow id, version and node id (``StepCaches.plans``): they hold no
one's data.
"""

from __future__ import annotations

import datetime as dt

from bot.engine import events
from bot.engine.answers import Invalid
from bot.engine.caches import ReplyPlan, Skeleton, StepCaches, Stretch
from bot.engine.context import StepContext, StepResult
from bot.engine.io import Output
from bot.engine.keywords import classify
from bot.engine.many import TAPPED_KINDS
from bot.engine.questions import asking_events, question_output, token_prefix
from bot.engine.replies import read_reply
from bot.engine.session import FieldValue, Session
from bot.flows.models import AskNode, EndNode, Flow, SayNode

PLANNED_KINDS = frozenset({"scale", "choice", "yes_no", "number", "date"})
"""Answer kinds whose saved answer leads to nothing but the next node: not text (checked
for distress, recorded as a suggestion or statement) nor several options (taps, budgets)."""
START = "\x00start"
"""The plan key standing for a flow's start (no node id has a NUL)."""
MAX_SAYS = 20
"""Messages a stretch may pass on its way; more (or a loop) is left to the general walk."""


class _NotShared(Exception):
    """A question's skeleton is not in the shared table: the general step works it out."""


def plan_for(flow: Flow, node_id: str, caches: StepCaches) -> ReplyPlan | None:
    """The plan for a valid answer at ``node_id`` (``START``: for the flow's start), or
    None when those steps need the general walk."""
    key = (flow.id, flow.version, node_id)
    try:
        return caches.plans[key]
    except KeyError:
        return StepCaches.keep(caches.plans, key, _make_plan(flow, node_id))


def _make_plan(flow: Flow, node_id: str) -> ReplyPlan | None:
    if node_id == START:
        stretch = _stretch(flow, flow.start)
        return None if stretch is None else ReplyPlan(START, None, stretch)
    node = flow.nodes[node_id]
    # exactly an ask node: suggest and statement nodes record what was written
    if type(node) is not AskNode or node.answer.kind not in PLANNED_KINDS:
        return None
    if node.save_as is not None and node.save_as.startswith("participant."):
        return None  # updates the person (a locale, a consent): the general step
    if not isinstance(node.next, str):
        return None  # a switch reads the answers so far
    stretch = _stretch(flow, node.next)
    return None if stretch is None else ReplyPlan(node_id, node, stretch)


def _stretch(flow: Flow, node_id: str) -> Stretch | None:
    """The messages from ``node_id`` on to the question or end they lead to, if every
    step on the way is a message with a fixed next node."""
    says: list[tuple[str, SayNode]] = []
    while len(says) <= MAX_SAYS:
        node = flow.nodes[node_id]
        if isinstance(node, AskNode):
            return None if node.answer.kind in TAPPED_KINDS else Stretch(tuple(says),
                                                                          node_id, node)
        if isinstance(node, EndNode):
            return Stretch(tuple(says), node_id, node)
        if not isinstance(node, SayNode) or not isinstance(node.next, str):
            return None  # a branch, a field set: they read or change the answers
        says.append((node_id, node))
        node_id = node.next
    return None


def reply(flow: Flow, session: Session, text: str, now: dt.datetime,
          ctx: StepContext) -> StepResult | None:
    """``Reply(text)`` to the question ``session`` waits on, if a plan covers it."""
    plan = plan_for(flow, session.node, ctx.caches)
    if plan is None or classify(text) == "skip":
        return None
    return _answered(plan, flow, session, text, text, now, ctx)


def press(flow: Flow, session: Session, token: str, now: dt.datetime,
          ctx: StepContext) -> StepResult | None:
    """A press of one of the open question's buttons, if a plan covers the question."""
    plan = plan_for(flow, session.node, ctx.caches)
    if plan is None:
        return None
    prefix = token_prefix(session.id, session.asked)
    here = _shared(ctx, flow, session.node, session.locale)
    if here is None or not token.startswith(prefix):
        return None  # not shared, or a button of another asking: the general step
    suffix = token[len(prefix):]
    for key, label, _, button in here.buttons:
        if button == suffix:
            return _answered(plan, flow, session, label, key, now, ctx)
    return None


def started(flow: Flow, session: Session, vars: dict[str, str], now: dt.datetime,
            ctx: StepContext) -> StepResult | None:
    """``Begin(vars)``, if the flow's start is a plain stretch of messages."""
    plan = plan_for(flow, START, ctx.caches)
    if plan is None:
        return None
    begun = session.evolve(vars={**session.vars, **vars})
    return _went_on(plan.stretch, flow, begun, session.fields,
                    [events.FlowStarted(flow.id, flow.version)], now, ctx)


def _shared(ctx: StepContext, flow: Flow, node_id: str, locale: str) -> Skeleton | None:
    """A question as ``Questions.skeleton`` shares it, if it is shared (one that reads
    someone's data, or has not been asked yet, is worked out by the general step)."""
    return ctx.caches.skeletons.get((ctx.renderer.digest, flow.id, flow.version, node_id,
                                     locale, ctx.project_key))


def _answered(plan: ReplyPlan, flow: Flow, session: Session, raw: str, key: str,
              now: dt.datetime, ctx: StepContext) -> StepResult | None:
    """``raw`` is what the person sent (for a button, its label); ``key`` what to parse."""
    node = plan.node
    assert node is not None  # a start's plan is never asked to answer

    def asked_skeleton() -> Skeleton:  # the labels, for a reply that is not a number
        found = _shared(ctx, flow, plan.node_id, session.locale)
        if found is None:
            raise _NotShared
        return found

    try:
        parsed = read_reply(node, key, asked_skeleton, now, ctx)
    except _NotShared:
        return None
    if isinstance(parsed, Invalid):
        return None  # re-prompted, or moved on after too many tries: the general step
    save_as = node.save_as
    fields = {**session.fields, save_as: parsed.value} if save_as else session.fields
    return _went_on(plan.stretch, flow, session, fields,
                    [events.AnswerRecorded(plan.node_id, save_as, parsed.value, raw)], now,
                    ctx)


def _went_on(stretch: Stretch, flow: Flow, session: Session, fields: dict[str, FieldValue],
             happened: list[events.Event], now: dt.datetime,
             ctx: StepContext) -> StepResult | None:
    """The stretch's messages, then its question or end, after what ``happened``."""
    locale, fixed = session.locale, ctx.renderer.fixed
    outputs: list[Output] = []
    for say_id, say in stretch.says:
        text = fixed(say.text, locale)
        if text is None:
            return None  # reads someone's data
        outputs.append(Output(text, text, "info", say_id, (), "list", say.sms_long is not None))
    stop_id, stop = stretch.stop_id, stretch.stop
    if isinstance(stop, EndNode):
        ended = fixed(stop.text, locale) if stop.text else ""
        if ended is None:
            return None
        if ended:
            outputs.append(Output(ended, ended, "end", stop_id))
        happened.append(events.FlowCompleted(flow.id, stop.outcome))
        return StepResult(session.moved(stop_id, "completed", session.asked,
                                        session.retries, fields, now),
                          tuple(outputs), tuple(happened))
    ahead = _shared(ctx, flow, stop_id, locale)
    if ahead is None:
        return None
    asked = session.asked + 1
    outputs.append(question_output(stop_id, ahead, token_prefix(session.id, asked)))
    happened.extend(asking_events(stop_id, stop, asked, now))
    return StepResult(session.moved(stop_id, "waiting", asked, 0, fields, now),
                      tuple(outputs), tuple(happened))
