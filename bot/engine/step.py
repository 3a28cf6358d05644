"""``step``: one input moves one session; the result says what to send and what happened.

Pure by design (goflow's "sprint"): the caller owns the clock, the store and the
channels, so a conversation can be replayed, tested and benchmarked without I/O.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from bot.engine import answers, answers_many, events, many, options_from
from bot.engine.io import Begin, Choice, Expire, Input, Output, OutputKind, Press, TimerFired
from bot.engine.keywords import classify
from bot.engine.session import FieldValue, Session
from bot.errors import TemplateError
from bot.flows import expressions
from bot.flows.models import (
    AskNode,
    BranchNode,
    ChoiceAnswer,
    DateAnswer,
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
    YesNoAnswer,
    is_template_key,
)
from bot.flows.models_many import AllocateAnswer, MultiAnswer, RankingAnswer
from bot.i18n.renderer import Renderer
from bot.text.sms_encoding import measure

MAX_NODES_PER_STEP = 200
"""Guards against a loop of branch/set nodes that never reaches a question."""


@dataclass(frozen=True)
class StepContext:
    """Everything besides the session that shapes a step; built once per participant."""

    renderer: Renderer
    project: Mapping[str, str] = field(default_factory=dict)
    participant: Mapping[str, FieldValue] = field(default_factory=dict)
    timezone: str = "Europe/London"
    date_order: str = "DMY"
    safeguarding_phrases: tuple[str, ...] = ()
    signpost_key: str | None = None

    @functools.cached_property
    def project_key(self) -> tuple[tuple[str, str], ...]:
        return tuple(sorted(self.project.items()))

    @functools.cached_property
    def plain_skeletons(self) -> dict[tuple[int, str, str], tuple[Flow, _Skeleton]]:
        """Questions whose text reads no data, worked out for this context: the common
        case, found here without building the global cache's key."""
        return {}


@dataclass(frozen=True)
class StepResult:
    session: Session
    outputs: tuple[Output, ...]
    events: tuple[events.Event, ...]


@dataclass(frozen=True)
class _Skeleton:
    text: str
    plain: str
    entries: tuple[tuple[str, str, FieldValue], ...]
    layout: str
    scale_labels: dict[int, str]
    long_ok: bool
    buttons: tuple[tuple[str, str, FieldValue, str], ...]


_SKELETONS: dict[tuple[Any, ...], _Skeleton] = {}


_LABEL_KEYS: dict[int, tuple[AskNode, tuple[str, ...]]] = {}
_READS: dict[tuple[int, int, str], tuple[Renderer, AskNode, bool]] = {}


def _reads_data(renderer: Renderer, node: AskNode, locale: str) -> bool:
    """Whether any template of a question reads a person's data (cached per node/locale);
    text that reads only the project's settings is the same for everyone."""
    key = (id(renderer), id(node), locale)
    hit = _READS.get(key)
    if hit is not None and hit[0] is renderer and hit[1] is node:
        return hit[2]
    if len(_READS) > 8192:
        _READS.clear()
    found = any(renderer.reads_personal_data(k, locale) for k in _label_keys(node))
    _READS[key] = (renderer, node, found)
    return found


def _label_keys(node: AskNode) -> tuple[str, ...]:
    """The template keys a question renders: its text and any label that is a key.
    Cached by identity (nodes hold dicts, so they are not hashable)."""
    hit = _LABEL_KEYS.get(id(node))
    if hit is not None and hit[0] is node:
        return hit[1]
    if len(_LABEL_KEYS) > 4096:
        _LABEL_KEYS.clear()
    answer = node.answer
    labels: list[str] = []
    if isinstance(answer, ChoiceAnswer | MultiAnswer | RankingAnswer | AllocateAnswer):
        labels = [o.label for o in answer.options]
    elif isinstance(answer, ScaleAnswer):
        labels = list(answer.labels.values())
    elif isinstance(answer, YesNoAnswer):
        labels = [answer.yes_label, answer.no_label]
    keys = (node.text, *(label for label in labels if is_template_key(label)))
    _LABEL_KEYS[id(node)] = (node, keys)
    return keys
_SKELETON_LIMIT = 10_000


