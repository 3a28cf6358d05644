"""``bot/`` depends on its libraries' public APIs only (STYLE 19).

Scanned in every module of ``bot/``, by syntax tree (so comments and strings do not count):

- an import of a ``_``-prefixed module or name from any package but ``bot`` itself
  (``from telegram._utils.types import ODVInput``, ``import aiosqlite.core``'s internals
  through ``from aiosqlite.core import _STOP_RUNNING_SENTINEL``);
- a ``_``-prefixed attribute read from an imported dependency (``aiosqlite._x``,
  ``telegram.request._httpxrequest``), or through ``getattr(x, "_name")``;
- a class built on a dependency's class that touches ``self._name`` it never sets
  itself (that is the parent's internals: ``self._tx``, ``self._connection``).
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass, field
from pathlib import Path

BOT = Path(__file__).resolve().parent.parent / "bot"


def private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def foreign(module: str) -> bool:
    """A dependency's module: not ours, not the standard library (whose ``os._exit`` and
    ``sys._getframe`` are documented API)."""
    top = module.split(".")[0]
    return top != "bot" and top not in sys.stdlib_module_names


@dataclass
class Scan(ast.NodeVisitor):
    path: Path
    found: list[str] = field(default_factory=list)
    modules: set[str] = field(default_factory=set)
    """Local names bound to a dependency's module or object."""
    foreign_classes: set[str] = field(default_factory=set)

    def flag(self, node: ast.AST, what: str) -> None:
        self.found.append(f"{self.path.relative_to(BOT.parent)}:{getattr(node, 'lineno', 0)}: "
                          f"{what}")

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if foreign(alias.name):
                if any(private(part) for part in alias.name.split(".")):
                    self.flag(node, f"import {alias.name}")
                self.modules.add(alias.asname or alias.name.split(".")[0])

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        if node.level or not foreign(module):
            return
        if any(private(part) for part in module.split(".")):
            self.flag(node, f"from {module} import ...")
        for alias in node.names:
            if private(alias.name):
                self.flag(node, f"from {module} import {alias.name}")
            self.modules.add(alias.asname or alias.name)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        root: ast.expr = node
        while isinstance(root, ast.Attribute):
            root = root.value
        if (isinstance(root, ast.Name) and root.id in self.modules and private(node.attr)):
            self.flag(node, f"{ast.unparse(node)}")
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        if (isinstance(node.func, ast.Name) and node.func.id in ("getattr", "hasattr")
                and len(node.args) >= 2 and self.is_foreign(node.args[0])
                and isinstance(node.args[1], ast.Constant)
                and isinstance(node.args[1].value, str) and private(node.args[1].value)):
            self.flag(node, ast.unparse(node))
        self.generic_visit(node)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        bases = [b for b in node.bases if self.is_foreign(b)]
        if bases and not any(ast.unparse(b) in ("Exception", "object") for b in bases):
            self.check_subclass(node)
        self.generic_visit(node)

    def is_foreign(self, base: ast.expr) -> bool:
        """Whether an expression starts from a dependency's name (``aiosqlite.X``,
        ``RetryAfter(...)``)."""
        root = base
        while isinstance(root, ast.Attribute | ast.Call):
            root = root.func if isinstance(root, ast.Call) else root.value
        return isinstance(root, ast.Name) and root.id in self.modules

    def check_subclass(self, node: ast.ClassDef) -> None:
        own = {t.attr for n in ast.walk(node) for t in _targets(n)
               if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name)
               and t.value.id == "self"}
        own |= {n.name for n in node.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
        for n in ast.walk(node):
            if (isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name)
                    and n.value.id in ("self", "super") and private(n.attr)
                    and n.attr not in own):
                self.flag(n, f"{node.name} uses its parent's {n.attr}")
            if (isinstance(n, ast.Attribute) and isinstance(n.value, ast.Call)
                    and isinstance(n.value.func, ast.Name) and n.value.func.id == "super"
                    and private(n.attr)):
                self.flag(n, f"{node.name} calls its parent's {n.attr}")


def _targets(node: ast.AST) -> list[ast.expr]:
    """What an assignment binds, tuples unpacked (``self._a, self._b = ...``)."""
    if isinstance(node, ast.Assign):
        found = list(node.targets)
    elif isinstance(node, ast.AnnAssign | ast.AugAssign):
        found = [node.target]
    else:
        return []
    flat: list[ast.expr] = []
    while found:
        target = found.pop()
        if isinstance(target, ast.Tuple | ast.List):
            found.extend(target.elts)
        else:
            flat.append(target)
    return flat


def scan(path: Path) -> list[str]:
    visitor = Scan(path)
    visitor.visit(ast.parse(path.read_text(encoding="utf-8"), str(path)))
    return visitor.found


def test_bot_uses_no_private_module_or_attribute_of_a_dependency() -> None:
    found = [line for path in sorted(BOT.rglob("*.py")) for line in scan(path)]
    assert found == []


def test_the_scan_catches_each_kind_of_private_use(tmp_path: Path) -> None:
    """The scan is not vacuous: each way in, written out, is reported."""
    sample = BOT / "sample_private.py"  # a path under bot/ for the report's file:line
    code = (
        "import aiosqlite\n"
        "from telegram._utils.types import ODVInput\n"
        "from aiosqlite.core import _STOP_RUNNING_SENTINEL\n"
        "x = aiosqlite._private\n"
        "from telegram.error import RetryAfter\n"
        "y = getattr(RetryAfter(1), '_retry_after')\n"
        "w = getattr(self, '_ours')  # our own object\n"
        "class Inline(aiosqlite.Connection):\n"
        "    def go(self):\n"
        "        self._mine = 1\n"
        "        return self._tx, self._mine, super()._execute\n"
        "z = helper._fine  # our own object: not a dependency's\n"
    )
    visitor = Scan(sample)
    visitor.visit(ast.parse(code))
    assert [line.split(": ", 1)[1] for line in visitor.found] == [
        "from telegram._utils.types import ...",
        "from aiosqlite.core import _STOP_RUNNING_SENTINEL",
        "aiosqlite._private",
        "getattr(RetryAfter(1), '_retry_after')",
        "Inline uses its parent's _tx",
        "Inline calls its parent's _execute",
    ]
