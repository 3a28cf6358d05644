"""Load and validate flow files, reporting ``file:line: message`` for every problem.

Validation happens in three passes, each reporting the line of the offending node or key:
TOML syntax (``tomllib`` gives the line), structure (pydantic, whose error paths we map
back to lines), and meaning (the graph: unknown, unreachable and dead-end nodes; fields
and expressions; templates missing in an enabled locale; SMS length).
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from bot.errors import FlowError, Problem, TemplateError
from bot.flows.checks import Doc, check_fields, check_graph
from bot.flows.migrations import migrate
from bot.flows.models import (
    CURRENT_SCHEMA_VERSION,
    OPTION_KINDS,
    AskNode,
    Flow,
    ScaleAnswer,
    YesNoAnswer,
    is_template_key,
)
from bot.flows.template_names import template_name_problems
from bot.i18n.renderer import Renderer
from bot.text.toml_positions import Path as KeyPath
from bot.text.toml_positions import key_lines

_TOML_LINE = re.compile(r"\(at line (\d+), column \d+\)")


def flow_version(source: str) -> str:
    """A short content hash: sessions stay on the exact text they started with."""
    return hashlib.sha256(source.encode("utf-8")).hexdigest()[:12]


def _data_path(data: Any, loc: Sequence[str | int]) -> list[str | int]:
    """Turn a pydantic error location into a path in the raw data, dropping union tags."""
    path: list[str | int] = []
    current = data
    for part in loc:
        if isinstance(current, dict):
            key = part if part in current else str(part)
            if key in current:
                path.append(key)
                current = current[key]
                continue
            if part in ("if_", "else_") and str(part).rstrip("_") in current:
                path.append(str(part).rstrip("_"))
                current = current[str(part).rstrip("_")]
                continue
        elif isinstance(current, list) and isinstance(part, int) and part < len(current):
            path.append(part)
            current = current[part]
            continue
    return path


def _lookup(data: Any, path: Sequence[str | int]) -> Any:
    for part in path:
        data = data[part]
    return data


def _pydantic_message(err: Any, path: Sequence[str | int]) -> str:
    where = ".".join(str(p) for p in path) or "file"
    kind = err["type"]
    msg = str(err["msg"])
    loc = err["loc"]
    if kind == "missing":
        return f"{where}: missing required key '{loc[-1]}'"
    if kind == "extra_forbidden":
        return f"{where}: unknown key '{loc[-1]}'"
    if kind == "union_tag_invalid":
        expected = err.get("ctx", {}).get("expected_tags", "")
        tag = err.get("ctx", {}).get("discriminator", "type").strip("'")
        return f"{where}: unknown {tag} {err.get('ctx', {}).get('tag')!r} (expected {expected})"
    if kind == "union_tag_not_found":
        tag = err.get("ctx", {}).get("discriminator", "type").strip("'")
        return f"{where}: missing '{tag}'"
    if kind == "string_pattern_mismatch":
        return f"{where}: {err['input']!r} is not a valid name (lowercase letters, digits, _)"
    msg = msg.removeprefix("Value error, ")
    return f"{where}: {msg}"


def parse_flow_source(source: str, file: str) -> Flow:
    """Parse and structurally validate one flow file's text (no graph checks)."""
    flow, doc = _parse(source, file)
    if flow is None:
        raise FlowError(doc.problems)
    return flow


def _parse(source: str, file: str) -> tuple[Flow | None, Doc]:
    try:
        data = tomllib.loads(source)
    except tomllib.TOMLDecodeError as exc:
        m = _TOML_LINE.search(str(exc))
        line = int(m.group(1)) if m else 1
        message = _TOML_LINE.sub("", str(exc)).strip()
        return None, Doc(file, {}, [Problem(file, line, f"TOML syntax: {message}")])
    doc = Doc(file, key_lines(source))
    version = data.get("schema_version")
    if version is None:
        doc.add([], "missing schema_version (write schema_version = 1 at the top)")
        return None, doc
    if not isinstance(version, int) or version > CURRENT_SCHEMA_VERSION:
        doc.add(["schema_version"], f"schema_version {version!r} is not supported by this "
                f"Parley (it reads up to {CURRENT_SCHEMA_VERSION}); upgrade Parley")
        return None, doc
    data = migrate(data)
    data["version"] = flow_version(source)
    try:
        return Flow.model_validate(data), doc
    except ValidationError as exc:
        for err in exc.errors():
            path = _data_path(data, err["loc"])
            if err["type"] in ("union_tag_invalid", "literal_error"):
                tag = str(err.get("ctx", {}).get("discriminator", "")).strip("'")
                node = _lookup(data, path)
                if isinstance(node, dict) and tag in node:
                    path.append(tag)
            doc.add(path, _pydantic_message(err, path))
        doc.problems.sort(key=lambda p: p.line)
        return None, doc


def template_keys(flow: Flow) -> list[tuple[list[str | int], str]]:
    """Every template key a flow refers to, with the path of the key that names it."""
    keys: list[tuple[list[str | int], str]] = []
    for nid, node in flow.nodes.items():
        text = getattr(node, "text", None)
        if isinstance(text, str):
            keys.append((["nodes", nid, "text"], text))
        if isinstance(node, AskNode):
            keys += _answer_keys(nid, node.answer)
    return keys


