"""What shapes a step besides the session (``StepContext``), what a step returns
(``StepResult``), and the state one step accumulates while it runs (``RunState``)."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.engine import events
from bot.engine.caches import Skeleton, StepCaches, project_digest
from bot.engine.io import Output, OutputKind
from bot.engine.quick_init import quick_init
from bot.engine.session import FieldValue, Session
from bot.errors import TemplateError
from bot.flows import expressions
from bot.flows.models import (
    Flow,
    is_template_key,
)
from bot.i18n.renderer import Renderer


@quick_init
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

    caches: StepCaches = field(default_factory=StepCaches)
    """Owned by whoever builds the contexts (``Conversations`` shares one for its whole
    lifetime); keyed without personal data (``bot/engine/caches.py``)."""
    project_digest: str | None = None
    """``project_digest(project)`` if the builder already has it (a context is built for
    every turn, the project's settings rarely change); None: worked out when needed."""

    @functools.cached_property
    def project_key(self) -> str:
        return self.project_digest or project_digest(self.project)

    @property
    def renderer_key(self) -> str:
        """The templates' digest: a cache key part standing for their text."""
        return self.renderer.digest


@quick_init
@dataclass(frozen=True)
class StepResult:
    session: Session
    outputs: tuple[Output, ...]
    events: tuple[events.Event, ...]


class RunState:
    """One step's state: the session as it evolves, outputs and events so far, and
    rendering with the person's data."""

    # slots: a step makes one of these and reads its attributes dozens of times
    __slots__ = ("_data", "_skeletons", "ctx", "events", "flow", "now", "original", "outputs",
                 "session")

    def __init__(self, flow: Flow, session: Session, now: dt.datetime, ctx: StepContext):
        self.flow, self.now, self.ctx = flow, now, ctx
        self.original = session
        self.session = session
        self.outputs: list[Output] = []
        self.events: list[events.Event] = []
        self._data: dict[str, Any] | None = None
        self._skeletons: dict[tuple[str, str], Skeleton] = {}

    @property
    def fresh(self) -> bool:
        """Whether ``session`` is this step's own copy (so ``evolve`` may change it in
        place): never the caller's session, which stays as it was."""
        return self.session is not self.original

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
        fixed = self.ctx.renderer.fixed(key, self.session.locale)
        if fixed is not None:  # reads nothing: no data to gather
            return fixed
        data = {**self.data(), **extra}
        try:
            return self.ctx.renderer.render(key, self.session.locale, data)
        except TemplateError as exc:
            # never silent (issue #11): recorded, and the person still gets the English
            # text, or this one with the undefined names left blank
            self.events.append(events.FlowErrored(node, str(exc)))
            return self.ctx.renderer.render_fallback(key, self.session.locale, data)

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

