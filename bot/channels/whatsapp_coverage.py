"""Which business-initiated WhatsApp messages of a flow have no approved template.

Outside WhatsApp's 24-hour window only templates may be sent (``whatsapp_transport``).
The messages a round sends on Parley's own initiative are: the introduction and
consent for someone who never agreed, the flow's first message (its ``say`` nodes and
first question travel as one message, ``bot.conversations.bundle``), reminders, and what a
no-reply timeout sends. For each, the template keys that would carry it are the ones
the transport tries (``candidate_keys``); this module lists those with none configured,
so ``flows validate`` and ``rounds create --dry-run`` can say so *before* a round goes
out rather than at send time.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.config import Config
from bot.flows.models import AskNode, Flow, SayNode


@dataclass(frozen=True)
class Missing:
    """A business-initiated message and the keys any one of which would cover it."""

    flow_id: str
    node: str
    what: str
    keys: tuple[str, ...]

    def __str__(self) -> str:
        return (f"{self.what} has no WhatsApp template: add one of "
                f"{', '.join(repr(k) for k in self.keys)} to [whatsapp.templates]")


def opening_nodes(flow: Flow, node: str) -> list[str]:
    """The nodes whose texts go together from ``node``: ``say`` nodes up to the first
    question (or whatever else stops a plain chain)."""
    chain: list[str] = []
    current: str | None = node
    while current is not None and current in flow.nodes and current not in chain:
        chain.append(current)
        found = flow.nodes[current]
        if not isinstance(found, SayNode) or not isinstance(found.next, str):
            break
        current = found.next
    return chain


def _keys(flow: Flow, nodes: list[str], extra: tuple[str, ...] = ()) -> tuple[str, ...]:
    return (*extra, *(f"{flow.id}.{n}" for n in nodes), f"{flow.id}.invite")


def uncovered(flow: Flow, config: Config, *, consent: Flow | None = None,
              reminders: bool = True) -> list[Missing]:
    """The business-initiated messages of a round of ``flow`` without a template;
    ``consent``: the flow that follows the introduction for people who never agreed."""
    templates = config.whatsapp.templates
    needed: list[Missing] = []
    start = opening_nodes(flow, flow.start)
    needed.append(Missing(flow.id, flow.start, f"{flow.id}: its first message",
                          _keys(flow, start)))
    if consent is not None and consent.id != flow.id:
        first = opening_nodes(consent, consent.start)
        needed.append(Missing(consent.id, consent.start,
                              "the introduction (for people who never agreed)",
                              _keys(consent, first, ("system.intro",))))
    for node_id, node in flow.nodes.items():
        if not isinstance(node, AskNode):
            continue
        if reminders and not any(m.what.endswith("reminder") for m in needed):
            # a question-specific template also works; the general one covers them all
            needed.append(Missing(flow.id, node_id, f"{flow.id}: a reminder",
                                  (f"{flow.id}.reminder", f"{flow.id}.invite")))
        if node.timeout is not None:
            target = opening_nodes(flow, node.timeout.next)
            needed.append(Missing(flow.id, node.timeout.next,
                                  f"{flow.id}.{node.timeout.next} (sent when "
                                  f"{node_id} has no reply)", _keys(flow, target)))
    return [m for m in needed if not any(k in templates for k in m.keys)]


def for_round(config: Config, flows: dict[str, Flow], flow_id: str, *,
              reminders: bool) -> list[Missing]:
    """``uncovered`` for a round of ``flow_id`` (``flows``: every flow by id), or nothing
    when WhatsApp is off."""
    if not config.whatsapp.from_number or flow_id not in flows:
        return []
    return uncovered(flows[flow_id], config, consent=first_contact(config, flows),
                     reminders=reminders)


def first_contact(config: Config, flows: dict[str, Flow]) -> Flow | None:
    """The flow whose first message follows the introduction: the enrolment pathway's
    first (``language`` only when several locales are on)."""
    for flow_id in config.enrolment.pathway:
        if flow_id == "language" and len(config.project.locales) < 2:
            continue
        if flow_id in flows:
            return flows[flow_id]
    return None
