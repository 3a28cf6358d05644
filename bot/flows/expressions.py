"""A small, safe expression language for branching and ``set`` nodes.

Coordinators write conditions such as ``life_satisfaction <= 4 and not skipped`` or
``endorse in ["partly", "disagree"]``. We parse them ourselves (never ``eval``) so a flow
file can only compare and combine saved fields, and every mistake is reported when the
flow is loaded rather than when a participant is halfway through.

Grammar (lowest precedence first)::

    expr    := or
    or      := and ("or" and)*
    and     := not ("and" not)*
    not     := "not" not | compare
    compare := sum (("=="|"!="|"<"|"<="|">"|">="|"in"|"not in") sum)?
    sum     := product (("+"|"-") product)*
    product := unary (("*"|"/") unary)*
    unary   := "-" unary | atom
    atom    := NUMBER | STRING | true | false | null | NAME | "(" expr ")" | "[" items "]"
             | "len" "(" expr ")"

Several-option answers are lists (``"housing" in priorities``, ``len(priorities) >= 2``)
or mappings (``"parks" in budget``, ``budget.parks > 30``: a dotted name reads one
amount of a saved mapping).

Names may contain dots (``participant.locale``). A name that was never saved (skipped
question) is ``null``; ordering comparisons with ``null`` are false rather than errors,
so "skipped" naturally falls through to the ``else`` branch.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Union

Value = Union[str, int, float, bool, None, list["Value"], dict[str, "Value"]]  # noqa: UP007


class ExpressionError(ValueError):
    """An expression could not be parsed or evaluated; the message says what to fix."""


@dataclass(frozen=True)
class Literal:
    value: Value


@dataclass(frozen=True)
class Name:
    name: str


@dataclass(frozen=True)
class ListExpr:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Unary:
    op: str
    operand: Node


@dataclass(frozen=True)
class Binary:
    op: str
    left: Node
    right: Node


Node = Union[Literal, Name, ListExpr, Unary, Binary]  # noqa: UP007 (forward references)

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<number>\d+(?:\.\d+)?)
      | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
      | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
      | (?P<op>==|!=|<=|>=|<|>|\+|-|\*|/|\(|\)|\[|\]|,)
    )""",
    re.VERBOSE,
)
_KEYWORDS = {"and", "or", "not", "in", "true", "false", "null"}


@dataclass(frozen=True)
class _Tok:
    kind: str
    text: str
    pos: int


def _tokenise(source: str) -> list[_Tok]:
    tokens: list[_Tok] = []
    pos = 0
    while pos < len(source):
        if source[pos:].strip() == "":
            break
        m = _TOKEN.match(source, pos)
        if not m or m.end() == pos:
            raise ExpressionError(f"unexpected character {source[pos:].strip()[0]!r} in '{source}'")
        kind = m.lastgroup or ""
        text, start = m.group(kind), m.start(kind)
        if kind == "name" and text in _KEYWORDS:
            kind = "kw"
        tokens.append(_Tok(kind, text, start))
        pos = m.end()
    tokens.append(_Tok("end", "", len(source)))
    return tokens


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.tokens = _tokenise(source)
        self.i = 0

    def peek(self) -> _Tok:
        return self.tokens[self.i]

    def take(self) -> _Tok:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def accept(self, *texts: str) -> str | None:
        tok = self.peek()
        if tok.kind in ("op", "kw") and tok.text in texts:
            self.i += 1
            return tok.text
        return None

    def expect(self, text: str) -> None:
        if not self.accept(text):
            found = self.peek().text or "the end"
            raise ExpressionError(f"expected '{text}' but found {found!r} in '{self.source}'")

    def parse(self) -> Node:
        if self.peek().kind == "end":
            raise ExpressionError("the expression is empty")
        node = self.or_()
        if self.peek().kind != "end":
            raise ExpressionError(f"unexpected {self.peek().text!r} in '{self.source}'")
        return node

    def or_(self) -> Node:
        node = self.and_()
        while self.accept("or"):
            node = Binary("or", node, self.and_())
        return node

    def and_(self) -> Node:
        node = self.not_()
        while self.accept("and"):
            node = Binary("and", node, self.not_())
        return node

    def not_(self) -> Node:
        if self.accept("not"):
            return Unary("not", self.not_())
        return self.compare()

    def compare(self) -> Node:
        node = self.sum()
        op = self.accept("==", "!=", "<", "<=", ">", ">=", "in")
        if op is None and self.peek().text == "not" and self.tokens[self.i + 1].text == "in":
            self.i += 2
            op = "not in"
        if op is not None:
            node = Binary(op, node, self.sum())
            if self.peek().kind == "op" and self.peek().text in ("==", "!=", "<", "<=", ">", ">="):
                raise ExpressionError(f"chain comparisons with 'and' in '{self.source}'")
        return node

    def sum(self) -> Node:
        node = self.product()
        while op := self.accept("+", "-"):
            node = Binary(op, node, self.product())
        return node

    def product(self) -> Node:
        node = self.unary()
        while op := self.accept("*", "/"):
            node = Binary(op, node, self.unary())
        return node

    def unary(self) -> Node:
        if self.accept("-"):
            return Unary("-", self.unary())
        return self.atom()

    def atom(self) -> Node:
        tok = self.take()
        if tok.kind == "number":
            return Literal(float(tok.text) if "." in tok.text else int(tok.text))
        if tok.kind == "string":
            body = tok.text[1:-1]
            return Literal(re.sub(r"\\(.)", r"\1", body))
        if tok.kind == "name" and tok.text == "len" and self.peek().text == "(":
            self.take()
            node = self.or_()
            self.expect(")")
            return Unary("len", node)
        if tok.kind == "name":
            return Name(tok.text)
        if tok.kind == "kw" and tok.text in ("true", "false", "null"):
            return Literal({"true": True, "false": False, "null": None}[tok.text])
        if tok.text == "(":
            node = self.or_()
            self.expect(")")
            return node
        if tok.text == "[":
            items: list[Node] = []
            if not self.accept("]"):
                items.append(self.or_())
                while self.accept(","):
                    items.append(self.or_())
                self.expect("]")
            return ListExpr(tuple(items))
        found = tok.text or "the end"
        raise ExpressionError(f"expected a value but found {found!r} in '{self.source}'")


