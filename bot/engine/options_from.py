"""Options that arrive with the flow's variables (``options_from = "vars.options"``).

A vote on participants' own suggestions, or on a budget's projects, cannot list its
options in the flow file: the round passes them as a JSON list of ``{"value", "label"}``
(optionally ``"cost"``). ``resolve`` returns the flow with those options filled in; given
the owner's ``StepCaches`` it returns the same object for the same variables (keyed by a
digest of them), so the engine's other caches keep working.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from bot.engine.caches import StepCaches, digest
from bot.engine.io import Begin, Input
from bot.flows.models import AskNode, Flow, is_template_key
from bot.flows.models_many import MAX_OPTIONS, AllocateAnswer, MultiAnswer, RankingAnswer
from bot.flows.option import Option


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
        cost = item.get("cost")
        if label and value:
            out.append(Option.model_construct(
                value=value, label=label, synonyms=(),
                cost=cost if isinstance(cost, int) and cost >= 0 else None))
    return tuple(out[:MAX_OPTIONS])


def _dynamic(flow: Flow, caches: StepCaches | None = None) -> tuple[str, ...]:
    """The questions of ``flow`` whose options or limit come with the round, found once
    per flow version when there are caches (``step`` asks on every input)."""
    key = (flow.id, flow.version)
    if caches is not None and (hit := caches.dynamic.get(key)) is not None:
        return hit
    found = tuple(nid for nid, node in flow.nodes.items() if isinstance(node, AskNode)
                  and isinstance(node.answer, MultiAnswer | RankingAnswer | AllocateAnswer)
                  and (node.answer.options_from is not None
                       or getattr(node.answer, "limit_from", None) is not None))
    return found if caches is None else StepCaches.keep(caches.dynamic, key, found)


def has_dynamic(flow: Flow, caches: StepCaches | None = None) -> bool:
    return bool(_dynamic(flow, caches))


def _names(node: AskNode) -> tuple[str, ...]:
    """The variables a question reads its options and its limit from."""
    return tuple(getattr(node.answer, attr).removeprefix("vars.")
                 for attr in ("options_from", "limit_from")
                 if getattr(node.answer, attr, None) is not None)


def _limit(raw: str | None) -> dict[str, Any]:
    """``{"limit", "unit"}`` from ``"10000"`` or ``{"total": 10000, "unit": "GBP"}``."""
    try:
        found: Any = json.loads(raw or "null")
    except ValueError:
        return {}
    if isinstance(found, int) and found > 0:
        return {"limit": found}
    if isinstance(found, dict) and isinstance(found.get("total"), int) and found["total"] > 0:
        return {"limit": found["total"], "unit": str(found.get("unit") or "")[:16]}
    return {}


def _filled(node: AskNode, vars: Mapping[str, str]) -> AskNode:
    answer = node.answer
    assert isinstance(answer, MultiAnswer | RankingAnswer | AllocateAnswer)
    update: dict[str, Any] = {}
    if isinstance(answer, MultiAnswer) and answer.limit_from is not None:
        update.update(_limit(vars.get(answer.limit_from.removeprefix("vars."))))
    if answer.options_from is None:
        return node.model_copy(update={"answer": answer.model_copy(update=update)})
    options = _options(vars.get(answer.options_from.removeprefix("vars.")))
    update["options"] = options
    if isinstance(answer, RankingAnswer) and answer.top is not None:
        update["top"] = min(answer.top, max(len(options), 1))
    if isinstance(answer, MultiAnswer):
        update["min"] = min(answer.min, max(len(options), 1))
    return node.model_copy(update={"answer": answer.model_copy(update=update)})


def resolve(flow: Flow, vars: Mapping[str, str], caches: StepCaches | None = None) -> Flow:
    """``flow`` with every ``options_from`` question's options taken from ``vars``."""
    dynamic = _dynamic(flow, caches)
    if not dynamic:
        return flow
    names = sorted({name for nid in dynamic
                    for name in _names(flow.nodes[nid])})  # type: ignore[arg-type]
    key = (flow.id, flow.version, digest(vars.get(name) for name in names))
    if caches is not None and (hit := caches.resolved.get(key)) is not None:
        return hit
    nodes = dict(flow.nodes)
    for nid in dynamic:
        node = flow.nodes[nid]
        assert isinstance(node, AskNode)
        nodes[nid] = _filled(node, vars)
    filled = flow.model_copy(update={"nodes": nodes})
    return filled if caches is None else StepCaches.keep(caches.resolved, key, filled)


def samples(flow: Flow) -> dict[str, str]:
    """Stand-in options (and a budget) for ``parley simulate``/``chat`` of a flow whose
    options come with the round: three options with costs, a total of 100."""
    out: dict[str, str] = {}
    options = [{"value": f"o{n}", "label": f"Sample option {n}", "cost": 30 + 10 * n}
               for n in range(1, 4)]
    for nid in _dynamic(flow):
        node = flow.nodes[nid]
        assert isinstance(node, AskNode)
        answer = node.answer
        source = getattr(answer, "options_from", None)
        if isinstance(source, str):
            out[source.removeprefix("vars.")] = json.dumps(options)
        limit = getattr(answer, "limit_from", None)
        if isinstance(limit, str):
            out[limit.removeprefix("vars.")] = json.dumps({"total": 100, "unit": "points"})
    return out


def for_input(flow: Flow, vars: Mapping[str, str], input: Input,
              caches: StepCaches | None = None) -> Flow:
    """``resolve`` for one step: a flow without such questions is returned as it is, and
    a beginning brings its own variables."""
    dynamic = None if caches is None else caches.dynamic.get((flow.id, flow.version))
    if dynamic is None:
        dynamic = _dynamic(flow, caches)
    if not dynamic:  # the usual case, in one lookup: ``step`` asks on every input
        return flow
    extra = input.vars if isinstance(input, Begin) else {}
    return resolve(flow, {**vars, **extra}, caches)