def _answer_keys(nid: str, answer: object) -> list[tuple[list[str | int], str]]:
    """The template keys an answer's labels name (options, scale points, yes/no)."""
    if isinstance(answer, OPTION_KINDS):  # choice, multi, ranking, allocate
        return [(["nodes", nid, "answer", "options", i, "label"], opt.label)
                for i, opt in enumerate(answer.options) if is_template_key(opt.label)]
    if isinstance(answer, ScaleAnswer):
        return [(["nodes", nid, "answer", "labels", str(point)], label)
                for point, label in answer.labels.items() if is_template_key(label)]
    if isinstance(answer, YesNoAnswer):
        return [(["nodes", nid, "answer"], answer.yes_label),
                (["nodes", nid, "answer"], answer.no_label)]
    return []


def _check_templates(flow: Flow, doc: Doc, renderer: Renderer, locales: Iterable[str]) -> None:
    locales = list(locales)
    for path, key in template_keys(flow):
        for locale in locales:
            if not renderer.has(key, locale):
                doc.add(path, f"template '{key}' is missing for locale '{locale}'")
    # names a template uses that the engine will not provide (issue #11: a message that
    # used one was silently not sent)
    used = [(str(path[1]), key) for path, key in template_keys(flow)]
    doc.problems.extend(template_name_problems(flow, used, renderer, locales))


def check_flow(
    flow: Flow, doc_lines: dict[KeyPath, int], file: str,
    renderer: Renderer | None = None, locales: Iterable[str] = (),
) -> list[Problem]:
    """Graph, field and template checks on an already parsed flow."""
    doc = Doc(file, doc_lines)
    check_graph(flow, doc)
    check_fields(flow, doc)
    if renderer is not None:
        _check_templates(flow, doc, renderer, list(locales))
    return doc.problems


def validate_source(
    source: str, file: str, renderer: Renderer | None = None, locales: Iterable[str] = ()
) -> tuple[Flow | None, list[Problem]]:
    """Every problem in one flow file's text, sorted by line."""
    flow, doc = _parse(source, file)
    if flow is None:
        return None, doc.problems
    problems = check_flow(flow, doc.lines, file, renderer, locales)
    problems.sort(key=lambda p: p.line)
    return (flow if not problems else None), problems


def load_flow_file(
    path: Path, renderer: Renderer | None = None, locales: Iterable[str] = ()
) -> Flow:
    """Load one flow file or raise FlowError listing every problem."""
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise FlowError([Problem(str(path), 1, f"cannot read the file: {exc}")]) from exc
    flow, problems = validate_source(source, str(path), renderer, locales)
    if flow is None:
        raise FlowError(problems)
    return flow


class FlowLibrary:
    """The current version of every flow, plus any older versions sessions still need."""

    def __init__(self, flows: Iterable[Flow] = (), sources: dict[str, str] | None = None) -> None:
        self._current: dict[str, Flow] = {}
        self._versions: dict[tuple[str, str], Flow] = {}
        self.sources: dict[tuple[str, str], str] = {}
        for flow in flows:
            self.add(flow, (sources or {}).get(flow.id, ""))

    def add(self, flow: Flow, source: str = "") -> None:
        self._current[flow.id] = flow
        self._versions[(flow.id, flow.version)] = flow
        if source:
            self.sources[(flow.id, flow.version)] = source

    def add_version(self, source: str, file: str = "<store>") -> Flow:
        """Register an older version (from the store) without making it current."""
        flow = parse_flow_source(source, file)
        self._versions[(flow.id, flow.version)] = flow
        self.sources[(flow.id, flow.version)] = source
        return flow

    def get(self, flow_id: str, version: str | None = None) -> Flow:
        if version is not None and (flow_id, version) in self._versions:
            return self._versions[(flow_id, version)]
        if flow_id not in self._current:
            raise KeyError(f"no flow called '{flow_id}'")
        if version is not None and self._current[flow_id].version != version:
            raise KeyError(f"flow '{flow_id}' version {version} is not loaded")
        return self._current[flow_id]

    def has_version(self, flow_id: str, version: str) -> bool:
        return (flow_id, version) in self._versions

    def __contains__(self, flow_id: object) -> bool:
        return flow_id in self._current

    @property
    def ids(self) -> list[str]:
        return sorted(self._current)

    @classmethod
    def from_dir(
        cls, folder: Path, renderer: Renderer | None = None, locales: Iterable[str] = ()
    ) -> FlowLibrary:
        """Load every ``*.toml`` in ``folder``; raise FlowError with all problems at once."""
        problems: list[Problem] = []
        library = cls()
        seen: dict[str, str] = {}
        locales = list(locales)
        if not folder.is_dir():
            raise FlowError([Problem(str(folder), 1, "flows folder not found")])
        for path in sorted(folder.glob("*.toml")):
            try:
                flow = load_flow_file(path, renderer, locales)
            except FlowError as exc:
                problems.extend(exc.problems)
                continue
            if flow.id in seen:
                line = key_lines(path.read_text(encoding="utf-8")).get(("id",), 1)
                problems.append(Problem(str(path), line,
                                        f"flow id '{flow.id}' is already used by {seen[flow.id]}"))
                continue
            seen[flow.id] = str(path)
            library.add(flow, path.read_text(encoding="utf-8"))
        if problems:
            raise FlowError(problems)
        return library


def safe_render(renderer: Renderer, key: str, locale: str, data: dict[str, Any]) -> str:
    """Render for validation purposes; TemplateError becomes the message."""
    try:
        return renderer.render(key, locale, data)
    except TemplateError as exc:
        return f"<{exc}>"