def parse(source: str) -> Node:
    """Parse an expression, raising ExpressionError that says what is wrong."""
    return _Parser(source).parse()


def names(node: Node) -> set[str]:
    """Every field name an expression reads."""
    if isinstance(node, Name):
        return {node.name}
    if isinstance(node, Unary):
        return names(node.operand)
    if isinstance(node, Binary):
        return names(node.left) | names(node.right)
    if isinstance(node, ListExpr):
        out: set[str] = set()
        for item in node.items:
            out |= names(item)
        return out
    return set()


def _number(value: Value, op: str) -> float | int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ExpressionError(f"'{op}' needs numbers, got {value!r}")
    return value


def evaluate(node: Node, env: Mapping[str, Value]) -> Value:
    """Evaluate against saved fields. Missing names are null, never an error."""
    if isinstance(node, Literal):
        return node.value
    if isinstance(node, Name):
        return _lookup(node.name, env)
    if isinstance(node, ListExpr):
        return [evaluate(item, env) for item in node.items]
    if isinstance(node, Unary):
        value = evaluate(node.operand, env)
        if node.op == "not":
            return not truthy(value)
        if node.op == "len":
            return _length(value)
        return -_number(value, "-")
    if node.op == "and":
        return truthy(evaluate(node.left, env)) and truthy(evaluate(node.right, env))
    if node.op == "or":
        return truthy(evaluate(node.left, env)) or truthy(evaluate(node.right, env))
    left, right = evaluate(node.left, env), evaluate(node.right, env)
    return _binary(node.op, left, right)


def _lookup(name: str, env: Mapping[str, Value]) -> Value:
    """A saved field, or one entry of a saved mapping (``budget.parks``)."""
    if name in env or "." not in name:
        return env.get(name)
    head, key = name.rsplit(".", 1)
    whole = env.get(head)
    return whole.get(key) if isinstance(whole, dict) else None


def _length(value: Value) -> int:
    """How many picks, entries or characters; a skipped answer (null) has none."""
    if value is None:
        return 0
    if isinstance(value, list | dict | str):
        return len(value)
    raise ExpressionError(f"'len' needs a list, a mapping or text, got {value!r}")


def _contains(op: str, left: Value, right: Value) -> bool:
    """``left in right`` for a list, text or mapping (its keys); nothing is in a
    skipped several-option answer (null)."""
    if right is None:
        return False
    if not isinstance(right, list | str | dict):
        raise ExpressionError(f"'{op}' needs a list or text on the right, got {right!r}")
    if isinstance(right, str | dict) and not isinstance(left, str):
        return False
    return left in right


def _binary(op: str, left: Value, right: Value) -> Value:
    if op == "==":
        return left == right
    if op == "!=":
        return left != right
    if op in ("in", "not in"):
        found = _contains(op, left, right)
        return found if op == "in" else not found
    if op in ("<", "<=", ">", ">="):
        return _compare(op, left, right)
    return _arithmetic(op, left, right)


def _compare(op: str, left: Value, right: Value) -> bool:
    """Text compares with text; anything else compares as numbers; null is never
    less or greater than anything."""
    if left is None or right is None:
        return False
    both_text = isinstance(left, str) and isinstance(right, str)
    if not both_text:
        a, b = _number(left, op), _number(right, op)
    else:
        a, b = left, right  # type: ignore[assignment]
    return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]


def _arithmetic(op: str, left: Value, right: Value) -> Value:
    if op == "+" and isinstance(left, str) and isinstance(right, str):
        return left + right
    a, b = _number(left, op), _number(right, op)
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if b == 0:
        raise ExpressionError("division by zero")
    return a / b


def truthy(value: Value) -> bool:
    """Null, false, zero, empty text and empty lists are false."""
    return bool(value)
