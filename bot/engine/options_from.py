"""Options that arrive with the flow's variables (``options_from = "vars.options"``).

A vote on participants' own suggestions, or on a budget's projects, cannot list its
options in the flow file: the round passes them as a JSON list of ``{"value", "label"}``
(optionally ``"cost"``). ``resolve`` returns the flow with those options filled in, the
same object for the same variables, so the engine's caches keep working.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from bot.flows.models import AskNode, Flow, is_template_key
from bot.flows.models_many import MAX_OPTIONS, AllocateAnswer, MultiAnswer, RankingAnswer
from bot.flows.option import Option

_CACHE: dict[tuple[int, tuple[str | None, ...]], tuple[Flow, Flow]] = {}
_LIMIT = 512


def encode(options: list[tuple[str, str]]) -> str:
    """The ``vars`` value for ``options_from``: ``[(value, label), …]`` as JSON."""
    return json.dumps([{"value": v, "label": label} for v, label in options],
                      ensure_ascii=False)


def _options(raw: str | None) -> tuple[Option, ...]:
    try:
        items: Any = json.loads(raw or "[]")
    except ValueError:
        return ()
    out: list[Option] = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        label = str(item.get("label") or "").strip()
        if is_template_key(label):  # participants' words are never looked up as keys
            label = label.replace(".", ". ")
        value = str(item.get("value") or "")
        if label and value:
            out.append(Option.model_construct(value=value, label=label, synonyms=()))
    return tuple(out[:MAX_OPTIONS])


def _dynamic(flow: Flow) -> list[str]:
    return [nid for nid, node in flow.nodes.items() if isinstance(node, AskNode)
            and isinstance(node.answer, MultiAnswer | RankingAnswer | AllocateAnswer)
            and node.answer.options_from is not None]


def _filled(node: AskNode, raw: str | None) -> AskNode:
    answer = node.answer
    assert isinstance(answer, MultiAnswer | RankingAnswer | AllocateAnswer)
    options = _options(raw)
    update: dict[str, Any] = {"options": options}
    if isinstance(answer, RankingAnswer) and answer.top is not None:
        update["top"] = min(answer.top, max(len(options), 1))
    if isinstance(answer, MultiAnswer):
        update["min"] = min(answer.min, max(len(options), 1))
    return node.model_copy(update={"answer": answer.model_copy(update=update)})


def resolve(flow: Flow, vars: Mapping[str, str]) -> Flow:
    """``flow`` with every ``options_from`` question's options taken from ``vars``."""
    dynamic = _dynamic(flow)
    if not dynamic:
        return flow
    names = [flow.nodes[nid].answer.options_from.removeprefix("vars.")  # type: ignore[union-attr]
             for nid in dynamic]
    key = (id(flow), tuple(vars.get(name) for name in names))
    hit = _CACHE.get(key)
    if hit is not None and hit[0] is flow:
        return hit[1]
    nodes = dict(flow.nodes)
    for nid, name in zip(dynamic, names, strict=True):
        node = flow.nodes[nid]
        assert isinstance(node, AskNode)
        nodes[nid] = _filled(node, vars.get(name))
    filled = flow.model_copy(update={"nodes": nodes})
    if len(_CACHE) >= _LIMIT:
        _CACHE.clear()
    _CACHE[key] = (flow, filled)
    return filled