class _Run:
    """Accumulates one step's outputs and events while walking the flow."""

    def __init__(self, flow: Flow, session: Session, now: dt.datetime, ctx: StepContext):
        self.flow, self.now, self.ctx = flow, now, ctx
        self.original = session
        self.session = session
        self.outputs: list[Output] = []
        self.events: list[events.Event] = []
        self._data: dict[str, Any] | None = None
        self._skeletons: dict[tuple[str, str], _Skeleton] = {}

    def result(self) -> StepResult:
        if self.session is not self.original:
            # a fresh object only this step holds, so stamping it in place is safe
            self.session.__dict__["updated_at"] = self.now
        return StepResult(self.session, tuple(self.outputs), tuple(self.events))

    # -- rendering --------------------------------------------------------------------
    def data(self) -> dict[str, Any]:
        if self._data is not None:
            return self._data
        participant = dict(self.ctx.participant)
        for name, value in self.session.fields.items():
            if name.startswith("participant."):
                participant[name.split(".", 1)[1]] = value
        fields = {k: v for k, v in self.session.fields.items() if not k.startswith("participant.")}
        self._data = {"fields": fields, "vars": self.session.vars,
                      "participant": participant, "project": self.ctx.project}
        return self._data

    def render(self, key: str, node: str, **extra: Any) -> str:
        try:
            return self.ctx.renderer.render(key, self.session.locale, {**self.data(), **extra})
        except TemplateError as exc:
            self.events.append(events.FlowErrored(node, str(exc)))
            return ""

    def label(self, text: str, node: str) -> str:
        return self.render(text, node) if is_template_key(text) else text

    def say(self, kind: OutputKind, text: str, node: str | None = None) -> None:
        if text:
            self.outputs.append(Output(text=text, plain=text, kind=kind, node=node))

    def system(self, kind: OutputKind, key: str, node: str, **extra: Any) -> None:
        self.say(kind, self.render(key, node, **extra), node)

    # -- walking ------------------------------------------------------------------------
    def env(self) -> dict[str, expressions.Value]:
        # Any: a saved list[str] is a list of Values, read-only here, which mypy's
        # invariant list[...] cannot say
        env: dict[str, Any] = {}
        for name, value in self.ctx.participant.items():
            env[f"participant.{name}"] = value
        env.update(self.session.fields)
        for name, var in self.session.vars.items():
            env[f"vars.{name}"] = var
        return env

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
        self.session = self.session.evolve(fields={**self.session.fields, name: value})
        self._data = None
        self._skeletons.clear()
        if not name.startswith("participant."):
            return
        attr = name.split(".", 1)[1]
        self.events.append(events.ParticipantUpdated(attr, value))
        if attr == "locale" and isinstance(value, str) and value in self.ctx.renderer.locales:
            self.session = self.session.evolve(locale=value)
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
                self.session = self.session.evolve(node=node_id, status="completed")
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
        self.session = self.session.evolve(node=node_id, status="stopped")

    def info(self, node_id: str, node: SayNode) -> Output:
        text = self.render(node.text, node_id)
        return Output(text=text, plain=text, kind="info", node=node_id,
                      long_ok=node.sms_long is not None)

    # -- questions ------------------------------------------------------------------------
    def ask(self, node_id: str, node: AskNode) -> None:
        asked = self.session.asked + 1
        self.session = self.session.evolve(node=node_id, status="waiting", asked=asked,
                                           retries=0)
        self.outputs.append(self.question(node_id, node))
        self.events.append(events.QuestionAsked(node_id, asked))
        if node.timeout is not None:
            due = self.now + node.timeout.delta
            self.events.append(events.TimerScheduled(node_id, asked, due))

    def skeleton(self, node_id: str, node: AskNode) -> _Skeleton:
        """Everything about a question except its button tokens, memoised: the same
        question to thousands of people is worked out once per locale."""
        local_key = (node_id, self.session.locale)
        cached = self._skeletons.get(local_key)
        if cached is not None:
            return cached
        locale = self.session.locale
        plain_key = (id(self.flow), node_id, locale)
        plain = self.ctx.plain_skeletons.get(plain_key)
        if plain is not None and plain[0] is self.flow:
            self._skeletons[local_key] = plain[1]
            return plain[1]
        if _reads_data(self.ctx.renderer, node, locale) or getattr(
                node.answer, "options_from", None) is not None:
            # rendered with this person's name or answers, or with options that came with
            # the round: never kept beyond this step, so the process holds no cache keyed
            # by (or full of) anyone's data, and one round's options never show in another
            fresh = self.build_skeleton(node_id, node)
            self._skeletons[local_key] = fresh
            return fresh
        key = (self.ctx.renderer, self.flow.id, self.flow.version, node_id, locale,
               self.ctx.project_key)
        found = _SKELETONS.get(key)
        if found is None:
            found = self.build_skeleton(node_id, node)
            if len(_SKELETONS) >= _SKELETON_LIMIT:
                _SKELETONS.clear()
            if not any(isinstance(e, events.FlowErrored) for e in self.events):
                _SKELETONS[key] = found
        if found is _SKELETONS.get(key):  # cached, so known good
            if len(self.ctx.plain_skeletons) > 1024:
                self.ctx.plain_skeletons.clear()
            self.ctx.plain_skeletons[plain_key] = (self.flow, found)
        self._skeletons[local_key] = found
        return found

    def build_skeleton(self, node_id: str, node: AskNode) -> _Skeleton:
        answer = node.answer
        text = self.render(node.text, node_id)
        entries: tuple[tuple[str, str, FieldValue], ...] = ()
        layout = "list"
        if isinstance(answer, ChoiceAnswer | MultiAnswer | RankingAnswer | AllocateAnswer):
            entries = tuple((str(i + 1), self.label(o.label, node_id), o.value)
                            for i, o in enumerate(answer.options))
        elif isinstance(answer, ScaleAnswer):
            entries = tuple((str(v), str(v), v) for v in range(answer.min, answer.max + 1))
            layout = "grid"
        elif isinstance(answer, YesNoAnswer):
            entries = (("1", self.label(answer.yes_label, node_id), True),
                       ("2", self.label(answer.no_label, node_id), False))
            layout = "row"
        skip = node.skippable
        hints: list[Callable[[], str]] = []
        button_text = text
        scale_labels: dict[int, str] = {}
        if isinstance(answer, ScaleAnswer):
            scale_labels = {p: self.label(lbl, node_id) for p, lbl in sorted(answer.labels.items())}
            args = {"min": answer.min, "max": answer.max, "labels": scale_labels, "skip": skip}
            hints = [lambda: self.render("system.scale_hint", node_id, **args),
                     lambda: self.render("system.scale_hint_short", node_id, **args)]
            if scale_labels:
                button_text = f"{text}\n{self.render('system.scale_legend', node_id, **args)}"
        elif entries:
            listing = "\n".join(f"{k} {label}" for k, label, _ in entries)
            skip_line = "\n" + self.render("system.skip_hint", node_id) if skip else ""
            hints = (many.sms_hints(answer, listing, skip_line, self.renders(node_id))
                     if isinstance(answer, many.MANY)
                     else [lambda: listing + skip_line, lambda: listing])
        elif skip:
            hints = [lambda: self.render("system.skip_hint", node_id), lambda: ""]
        # The most helpful hint that still fits one SMS segment; the last one otherwise.
        plain = text
        for make_hint in hints:
            hint = make_hint()
            plain = f"{text}\n{hint}" if hint else text
            if measure(plain).segments <= 1:
                break
        # amounts are typed, so an allocate question has no buttons: its listing is the text
        typed = isinstance(answer, AllocateAnswer)
        buttons = () if typed else tuple((k, label, value, str(i))
                                         for i, (k, label, value) in enumerate(entries))
        button_text = plain if typed else button_text
        return _Skeleton(button_text, plain, entries, layout, scale_labels,
                         node.sms_long is not None, buttons)

    def choices(self, node_id: str, node: AskNode) -> tuple[Choice, ...]:
        prefix = f"{self.session.id[-8:]}.{self.session.asked}."
        make = tuple.__new__  # NamedTuple's own __new__ is a Python-level wrapper: 2x slower
        base = tuple([make(Choice, (k, label, value, prefix + suffix))
                      for k, label, value, suffix in self.skeleton(node_id, node).buttons])
        if isinstance(node.answer, many.TAPPED):
            return many.controls(node.answer, base, many.current(self.session), prefix,
                                 self.renders(node_id))
        return base

    def renders(self, node_id: str) -> Callable[..., str]:
        return lambda key, **kw: self.render(key, node_id, **kw)

    def question(self, node_id: str, node: AskNode) -> Output:
        sk = self.skeleton(node_id, node)
        if isinstance(node.answer, many.TAPPED):
            labels = [label for _, label, _ in sk.entries]
            text = many.telegram_text(node.answer, sk.text, labels,
                                      many.current(self.session), self.renders(node_id))
            return Output(text=text, plain=sk.plain, kind="question", node=node_id,
                          choices=self.choices(node_id, node), layout="list",
                          long_ok=sk.long_ok)
        return Output(text=sk.text, plain=sk.plain, kind="question", node=node_id,
                      choices=self.choices(node_id, node), layout=sk.layout,  # type: ignore[arg-type]
                      long_ok=sk.long_ok)

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
            self.session = self.session.evolve(retries=retries)
            self.reprompt(node_id, node, parsed.reprompt, parsed.args)
            return
        self.events.append(events.AnswerRecorded(node_id, node.save_as, parsed.value, raw))
        if node.save_as:
            self.save(node.save_as, parsed.value)
        if isinstance(node.answer, MultiAnswer) and node.answer.limit is not None:
            picked = [i for i, o in enumerate(node.answer.options)
                      if isinstance(parsed.value, list) and o.value in parsed.value]
            self.system("info", "answers.budget_spent", node_id,
                        **many.budget_args(node.answer, picked))
        if isinstance(node.answer, TextAnswer) and isinstance(parsed.value, str):
            self.check_distress(node_id, parsed.value)
            if isinstance(node, SuggestNode):
                self.events.append(events.SuggestionMade(node_id, parsed.value,
                                                         self.session.locale))
            elif isinstance(node, StatementNode):
                self.events.append(events.StatementWritten(node_id, parsed.value,
                                                           self.session.locale))
        self.walk(self.resolve(node.next, node_id))

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
        answer = node.answer
        if isinstance(answer, ScaleAnswer):
            return answers.parse_scale(answer, raw, self.skeleton(self.session.node,
                                                                  node).scale_labels)
        if isinstance(answer, ChoiceAnswer | YesNoAnswer):
            labels = [label for _, label, _ in self.skeleton(self.session.node, node).entries]
            if isinstance(answer, ChoiceAnswer):
                return answers.parse_choice(answer, raw, labels)
            return answers.parse_yes_no(answer, raw, (labels[0], labels[1]))
        if isinstance(answer, many.MANY):
            labels = [label for _, label, _ in self.skeleton(self.session.node, node).entries]
            return answers_many.parse(answer, raw, labels)
        if isinstance(answer, NumberAnswer):
            return answers.parse_number(answer, raw)
        if isinstance(answer, DateAnswer):
            today = self.now.astimezone(ZoneInfo(self.ctx.timezone)).date()
            return answers.parse_date(answer, raw, today, self.ctx.date_order)
        return answers.parse_text(answer, raw)

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
                self.session = self.session.evolve(fields=fields)
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
    flow = options_from.for_input(flow, session.vars, input)
    run = _Run(flow, session, now, ctx)
    node = flow.nodes[session.node]
    if isinstance(input, Begin):
        run.session = session.evolve(vars={**session.vars, **input.vars})
        run.events.append(events.FlowStarted(flow.id, flow.version))
        run.walk(flow.start)
        return run.result()
    if isinstance(input, Expire):
        if not session.finished:
            run.session = session.evolve(status="expired")
            run.events.append(events.FlowExpired(flow.id, session.node))
        return run.result()
    if session.status != "waiting" or not isinstance(node, AskNode):
        if isinstance(input, Press):
            run.events.append(events.StaleInputIgnored(f"button {input.token}"))
            run.system("notice", "system.question_closed", session.node)
        elif isinstance(input, TimerFired):
            run.events.append(events.StaleInputIgnored(f"timer for {input.node}"))
        return run.result()
    if isinstance(input, TimerFired):
        if input.node != session.node or input.asked != session.asked or node.timeout is None:
            run.events.append(events.StaleInputIgnored(f"timer for {input.node}"))
            return run.result()
        run.events.append(events.TimedOut(session.node))
        run.walk(node.timeout.next)
        return run.result()
    if isinstance(input, Press):
        run.press(session.node, node, input.token)
        return run.result()
    text = input.text
    if classify(text) == "skip":
        if node.skippable:
            run.events.append(events.AnswerSkipped(session.node, node.save_as, "skip"))
            run.walk(run.resolve(node.next, session.node))
        else:
            run.system("reprompt", "system.no_skip", session.node)
        return run.result()
    run.answer(session.node, node, text)
    return run.result()


def preview(flow: Flow, session: Session, node_id: str, now: dt.datetime,
            ctx: StepContext) -> Output | None:
    """The message a node sends, rendered for ``session`` without changing it: used to
    repeat an open question after START and to check SMS lengths of a flow."""
    flow = options_from.resolve(flow, session.vars)
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
