"""Does every message of a flow fit one SMS segment? Basic phones and pay-as-you-go
credit make every extra segment a real cost to the participant and to the project."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from bot.channels.render import sms_bodies
from bot.engine.session import Session
from bot.engine.step import StepContext, preview
from bot.errors import Problem
from bot.flows.models import Flow
from bot.flows.toml_positions import Path as KeyPath
from bot.flows.toml_positions import line_for
from bot.i18n.renderer import Renderer

_EPOCH = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def message_costs(flow: Flow, renderer: Renderer, locale: str,
                  project: Mapping[str, str]) -> list[tuple[str, str, int, str]]:
    """``(node, encoding, segments, body)`` for every node that sends a message,
    rendered with sample values for the flow's variables."""
    sample = {name: f"<{name}>" for name in flow.vars}
    session = Session(id="preview", participant_id="preview", flow_id=flow.id,
                      flow_version=flow.version, node=flow.start, status="active",
                      locale=locale, started_at=_EPOCH, updated_at=_EPOCH, vars=sample)
    ctx = StepContext(renderer=renderer, project=project)
    out = []
    for node_id in flow.nodes:
        output = preview(flow, session, node_id, _EPOCH, ctx)
        if output is None:
            continue
        payload = {"plain": output.plain, "long_ok": False}
        body = sms_bodies(payload)[0]
        out.append((node_id, body.encoding, body.segments, body.text))
    return out


def sms_problems(flow: Flow, file: str, lines: dict[KeyPath, int], renderer: Renderer,
                 locale: str, project: Mapping[str, str]) -> list[Problem]:
    """Messages over one segment whose node does not say why (``sms_long``)."""
    problems = []
    for node_id, encoding, segments, _body in message_costs(flow, renderer, locale, project):
        if segments > 1 and flow.nodes[node_id].sms_long is None:
            problems.append(Problem(file, line_for(lines, ["nodes", node_id]),
                                    f"node '{node_id}' is {segments} SMS segments ({encoding}) "
                                    f"in '{locale}'; shorten it or say why in sms_long"))
    return problems
