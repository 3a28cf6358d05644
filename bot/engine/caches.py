"""What a step may reuse from earlier steps, owned by whoever builds the
``StepContext``s (``Conversations``, for the runtime's lifetime).

Every key is made of versions, names and digests, never of a person's data: the
templates' digest (``Renderer.digest``, so a changed template is never served stale), the
flow's id and version, the node id, the locale and a digest of the project's settings.
A question whose text reads someone's name or answers is never stored here (see
``questions.Questions.skeleton``), so erasing a person leaves nothing in these tables to forget.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from bot.engine.session import FieldValue
from bot.flows.models import AskNode, EndNode, Flow, SayNode

K = TypeVar("K")
V = TypeVar("V")

LIMIT = 10_000
"""Entries per table: a long-running process with many flow versions starts over
rather than grow without bound."""


@dataclass(frozen=True)
class Skeleton:
    """Everything about a question except its button tokens."""

    text: str
    plain: str
    entries: tuple[tuple[str, str, FieldValue], ...]
    layout: str
    scale_labels: dict[int, str]
    long_ok: bool
    buttons: tuple[tuple[str, str, FieldValue, str], ...]


@dataclass(frozen=True, slots=True)
class Stretch:
    """Messages with fixed next nodes, then the question or end they lead to: what a
    step passes through without reading or changing anyone's answers."""

    says: tuple[tuple[str, SayNode], ...]
    stop_id: str
    stop: AskNode | EndNode


@dataclass(frozen=True, slots=True)
class ReplyPlan:
    """How a valid answer to one question of one flow version goes on; for a flow's
    start (``node`` None), how the flow begins (``bot/engine/reply_plans.py``)."""

    node_id: str
    node: AskNode | None
    stretch: Stretch


SkeletonKey = tuple[str, str, str, str, str, str]
"""(template digest, flow id, flow version, node id, locale, project digest)."""
NodeKey = tuple[str, str, str]
"""(flow id, flow version, node id)."""


@dataclass
class StepCaches:
    """The engine's memo tables. Pass one to every ``StepContext`` of one owner; a
    context built without one gets its own, which lives as long as the context."""

    skeletons: dict[SkeletonKey, Skeleton] = field(default_factory=dict)
    reads_data: dict[tuple[str, str, str, str, str], bool] = field(default_factory=dict)
    label_keys: dict[NodeKey, tuple[str, ...]] = field(default_factory=dict)
    dynamic: dict[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)
    """(flow id, version) → the questions whose options come with the round."""
    resolved: dict[tuple[str, str, str], Flow] = field(default_factory=dict)
    """(flow id, version, digest of the round's variables) → the flow with them filled."""
    plans: dict[NodeKey, ReplyPlan | None] = field(default_factory=dict)
    """(flow id, version, node id) → how a valid answer to that question goes on
    (``bot/engine/reply_plans.py``); None: by the general step."""

    @staticmethod
    def keep(table: dict[K, V], key: K, value: V) -> V:
        if len(table) >= LIMIT:
            table.clear()
        table[key] = value
        return value

    def clear(self) -> None:
        self.skeletons.clear()
        self.reads_data.clear()
        self.label_keys.clear()
        self.dynamic.clear()
        self.resolved.clear()
        self.plans.clear()


def project_digest(project: Mapping[str, str]) -> str:
    """A short fixed-size stand-in for the project's settings in cache keys."""
    return digest(f"{k}\x1e{v}" for k, v in sorted(project.items()))


def digest(parts: Iterable[str | None]) -> str:
    """A short fixed-size stand-in for some values in a cache key (so the key holds no
    text anyone wrote)."""
    text = "\x1f".join("\x00" if p is None else p for p in parts)
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=12).hexdigest()
