"""Does every message of a flow fit one SMS segment? Basic phones and pay-as-you-go
credit make every extra segment a real cost to the participant and to the project.

- ``message_costs``: each node's message as it would be sent by SMS, with its segments;
- ``main_path`` / ``completion_segments``: what one person's full completion costs, used
  by ``parley flows cost`` and by rounds to estimate a round before it is sent;
- ``sms_problems`` / ``system_problems``: messages over budget that do not say why.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from jinja2 import Environment, meta

from bot.engine.context import StepContext
from bot.engine.options_from import samples as option_samples
from bot.engine.session import Session
from bot.engine.step import preview
from bot.errors import Problem, TemplateError
from bot.flows.models import EndNode, Flow, Switch
from bot.i18n.renderer import Renderer
from bot.text.render import sms_bodies
from bot.text.toml_positions import Path as KeyPath
from bot.text.toml_positions import key_lines, line_for

_EPOCH = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
SYSTEM_SAMPLE: dict[str, Any] = {
    "balance": 12, "credit_unit": "£", "min": 0, "max": 10, "count": 4, "skip": True,
    "labels": {0: "not at all", 10: "completely"},
}
"""Values for the variables system messages may use, as the engine passes them. Any
other variable a template reads gets a placeholder such as ``<answer>``."""


class _Placeholder(str):
    """Stands in for a value we have no sample of; ``<x>.y`` renders as ``<x.y>``."""

    def __getattr__(self, name: str) -> _Placeholder:
        if name.startswith("_"):
            raise AttributeError(name)
        return _Placeholder(f"{self[:-1]}.{name}>")

Cost = tuple[str, str, int, str]


def message_costs(flow: Flow, renderer: Renderer, locale: str, project: Mapping[str, str],
                  vars: Mapping[str, str] | None = None) -> list[Cost]:
    """``(node, encoding, segments, body)`` for every node that sends a message, rendered
    with ``vars`` (default: a sample value per flow variable). A node whose flow allows a
    long text (``sms_long``) costs the segments of all its ``(1/n)`` parts."""
    values = {name: f"<{name}>" for name, spec in flow.vars.items() if spec.required}
    values.update(option_samples(flow))  # options that come with the round: three samples
    values.update(vars or {})
    session = Session(id="preview", participant_id="preview", flow_id=flow.id,
                      flow_version=flow.version, node=flow.start, status="active",
                      locale=locale, started_at=_EPOCH, updated_at=_EPOCH, vars=values)
    ctx = StepContext(renderer=renderer, project=project)
    out = []
    for node_id, node in flow.nodes.items():
        output = preview(flow, session, node_id, _EPOCH, ctx)
        if output is None:
            continue
        bodies = sms_bodies({"plain": output.plain, "long_ok": node.sms_long is not None})
        out.append((node_id, bodies[0].encoding, sum(b.segments for b in bodies),
                    "\n".join(b.text for b in bodies)))
    return out


def main_path(flow: Flow) -> list[str]:
    """Node ids from the start to an end node, taking each ``next`` (the ``else`` of a
    branch) and never a no-reply timeout: what someone who answers everything sees."""
    path: list[str] = []
    node_id: str | None = flow.start
    while node_id is not None and node_id not in path:
        path.append(node_id)
        node = flow.nodes[node_id]
        if isinstance(node, EndNode):
            break
        nxt = node.next
        node_id = nxt.else_ if isinstance(nxt, Switch) else nxt
    return path


def completion_segments(flow: Flow, renderer: Renderer, locale: str,
                        project: Mapping[str, str],
                        vars: Mapping[str, str] | None = None) -> int:
    """SMS segments one person receives for a full completion along ``main_path``
    (valid answers, no reprompts, no reminders)."""
    costs = {node: segments for node, _, segments, _ in
             message_costs(flow, renderer, locale, project, vars)}
    return sum(costs.get(node_id, 0) for node_id in main_path(flow))


def sms_problems(flow: Flow, file: str, lines: dict[KeyPath, int], renderer: Renderer,
                 locale: str, project: Mapping[str, str], *, max_segments: int = 1,
                 require_gsm: bool = False) -> list[Problem]:
    """Messages over ``max_segments`` (or not GSM-7, when required) whose node does not
    say why (``sms_long``)."""
    problems = []
    for node_id, encoding, segments, _body in message_costs(flow, renderer, locale, project):
        if flow.nodes[node_id].sms_long is not None:
            continue
        if segments > max_segments or (require_gsm and encoding != "GSM-7"):
            problems.append(Problem(file, line_for(lines, ["nodes", node_id]),
                                    f"node '{node_id}' is {segments} SMS segment(s) "
                                    f"({encoding}) in '{locale}'; shorten it or say why "
                                    "in sms_long"))
    return problems


def system_costs(templates_dir: Path, renderer: Renderer, locale: str,
                 project: Mapping[str, str]) -> list[Cost]:
    """``(key, encoding, segments, body)`` for every message in
    ``templates/<locale>/system.toml`` (or the default locale's), with sample data."""
    found = renderer.resolve_locale("system.help", locale) or renderer.default_locale
    table = tomllib.loads((templates_dir / found / "system.toml").read_text(encoding="utf-8"))
    data = {"project": dict(project), "participant": {}, "fields": {}, "vars": {},
            **SYSTEM_SAMPLE}
    reads = Environment()
    out = []
    for name, source in table.items():
        key = f"system.{name}"
        wanted = meta.find_undeclared_variables(reads.parse(str(source)))
        sample = {**{v: _Placeholder(f"<{v}>") for v in wanted}, **data}
        try:
            text = renderer.render(key, locale, sample)
        except TemplateError as exc:  # a variable SYSTEM_SAMPLE does not know yet
            out.append((key, "?", 0, str(exc)))
            continue
        body = sms_bodies({"plain": text})[0]
        out.append((key, body.encoding, body.segments, body.text))
    return out


def system_problems(templates_dir: Path, renderer: Renderer, locale: str,
                    project: Mapping[str, str], *, max_segments: int = 1,
                    require_gsm: bool = False, skip: Collection[str] = ()) -> list[Problem]:
    """System messages over budget, pointing at their line in system.toml; ``skip``
    names keys never sent by SMS (Telegram's button labels, say)."""
    file = templates_dir / locale / "system.toml"
    lines = key_lines(file.read_text(encoding="utf-8")) if file.is_file() else {}
    problems = []
    for key, encoding, segments, body in system_costs(templates_dir, renderer, locale,
                                                      project):
        if key in skip:
            continue
        line = line_for(lines, [key.removeprefix("system.")])
        if encoding == "?":
            problems.append(Problem(str(file), line, f"{key} cannot be rendered with sample "
                                    f"data ({body}); add a value to SYSTEM_SAMPLE"))
        elif segments > max_segments or (require_gsm and encoding != "GSM-7"):
            problems.append(Problem(str(file), line, f"{key} is {segments} SMS segment(s) "
                                    f"({encoding}) in '{locale}'"))
    return problems
