"""Flow file schema migrations: each upgrades the raw TOML data by one version.

A flow file records the ``schema_version`` it was written for. When the format changes we
add a function here rather than breaking every coordinator's files; the loader applies
them in order before validation, so old files keep working and errors still point at
the lines the coordinator wrote.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.flows.models import CURRENT_SCHEMA_VERSION

Raw = dict[str, Any]


def _v0_to_v1(data: Raw) -> Raw:
    """Version 0 (the prototype) called a node's text ``prompt`` and listed choice options
    as plain strings; version 1 uses ``text`` and ``{ value, label }`` tables."""
    nodes = data.get("nodes")
    if isinstance(nodes, dict):
        for node in nodes.values():
            if not isinstance(node, dict):
                continue
            if "prompt" in node and "text" not in node:
                node["text"] = node.pop("prompt")
            answer = node.get("answer")
            if isinstance(answer, dict) and answer.get("kind") == "choice":
                options = answer.get("options")
                if isinstance(options, list) and all(isinstance(o, str) for o in options):
                    answer["options"] = [
                        {"value": o.lower().replace(" ", "_")[:32], "label": o} for o in options
                    ]
    data["schema_version"] = 1
    return data


MIGRATIONS: dict[int, Callable[[Raw], Raw]] = {0: _v0_to_v1}


def migrate(data: Raw) -> Raw:
    """Upgrade ``data`` to the current schema version, one step at a time."""
    version = data.get("schema_version")
    while isinstance(version, int) and version < CURRENT_SCHEMA_VERSION and version in MIGRATIONS:
        data = MIGRATIONS[version](data)
        version = data.get("schema_version")
    return data
