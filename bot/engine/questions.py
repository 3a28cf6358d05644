"""Asking a question: its text, options and buttons worked out once (a ``Skeleton``)
and shared through the owner's ``StepCaches`` unless it reads someone's data."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

from bot.engine import events, many
from bot.engine.caches import Skeleton, StepCaches
from bot.engine.context import RunState, StepContext
from bot.engine.io import Choice, Choices, Output
from bot.engine.session import FieldValue
from bot.flows.models import (
    AskNode,
    ChoiceAnswer,
    Flow,
    ScaleAnswer,
    YesNoAnswer,
    is_template_key,
)
from bot.flows.models_many import AllocateAnswer, MultiAnswer, RankingAnswer
from bot.text.sms_encoding import measure


def _reads_data(ctx: StepContext, flow: Flow, node_id: str, node: AskNode, locale: str) -> bool:
    """Whether any template of a question reads a person's data (cached per node/locale);
    text that reads only the project's settings is the same for everyone."""
    key = (ctx.renderer_key, flow.id, flow.version, node_id, locale)
    hit = ctx.caches.reads_data.get(key)
    if hit is not None:
        return hit
    found = any(ctx.renderer.reads_personal_data(k, locale)
                for k in _label_keys(ctx.caches, flow, node_id, node))
    return StepCaches.keep(ctx.caches.reads_data, key, found)


def _label_keys(caches: StepCaches, flow: Flow, node_id: str, node: AskNode) -> tuple[str, ...]:
    """The template keys a question renders: its text and any label that is a key."""
    key = (flow.id, flow.version, node_id)
    hit = caches.label_keys.get(key)
    if hit is not None:
        return hit
    answer = node.answer
    labels: list[str] = []
    if isinstance(answer, ChoiceAnswer | MultiAnswer | RankingAnswer | AllocateAnswer):
        labels = [o.label for o in answer.options]
    elif isinstance(answer, ScaleAnswer):
        labels = list(answer.labels.values())
    elif isinstance(answer, YesNoAnswer):
        labels = [answer.yes_label, answer.no_label]
    keys = (node.text, *(label for label in labels if is_template_key(label)))
    return StepCaches.keep(caches.label_keys, key, keys)


def _dynamic_options(node: AskNode) -> bool:
    """Whether the question's options come with the round (``options_from``)."""
    answer = node.answer
    return (isinstance(answer, MultiAnswer | RankingAnswer | AllocateAnswer)
            and answer.options_from is not None)


def token_prefix(session_id: str, asked: int) -> str:
    """What every button token of an asking starts with: the session's last eight
    characters and the asking's number, so a button from elsewhere is refused."""
    return f"{session_id[-8:]}.{asked}."


def question_output(node_id: str, sk: Skeleton, prefix: str) -> Output:
    """A question with one-at-a-time answers, as sent: its buttons carry ``prefix``."""
    # positional, the choices made here: this runs for nearly every step
    return Output(sk.text, sk.plain, "question", node_id, Choices(prefix, sk.buttons),
                  sk.layout, sk.long_ok)  # type: ignore[arg-type]


def asking_events(node_id: str, node: AskNode, asked: int,
                  now: dt.datetime) -> tuple[events.Event, ...]:
    """What asking a question records: the asking, and its no-reply timer if it has one."""
    if node.timeout is None:
        return (events.QuestionAsked(node_id, asked),)
    return (events.QuestionAsked(node_id, asked),
            events.TimerScheduled(node_id, asked, now + node.timeout.delta))


class Questions(RunState):
    """Mixed into the step's run: asking questions."""

    __slots__ = ()

    def ask(self, node_id: str, node: AskNode) -> None:
        session = self.session
        asked = session.asked + 1
        self.session = session.evolve(node=node_id, status="waiting", asked=asked, retries=0,
                                      fresh=session is not self.original)
        self.outputs.append(self.question(node_id, node))
        self.events.extend(asking_events(node_id, node, asked, self.now))

    def skeleton(self, node_id: str, node: AskNode) -> Skeleton:
        """Everything about a question except its button tokens, memoised: the same
        question to thousands of people is worked out once per locale."""
        locale, ctx = self.session.locale, self.ctx
        shared = ctx.caches.skeletons
        key = (ctx.renderer.digest, self.flow.id, self.flow.version, node_id, locale,
               ctx.project_key)  # the digest itself: no property call per question
        found = shared.get(key)
        if found is not None:  # only questions that read nobody's data are ever kept
            return found
        local_key = (node_id, locale)
        cached = self._skeletons.get(local_key)
        if cached is not None:
            return cached
        if _dynamic_options(node) or _reads_data(self.ctx, self.flow, node_id, node, locale):
            # options that came with the round, or rendered with this person's name or
            # answers: never kept beyond this step, so no cache is keyed by (or full of)
            # anyone's data, and one round's options never show in another
            fresh = self.build_skeleton(node_id, node)
            self._skeletons[local_key] = fresh
            return fresh
        found = self.build_skeleton(node_id, node)
        if not any(isinstance(e, events.FlowErrored) for e in self.events):
            StepCaches.keep(shared, key, found)  # only what rendered without error
        self._skeletons[local_key] = found
        return found

    def build_skeleton(self, node_id: str, node: AskNode) -> Skeleton:
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
        return Skeleton(button_text, plain, entries, layout, scale_labels,
                         node.sms_long is not None, buttons)

    def choices(self, node_id: str, node: AskNode,
                sk: Skeleton | None = None) -> Sequence[Choice]:
        """The open question's buttons, with this asking's tokens."""
        prefix = token_prefix(self.session.id, self.session.asked)
        base = Choices(prefix, (sk or self.skeleton(node_id, node)).buttons)
        if node.answer.kind in many.TAPPED_KINDS and isinstance(node.answer, many.TAPPED):
            return many.controls(node.answer, tuple(base), many.current(self.session), prefix,
                                 self.renders(node_id))
        return base

    def renders(self, node_id: str) -> Callable[..., str]:
        return lambda key, **kw: self.render(key, node_id, **kw)

    def question(self, node_id: str, node: AskNode) -> Output:
        sk = self.skeleton(node_id, node)
        if node.answer.kind in many.TAPPED_KINDS and isinstance(node.answer, many.TAPPED):
            labels = [label for _, label, _ in sk.entries]
            text = many.telegram_text(node.answer, sk.text, labels,
                                      many.current(self.session), self.renders(node_id))
            return Output(text=text, plain=sk.plain, kind="question", node=node_id,
                          choices=self.choices(node_id, node), layout="list",
                          long_ok=sk.long_ok)
        return question_output(node_id, sk, token_prefix(self.session.id, self.session.asked))

