"""The meaning pass of flow validation: the graph (unknown, unreachable and dead-end
nodes) and the fields (one kind per saved field, known participant fields, expressions
that read only known names). Each problem is reported at the line of its key."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from bot.errors import Problem
from bot.flows import expressions
from bot.flows.models import (
    AskNode,
    EndNode,
    Flow,
    SetNode,
    Switch,
    next_targets,
)
from bot.text.toml_positions import Path as KeyPath
from bot.text.toml_positions import line_for

PARTICIPANT_FIELDS = {"locale", "consent", "preferred_name", "contact_time",
                      "preferred_channel", "payment_preference", "timezone"}


@dataclass
class Doc:
    """A flow file's problems so far, and where its keys are."""

    file: str
    lines: dict[KeyPath, int]
    problems: list[Problem] = field(default_factory=list)

    def add(self, path: Sequence[str | int], message: str) -> None:
        self.problems.append(Problem(self.file, line_for(self.lines, path), message))


def check_graph(flow: Flow, doc: Doc) -> None:
    if flow.start not in flow.nodes:
        doc.add(["start"], f"start node '{flow.start}' does not exist")
    for nid, node in flow.nodes.items():
        _check_targets(nid, node, flow.nodes, doc)
    if doc.problems:
        return  # reachability would only repeat the unknown references as noise
    reachable = _reachable(flow)
    for nid in flow.nodes:
        if nid not in reachable:
            doc.add(["nodes", nid], f"node '{nid}' can never be reached from '{flow.start}'")
    _check_dead_ends(flow, doc, reachable)


def _check_targets(nid: str, node: object, nodes: Mapping[str, object], doc: Doc) -> None:
    """Every node a node may go to (next, each branch of a switch, a timeout) exists."""
    nxt = getattr(node, "next", None)
    if isinstance(nxt, str) and nxt not in nodes:
        doc.add(["nodes", nid, "next"], f"node '{nid}' goes to unknown node '{nxt}'")
    elif isinstance(nxt, Switch):
        for i, cond in enumerate(nxt.when):
            if cond.go not in nodes:
                doc.add(["nodes", nid, "next", "when", i, "go"],
                        f"node '{nid}' goes to unknown node '{cond.go}'")
        if nxt.else_ not in nodes:
            doc.add(["nodes", nid, "next", "else"],
                    f"node '{nid}' goes to unknown node '{nxt.else_}'")
    if isinstance(node, AskNode) and node.timeout and node.timeout.next not in nodes:
        doc.add(["nodes", nid, "timeout", "next"],
                f"node '{nid}' times out to unknown node '{node.timeout.next}'")


def _reachable(flow: Flow) -> set[str]:
    reachable: set[str] = set()
    stack = [flow.start]
    while stack:
        nid = stack.pop()
        if nid in reachable or nid not in flow.nodes:
            continue
        reachable.add(nid)
        stack.extend(next_targets(flow.nodes[nid]))
    return reachable


def _check_dead_ends(flow: Flow, doc: Doc, reachable: set[str]) -> None:
    """Nodes from which no end node can be reached (an endless loop)."""
    nodes = flow.nodes
    finishing = {nid for nid, n in nodes.items() if isinstance(n, EndNode)}
    if not finishing:
        doc.add(["nodes"], "the flow has no end node")
        return
    changed = True
    while changed:
        changed = False
        for nid, node in nodes.items():
            if nid not in finishing and any(t in finishing for t in next_targets(node)):
                finishing.add(nid)
                changed = True
    for nid in sorted(reachable - finishing, key=lambda n: line_for(doc.lines, ["nodes", n])):
        doc.add(["nodes", nid], f"node '{nid}' is a dead end: no path from it reaches an end node")


def check_fields(flow: Flow, doc: Doc) -> None:
    kinds = _saved_kinds(flow, doc)
    for nid, node in flow.nodes.items():
        _check_participant_field(nid, node, doc)
    known = set(kinds) | {n.field for n in flow.nodes.values() if isinstance(n, SetNode)}
    known |= {f"vars.{v}" for v in flow.vars}
    known |= {f"participant.{p}" for p in PARTICIPANT_FIELDS}
    for nid, node in flow.nodes.items():
        for path, source in _expressions_of(nid, node):
            for name in sorted(expressions.names(expressions.parse(source)) - known):
                doc.add(path, f"expression '{source}' uses unknown field '{name}'")


def _saved_kinds(flow: Flow, doc: Doc) -> dict[str, tuple[str, str]]:
    """Each saved field's first node and answer kind; a field saved as two kinds is a
    problem."""
    kinds: dict[str, tuple[str, str]] = {}
    for nid, node in flow.nodes.items():
        if isinstance(node, AskNode) and node.save_as:
            seen = kinds.get(node.save_as)
            if seen and seen[1] != node.answer.kind:
                doc.add(["nodes", nid, "save_as"],
                        f"field '{node.save_as}' is saved as {node.answer.kind} here but as "
                        f"{seen[1]} by node '{seen[0]}'")
            kinds.setdefault(node.save_as, (nid, node.answer.kind))
    return kinds


def _check_participant_field(nid: str, node: object, doc: Doc) -> None:
    field_name = getattr(node, "save_as", None) or getattr(node, "field", None)
    if isinstance(field_name, str) and field_name.startswith("participant."):
        name = field_name.split(".", 1)[1]
        if name not in PARTICIPANT_FIELDS:
            key = "save_as" if isinstance(node, AskNode) else "field"
            doc.add(["nodes", nid, key], f"unknown participant field '{name}' "
                    f"(known: {', '.join(sorted(PARTICIPANT_FIELDS))})")


def _expressions_of(nid: str, node: object) -> list[tuple[list[str | int], str]]:
    exprs: list[tuple[list[str | int], str]] = []
    if isinstance(node, SetNode):
        exprs.append((["nodes", nid, "value"], node.value))
    nxt = getattr(node, "next", None)
    if isinstance(nxt, Switch):
        exprs += [(["nodes", nid, "next", "when", i, "if"], c.if_)
                  for i, c in enumerate(nxt.when)]
    return exprs


