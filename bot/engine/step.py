"""``step``: one input moves one session; the result says what to send and what happened.

Pure by design (goflow's "sprint"): the caller owns the clock, the store and the
channels, so a conversation can be replayed, tested and benchmarked without I/O.

The usual steps (a valid answer that leads on to the next question or the end, a flow's
start) follow a plan worked out once per flow version (``reply_plans``); every other
step, and every step a plan cannot vouch for, walks the flow node by node
(``step_general``), which is what the planned steps are tested against.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from bot.engine import answers, events, many, options_from, reply_plans
from bot.engine.context import StepContext, StepResult
from bot.engine.io import Begin, Expire, Input, Output, Press, Reply, TimerFired
from bot.engine.keywords import classify
from bot.engine.questions import Questions
from bot.engine.replies import read_reply
from bot.engine.session import FieldValue, Session
from bot.flows import expressions
from bot.flows.models import (
    AskNode,
    BranchNode,
    ChoiceAnswer,
    EndNode,
    Flow,
    Next,
    NumberAnswer,
    SayNode,
    ScaleAnswer,
    SetNode,
    StatementNode,
    SuggestNode,
    Switch,
    TextAnswer,
)
from bot.flows.models_many import MultiAnswer, RankingAnswer

MAX_NODES_PER_STEP = 200
"""Guards against a loop of branch/set nodes that never reaches a question."""
_FOLLOWED_UP = frozenset({"multi", "text"})
"""The answer kinds ``_Run.follow_up`` has anything to do for: told apart by ``kind``
first, as an ``isinstance`` on a flow model that fails is slow (pydantic's ABC check)."""


class _Run(Questions):
    """Accumulates one step's outputs and events while walking the flow."""

    __slots__ = ()

    def resolve(self, nxt: Next, node: str) -> str:
        if isinstance(nxt, str):
            return nxt
        assert isinstance(nxt, Switch)
        for cond in nxt.when:
            try:
                if expressions.truthy(expressions.evaluate(expressions.parse(cond.if_),
                                                            self.env())):
                    return cond.go
            except expressions.ExpressionError as exc:
                self.events.append(events.FlowErrored(node, f"'{cond.if_}': {exc}"))
        return nxt.else_

    def save(self, name: str, value: FieldValue) -> None:
        session = self.session
        self.session = session.evolve(fields={**session.fields, name: value},
                                      fresh=session is not self.original)
        self._data = None
        self._skeletons.clear()
        if not name.startswith("participant."):
            return
        attr = name.split(".", 1)[1]
        self.events.append(events.ParticipantUpdated(attr, value))
        if attr == "locale" and isinstance(value, str) and value in self.ctx.renderer.locales:
            self.session = self.session.evolve(locale=value, fresh=self.fresh)
        if attr == "consent":
            version = self.flow.consent_version or self.flow.version
            agreed = value is True or value in ("yes", "agree", "given")
            self.events.append(events.ConsentGiven(version) if agreed
                               else events.ConsentDeclined(version))

    def walk(self, node_id: str) -> None:
        for _ in range(MAX_NODES_PER_STEP):
            node = self.flow.nodes[node_id]
            if isinstance(node, AskNode):
                self.ask(node_id, node)
                return
            if isinstance(node, EndNode):
                self.session = self.session.evolve(node=node_id, status="completed",
                                                   fresh=self.fresh)
                if node.text:
                    self.say("end", self.render(node.text, node_id), node_id)
                self.events.append(events.FlowCompleted(self.flow.id, node.outcome))
                return
            if isinstance(node, SayNode):
                self.outputs.append(self.info(node_id, node))
            elif isinstance(node, SetNode):
                try:
                    value = expressions.evaluate(expressions.parse(node.value), self.env())
                except expressions.ExpressionError as exc:
                    self.events.append(events.FlowErrored(node_id, f"'{node.value}': {exc}"))
                    value = None
                stored: FieldValue = None if isinstance(value, list | dict) else value
                self.save(node.field, stored)
                self.events.append(events.FieldSet(node.field, stored))
            elif isinstance(node, BranchNode):
                pass
            node_id = self.resolve(node.next, node_id)
        self.events.append(events.FlowErrored(node_id, "the flow went round in a loop "
                                              f"{MAX_NODES_PER_STEP} times without a question"))
        self.session = self.session.evolve(node=node_id, status="stopped", fresh=self.fresh)

    def info(self, node_id: str, node: SayNode) -> Output:
        text = self.render(node.text, node_id)
        return Output(text=text, plain=text, kind="info", node=node_id,
                      long_ok=node.sms_long is not None)

    # -- questions ------------------------------------------------------------------------
    def answer(self, node_id: str, node: AskNode, raw: str, key: str | None = None) -> None:
        """``raw`` is what the person sent (for a button, its label); ``key`` what to
        parse when it differs (the button's number)."""
        parsed = self.parse(node, raw if key is None else key)
        if isinstance(parsed, answers.Invalid):
            self.events.append(events.AnswerRejected(node_id, raw, parsed.reason))
            retries = self.session.retries + 1
            if retries > node.retries:
                self.events.append(events.AnswerSkipped(node_id, node.save_as, "retries"))
                self.system("notice", "system.moving_on", node_id)
                self.walk(self.resolve(node.next, node_id))
                return
            self.session = self.session.evolve(retries=retries, fresh=self.fresh)
            self.reprompt(node_id, node, parsed.reprompt, parsed.args)
            return
        self.events.append(events.AnswerRecorded(node_id, node.save_as, parsed.value, raw))
        if node.save_as:
            self.save(node.save_as, parsed.value)
        if node.answer.kind in _FOLLOWED_UP:
            self.follow_up(node_id, node, parsed.value)
        self.walk(self.resolve(node.next, node_id))

    def follow_up(self, node_id: str, node: AskNode, value: FieldValue) -> None:
        """What a saved answer of some kinds leads to: a budget's summary, a check for
        distress in free text, a suggestion or statement recorded."""
        if isinstance(node.answer, MultiAnswer) and node.answer.limit is not None:
            picked = [i for i, o in enumerate(node.answer.options)
                      if isinstance(value, list) and o.value in value]
            self.system("info", "answers.budget_spent", node_id,
                        **many.budget_args(node.answer, picked))
        if isinstance(node.answer, TextAnswer) and isinstance(value, str):
            self.check_distress(node_id, value)
            if isinstance(node, SuggestNode):
                self.events.append(events.SuggestionMade(node_id, value, self.session.locale))
            elif isinstance(node, StatementNode):
                self.events.append(events.StatementWritten(node_id, value,
                                                           self.session.locale))

    def reprompt(self, node_id: str, node: AskNode, key: str,
                 extra: Mapping[str, object] | None = None) -> None:
        answer = node.answer
        args: dict[str, Any] = {"skip": node.skippable}
        if isinstance(answer, many.MANY):
            args.update(many.hint_args(answer))
        args.update(extra or {})
        if isinstance(answer, ScaleAnswer | NumberAnswer):
            args.update(min=answer.min, max=answer.max)
        if isinstance(answer, ChoiceAnswer):
            args.update(count=len(answer.options))
        if isinstance(answer, TextAnswer):
            args.update(max=answer.max_length)
        self.system("reprompt", key, node_id, **args)

    def parse(self, node: AskNode, raw: str) -> answers.Parsed:
        node_id = self.session.node
        return read_reply(node, raw, lambda: self.skeleton(node_id, node), self.now,
                          self.ctx)

    def press(self, node_id: str, node: AskNode, token: str) -> None:
        """A button of the open question (a stale one is refused kindly)."""
        chosen = next((c for c in self.choices(node_id, node) if c.token == token), None)
        if chosen is None:
            self.events.append(events.StaleInputIgnored(f"button {token}"))
            self.system("notice", "system.question_closed", node_id)
        elif isinstance(node.answer, many.TAPPED):
            self.tap(node_id, node, node.answer, chosen.key)
        else:
            self.answer(node_id, node, chosen.label, key=chosen.key)

    def tap(self, node_id: str, node: AskNode, answer: MultiAnswer | RankingAnswer,
            key: str) -> None:
        """A toggle, a tap in a ranking, Done/Confirm or Start again (see ``many``)."""
        action, picked = many.after_tap(answer, many.current(self.session), key)
        if action == "submit":
            asked = self.session.asked
            labels = [label for _, label, _ in self.skeleton(node_id, node).entries]
            chosen = ", ".join(labels[i] for i in picked)
            self.answer(node_id, node, chosen, key=many.typed(picked))
            if (self.session.node, self.session.asked, self.session.status) != (
                    node_id, asked, "waiting"):
                fields = {k: v for k, v in self.session.fields.items() if k != many.PICKS}
                self.session = self.session.evolve(fields=fields, fresh=self.fresh)
                if chosen:  # the taps end in a message saying what was chosen
                    said = self.render("system.answered", node_id, answer=chosen)
                    self.outputs.insert(0, Output(text=said, plain=said, kind="info",
                                                  node=node_id))
                return
            picked = many.current(self.session)  # rejected: ask again, picks kept
        elif action == "over":
            self.events.append(events.AnswerRejected(node_id, key, "too many picks"))
            self.system("reprompt", "answers.reprompt_multi_count", node_id,
                        **many.hint_args(answer), picked=len(picked) + 1, skip=False)
        elif action == "over_budget" and isinstance(answer, MultiAnswer):
            self.events.append(events.AnswerRejected(node_id, key, "over the budget"))
            tapped = [*picked, int(key) - 1]
            self.system("reprompt", "answers.reprompt_over_budget", node_id,
                        **many.budget_args(answer, tapped))
        self.save(many.PICKS, many.stored(self.session, picked))
        self.outputs.append(self.question(node_id, node))

    def check_distress(self, node_id: str, text: str) -> None:
        folded = " " + re.sub(r"[^\w']+", " ", text.casefold()) + " "
        for phrase in self.ctx.safeguarding_phrases:
            needle = " " + re.sub(r"[^\w']+", " ", phrase.casefold()).strip() + " "
            if needle.strip() and needle in folded:
                self.events.append(events.DistressFlagged(node_id, phrase))
                if self.ctx.signpost_key:
                    self.system("notice", self.ctx.signpost_key, node_id)
                return


def begin(
    flow: Flow,
    *,
    session_id: str,
    participant_id: str,
    locale: str,
    now: dt.datetime,
    ctx: StepContext,
    vars: Mapping[str, str] | None = None,
    round_id: str | None = None,
) -> StepResult:
    """A new session at the flow's start, run up to its first question or its end."""
    session = Session(
        id=session_id, participant_id=participant_id, flow_id=flow.id,
        flow_version=flow.version, node=flow.start, status="active", locale=locale,
        started_at=now, updated_at=now, vars=dict(vars or {}), round_id=round_id,
    )
    return step(flow, session, Begin(dict(vars or {})), now, ctx)


def step(flow: Flow, session: Session, input: Input, now: dt.datetime,
         ctx: StepContext) -> StepResult:
    """Apply one input to one session."""
    if ctx.caches.dynamic.get((flow.id, flow.version)) != ():  # () : none, the usual
        flow = options_from.for_input(flow, session.vars, input, ctx.caches)
    else:  # an answer to a question or a start, most likely: planned?
        planned = _planned(flow, session, input, now, ctx)
        if planned is not None:
            return planned
    return step_general(flow, session, input, now, ctx)


def _planned(flow: Flow, session: Session, input: Input, now: dt.datetime,
             ctx: StepContext) -> StepResult | None:
    if type(input) is Reply:
        return (reply_plans.reply(flow, session, input.text, now, ctx)
                if session.status == "waiting" else None)
    if type(input) is Press:
        return (reply_plans.press(flow, session, input.token, now, ctx)
                if session.status == "waiting" else None)
    if type(input) is Begin:
        return reply_plans.started(flow, session, input.vars, now, ctx)
    return None


def step_general(flow: Flow, session: Session, input: Input, now: dt.datetime,
                 ctx: StepContext) -> StepResult:
    """``step`` the long way, walking the flow node by node: every step a plan does not
    cover (``reply_plans``), and what the planned ones must equal."""
    run = _Run(flow, session, now, ctx)
    node = flow.nodes[session.node]
    if type(input) is Reply and session.status == "waiting" and isinstance(node, AskNode):
        _replied(run, session, node, input.text)  # the usual step, ahead of the rest
    elif isinstance(input, Begin):
        run.session = session.evolve(vars={**session.vars, **input.vars})
        run.events.append(events.FlowStarted(flow.id, flow.version))
        run.walk(flow.start)
    elif isinstance(input, Expire):
        if not session.finished:
            run.session = session.evolve(status="expired")
            run.events.append(events.FlowExpired(flow.id, session.node))
    elif session.status != "waiting" or not isinstance(node, AskNode):
        _not_asking(run, session, input)
    elif isinstance(input, TimerFired):
        _timed_out(run, session, node, input)
    elif isinstance(input, Press):
        run.press(session.node, node, input.token)
    else:
        _replied(run, session, node, input.text)
    return run.result()


def _not_asking(run: _Run, session: Session, input: Input) -> None:
    """A press or a timer for a session that is not waiting on a question: stale."""
    if isinstance(input, Press):
        run.events.append(events.StaleInputIgnored(f"button {input.token}"))
        run.system("notice", "system.question_closed", session.node)
    elif isinstance(input, TimerFired):
        run.events.append(events.StaleInputIgnored(f"timer for {input.node}"))


def _timed_out(run: _Run, session: Session, node: AskNode, input: TimerFired) -> None:
    if input.node != session.node or input.asked != session.asked or node.timeout is None:
        run.events.append(events.StaleInputIgnored(f"timer for {input.node}"))
        return
    run.events.append(events.TimedOut(session.node))
    run.walk(node.timeout.next)


def _replied(run: _Run, session: Session, node: AskNode, text: str) -> None:
    if classify(text) != "skip":
        run.answer(session.node, node, text)
    elif node.skippable:
        run.events.append(events.AnswerSkipped(session.node, node.save_as, "skip"))
        run.walk(run.resolve(node.next, session.node))
    else:
        run.system("reprompt", "system.no_skip", session.node)


def preview(flow: Flow, session: Session, node_id: str, now: dt.datetime,
            ctx: StepContext) -> Output | None:
    """The message a node sends, rendered for ``session`` without changing it: used to
    repeat an open question after START and to check SMS lengths of a flow."""
    flow = options_from.resolve(flow, session.vars, ctx.caches)
    run = _Run(flow, session, now, ctx)
    node = flow.nodes[node_id]
    if isinstance(node, AskNode):
        return run.question(node_id, node)
    if isinstance(node, SayNode):
        return run.info(node_id, node)
    if isinstance(node, EndNode) and node.text:
        text = run.render(node.text, node_id)
        return Output(text=text, plain=text, kind="end", node=node_id)
    return None
