"""``flows validate``: every name a flow's templates use must exist where they render.

A template that uses an undefined name (``{{ age }}`` where ``{{ fields.age }}`` was
meant) fails under ``StrictUndefined`` at run time; before issue #11 that message was
silently not sent. So validation renders nothing but reads each template's syntax tree,
in every enabled locale, and reports names the engine does not provide.

What a flow's own templates (node texts, option and scale labels) can use — see
``bot.engine.step.Run.data``: ``fields.<name>`` for a field the flow saves,
``vars.<name>``, ``participant.<name>`` and ``project.<name>``; plus jinja2's globals
and names the template sets itself (``{% for x in … %}``).
"""

from __future__ import annotations

from collections.abc import Iterable

from jinja2 import meta, nodes
from jinja2.sandbox import SandboxedEnvironment

from bot.errors import Problem
from bot.flows.models import AskNode, Flow, SetNode
from bot.i18n.renderer import Renderer

PROVIDED = frozenset({"fields", "vars", "participant", "project"})
DICT_METHODS = frozenset({"get", "items", "keys", "values"})
_ENV = SandboxedEnvironment()


def flow_fields(flow: Flow) -> set[str]:
    """The names under ``fields.`` in this flow's templates (participant.* go elsewhere)."""
    names = {n.save_as for n in flow.nodes.values() if isinstance(n, AskNode) and n.save_as}
    names |= {n.field for n in flow.nodes.values() if isinstance(n, SetNode)}
    return {n for n in names if not n.startswith("participant.")}


def undefined_names(source: str, fields: set[str]) -> list[str]:
    """Names in ``source`` that would be undefined when rendered for this flow."""
    tree = _ENV.parse(source)
    found = sorted(n for n in meta.find_undeclared_variables(tree)
                   if n not in PROVIDED and n not in _ENV.globals)
    for node in tree.find_all(nodes.Getattr):
        if _on_fields(node) and node.attr not in fields and node.attr not in DICT_METHODS:
            found.append(f"fields.{node.attr}")
    for call in tree.find_all(nodes.Call):  # fields.get('name'): the name must exist too
        getter = call.node
        if isinstance(getter, nodes.Getattr) and _on_fields(getter) and getter.attr == "get" \
                and call.args and isinstance(call.args[0], nodes.Const) \
                and isinstance(call.args[0].value, str) and call.args[0].value not in fields:
            found.append(f"fields.{call.args[0].value}")
    return found


def _on_fields(node: nodes.Getattr) -> bool:
    return isinstance(node.node, nodes.Name) and node.node.name == "fields"


def _hint(name: str, fields: set[str]) -> str:
    if name.startswith("fields."):
        known = ", ".join(sorted(fields)) or "none"
        return f"the flow saves no field '{name[7:]}' (its fields: {known})"
    if name in fields:
        return f"write fields.{name}"
    return "use fields.<name>, vars.<name>, participant.<name> or project.<name>"


def template_name_problems(flow: Flow, keys: Iterable[tuple[str, str]], renderer: Renderer,
                           locales: Iterable[str]) -> list[Problem]:
    """One problem per undefined name, at the template's ``file:line``. ``keys`` are
    ``(node id, template key)`` pairs the flow renders."""
    fields = flow_fields(flow)
    problems: list[Problem] = []
    seen: set[tuple[str, str, str]] = set()
    for node_id, key in keys:
        for locale in locales:
            source = renderer.source(key, locale)
            if source is None:
                continue  # a missing template is reported by the template check
            for name in undefined_names(source, fields):
                if (key, locale, name) in seen:
                    continue
                seen.add((key, locale, name))
                file, line = renderer.origin(key, locale)
                problems.append(Problem(
                    file, line, f"template '{key}' ({locale}, used by flow '{flow.id}' node "
                    f"'{node_id}'): '{name}' is undefined; {_hint(name, fields)}"))
    return problems
