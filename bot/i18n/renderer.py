"""The pure ``Renderer``: template key + locale + data -> text.

Templates live in ``templates/<locale>/<file>.toml`` (key ``<file>.<key>``) or
``templates/<locale>/<file>/<key>.j2``. They are compiled once, in a jinja2
``SandboxedEnvironment`` with ``StrictUndefined`` and no autoescaping (plain text). What a
participant typed is only ever passed in as *data*: a reply containing ``{{ 7*7 }}`` is
printed as written, never evaluated.
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from jinja2 import ChainableUndefined, StrictUndefined, Template, TemplateSyntaxError, meta
from jinja2.exceptions import UndefinedError
from jinja2.sandbox import SandboxedEnvironment

from bot.errors import Problem, TemplateError
from bot.text.toml_positions import key_lines

_MISSING = object()
_MEMO_LIMIT = 20_000
_MEMO_SAFE = frozenset({"project", "min", "max", "credit_unit", "channel"})
"""Template variables that say nothing about a person: only templates reading these
alone are memoised (see ``Renderer.render``)."""


def _flatten(prefix: str, table: Mapping[str, Any], out: dict[str, str]) -> None:
    for key, value in table.items():
        full = f"{prefix}.{key}"
        if isinstance(value, Mapping):
            _flatten(full, value, out)
        elif isinstance(value, str):
            out[full] = value


def _digest(default_locale: str, sources: Mapping[tuple[str, str], str]) -> str:
    h = hashlib.blake2b(digest_size=12)
    h.update(default_locale.encode())
    for (locale, key), text in sorted(sources.items()):
        for part in (locale, key, text):
            h.update(b"\x1f" + part.encode("utf-8", "surrogatepass"))
    return h.hexdigest()


class Renderer:
    """Compiled templates for every locale, with fallback to the default locale."""

    def __init__(
        self,
        sources: Mapping[str, Mapping[str, str]],
        *,
        default_locale: str = "en",
        drafts: Iterable[str] = (),
        origins: Mapping[tuple[str, str], str] | None = None,
    ) -> None:
        self.default_locale = default_locale
        self.drafts = frozenset(drafts)
        self._env = SandboxedEnvironment(
            undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False
        )
        self._compiled: dict[str, dict[str, Template]] = {}
        self._static: dict[tuple[str, str], str] = {}
        self._uses: dict[tuple[str, str], tuple[str, ...]] = {}
        self._memo: dict[tuple[Any, ...], str] = {}
        self._sources = {(locale, key): text for locale, table in sources.items()
                         for key, text in table.items()}
        self._origins = dict(origins or {})
        self.digest = _digest(default_locale, self._sources)
        """Stands for every template's text (and the default locale): caches of rendered
        text are keyed by it, so a changed template is never served from before."""
        problems: list[Problem] = []
        for locale, table in sources.items():
            compiled: dict[str, Template] = {}
            for key, text in table.items():
                try:
                    compiled[key] = self._env.from_string(text)
                    names = meta.find_undeclared_variables(self._env.parse(text))
                    if not names:
                        self._static[(locale, key)] = compiled[key].render().strip()
                    self._uses[(locale, key)] = tuple(sorted(names))
                except TemplateSyntaxError as exc:
                    where = (origins or {}).get((locale, key), f"templates/{locale}")
                    file, _, line = where.partition(":")
                    problems.append(Problem(file, int(line or 1), f"{key}: {exc.message}"))
            self._compiled[locale] = compiled
        if problems:
            raise TemplateError("\n".join(str(p) for p in problems))

    @classmethod
    def from_dir(cls, root: Path, default_locale: str = "en") -> Renderer:
        """Load every locale folder under ``root``; raise TemplateError with file:line."""
        sources: dict[str, dict[str, str]] = {}
        origins: dict[tuple[str, str], str] = {}
        drafts: list[str] = []
        if not root.is_dir():
            raise TemplateError(f"{root}: templates folder not found")
        for folder in sorted(p for p in root.iterdir() if p.is_dir()):
            locale = folder.name
            table: dict[str, str] = {}
            for file in sorted(folder.glob("*.toml")):
                text = file.read_text(encoding="utf-8")
                try:
                    data = tomllib.loads(text)
                except tomllib.TOMLDecodeError as exc:
                    raise TemplateError(f"{file}: {exc}") from exc
                meta = data.pop("meta", None) if file.stem == "_meta" else None
                if file.stem == "_meta":
                    if isinstance(meta, Mapping) and meta.get("status") == "draft":
                        drafts.append(locale)
                    continue
                flat: dict[str, str] = {}
                _flatten(file.stem, data, flat)
                lines = key_lines(text)
                for key in flat:
                    path = tuple(key.split(".")[1:])
                    origins[(locale, key)] = f"{file}:{lines.get(path, 1)}"
                table.update(flat)
            for file in sorted(folder.glob("*/*.j2")):
                key = f"{file.parent.name}.{file.stem}"
                table[key] = file.read_text(encoding="utf-8").rstrip("\n")
                origins[(locale, key)] = f"{file}:1"
            sources[locale] = table
        return cls(sources, default_locale=default_locale, drafts=drafts, origins=origins)

    @property
    def locales(self) -> list[str]:
        return sorted(self._compiled)

    def has(self, key: str, locale: str) -> bool:
        """Whether ``locale`` itself (without fallback) defines ``key``."""
        return key in self._compiled.get(locale, {})

    def reads_data(self, key: str, locale: str) -> bool:
        """Whether the template for ``key`` uses any variable (is not fixed text)."""
        found = self.resolve_locale(key, locale)
        return found is not None and bool(self._uses.get((found, key)))

    def source(self, key: str, locale: str) -> str | None:
        """The template text ``locale`` itself defines for ``key`` (None: it has none)."""
        return self._sources.get((locale, key))

    def origin(self, key: str, locale: str) -> tuple[str, int]:
        """Where ``key`` is defined for ``locale``: (file, line)."""
        where = self._origins.get((locale, key), "")
        file, sep, line = where.rpartition(":")
        if not sep or not line.isdigit():
            return where or f"templates/{locale}", 1
        return file, int(line)

    def render_fallback(self, key: str, locale: str, data: Mapping[str, Any]) -> str:
        """After ``render`` failed: the default locale's text, else the text with every
        undefined name left blank, so the person still gets the message (issue #11)."""
        if locale != self.default_locale and self.has(key, self.default_locale):
            try:
                return self.render(key, self.default_locale, data)
            except TemplateError:
                pass
        found = self.resolve_locale(key, locale)
        if found is None:
            return ""
        lenient = SandboxedEnvironment(undefined=ChainableUndefined, autoescape=False)
        try:
            return lenient.from_string(self._sources[(found, key)]).render(**data).strip()
        except Exception:  # the template's own logic failed on blanks: nothing safe left
            return ""

    def reads_personal_data(self, key: str, locale: str) -> bool:
        """Whether the template for ``key`` reads anything beyond ``_MEMO_SAFE`` (a
        person's name, answers, fields or vars): such text is never cached."""
        found = self.resolve_locale(key, locale)
        return found is not None and not _MEMO_SAFE.issuperset(self._uses.get((found, key),
                                                                              ()))

    def resolve_locale(self, key: str, locale: str) -> str | None:
        if self.has(key, locale):
            return locale
        if self.has(key, self.default_locale):
            return self.default_locale
        return None

    def fixed(self, key: str, locale: str) -> str | None:
        """The text of ``key`` when its template reads no variable (None otherwise): the
        same for everyone, so callers can skip gathering data for it."""
        own = self._static.get((locale, key))  # the locale's own fixed text: the usual
        if own is not None:
            return own
        found = self.resolve_locale(key, locale)
        return None if found is None else self._static.get((found, key))

    def render(self, key: str, locale: str, data: Mapping[str, Any] | None = None) -> str:
        """Render ``key`` in ``locale`` (falling back to the default locale)."""
        found = self.resolve_locale(key, locale)
        if found is None:
            raise TemplateError(f"template '{key}' is missing for locale '{locale}'")
        static = self._static.get((found, key))
        if static is not None:
            return static
        data = data or {}
        uses = self._uses[(found, key)]
        if not _MEMO_SAFE.issuperset(uses):
            # reads a person's name, answers, balance or vars: rendered afresh, so no
            # cache in the process is keyed by (or holds) anyone's data
            return self._render(found, key, data)
        # Rendering is pure, so results are memoised on exactly the values the template
        # reads; the same question to thousands of people renders once.
        memo_key = (found, key, *(repr(data.get(n, _MISSING)) for n in uses))
        cached = self._memo.get(memo_key)
        if cached is not None:
            return cached
        text = self._render(found, key, data)
        if len(self._memo) >= _MEMO_LIMIT:
            self._memo.clear()
        self._memo[memo_key] = text
        return text

    def _render(self, found: str, key: str, data: Mapping[str, Any]) -> str:
        try:
            return self._compiled[found][key].render(**data).strip()
        except UndefinedError as exc:
            raise TemplateError(f"template '{key}' ({found}): {exc.message}") from exc
