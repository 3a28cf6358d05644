"""Line numbers for keys in a TOML document.

``tomllib`` reports syntax errors with a line, but once a file parses it forgets where
each value came from. Coordinators need ``ons4.toml:23: ...`` pointing at the offending
node or key, so we scan the source once more and record the line on which every key,
table and array element starts. The scanner understands the parts of TOML that affect
positions (strings of all four kinds, comments, arrays, inline tables, table headers);
it trusts ``tomllib`` to have rejected anything malformed already.
"""

from __future__ import annotations

from collections.abc import Sequence

PathPart = str | int
Path = tuple[PathPart, ...]

_BARE = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


class _Scanner:
    def __init__(self, text: str) -> None:
        self.s = text
        self.i = 0
        self.line = 1
        self.lines: dict[Path, int] = {}
        self.aot_counts: dict[Path, int] = {}

    # -- low level --------------------------------------------------------------
    def peek(self, n: int = 0) -> str:
        j = self.i + n
        return self.s[j] if j < len(self.s) else ""

    def advance(self, n: int = 1) -> None:
        for _ in range(n):
            if self.i < len(self.s):
                if self.s[self.i] == "\n":
                    self.line += 1
                self.i += 1

    def skip_inline_space(self) -> None:
        while self.peek() in (" ", "\t"):
            self.advance()

    def skip_comment(self) -> None:
        if self.peek() == "#":
            while self.peek() not in ("\n", ""):
                self.advance()

    def skip_space_comments_newlines(self) -> None:
        while True:
            c = self.peek()
            if c in (" ", "\t", "\r", "\n"):
                self.advance()
            elif c == "#":
                self.skip_comment()
            else:
                return

    def record(self, path: Path, line: int) -> None:
        self.lines.setdefault(path, line)

    # -- pieces -------------------------------------------------------------------
    def string(self) -> str:
        quote = self.peek()
        if self.s.startswith(quote * 3, self.i):
            self.advance(3)
            end = self.s.find(quote * 3, self.i)
            end = len(self.s) if end < 0 else end
            # closing quotes may be followed by up to two more quote characters
            while self.s.startswith(quote, end + 3):
                end += 1
            body = self.s[self.i : end]
            self.advance(end + 3 - self.i)
            return body
        self.advance()
        out: list[str] = []
        while self.peek() not in (quote, "", "\n"):
            if quote == '"' and self.peek() == "\\":
                out.append(self.peek(1))
                self.advance(2)
                continue
            out.append(self.peek())
            self.advance()
        self.advance()
        return "".join(out)

    def key(self) -> list[str]:
        parts: list[str] = []
        while True:
            self.skip_inline_space()
            c = self.peek()
            if c in ('"', "'"):
                parts.append(self.string())
            else:
                start = self.i
                while self.peek() in _BARE and self.peek() != "":
                    self.advance()
                parts.append(self.s[start : self.i])
            self.skip_inline_space()
            if self.peek() == ".":
                self.advance()
                continue
            return parts

    def value(self, path: Path) -> None:
        self.skip_inline_space()
        c = self.peek()
        if c in ('"', "'"):
            self.string()
        elif c == "[":
            self.array(path)
        elif c == "{":
            self.inline_table(path)
        else:
            while self.peek() not in (",", "]", "}", "\n", "#", ""):
                self.advance()

    def array(self, path: Path) -> None:
        self.advance()  # [
        index = 0
        while True:
            self.skip_space_comments_newlines()
            if self.peek() in ("]", ""):
                self.advance()
                return
            self.record((*path, index), self.line)
            self.value((*path, index))
            index += 1
            self.skip_space_comments_newlines()
            if self.peek() == ",":
                self.advance()

    def inline_table(self, path: Path) -> None:
        self.advance()  # {
        while True:
            self.skip_space_comments_newlines()
            if self.peek() in ("}", ""):
                self.advance()
                return
            line = self.line
            parts = self.key()
            full = (*path, *parts)
            for k in range(len(parts)):
                self.record((*path, *parts[: k + 1]), line)
            self.skip_inline_space()
            if self.peek() == "=":
                self.advance()
            self.value(full)
            self.skip_space_comments_newlines()
            if self.peek() == ",":
                self.advance()

    # -- document -------------------------------------------------------------------
    def document(self) -> dict[Path, int]:
        table: Path = ()
        while self.i < len(self.s):
            self.skip_space_comments_newlines()
            if self.i >= len(self.s):
                break
            line = self.line
            if self.s.startswith("[[", self.i):
                self.advance(2)
                parts = tuple(self.key())
                self.advance(2)
                count = self.aot_counts.get(parts, 0)
                self.aot_counts[parts] = count + 1
                table = (*parts, count)
                self.record(parts, line)
                self.record(table, line)
            elif self.peek() == "[":
                self.advance()
                parts = tuple(self.key())
                self.advance()
                table = parts
                for k in range(len(parts)):
                    self.record(parts[: k + 1], line)
            else:
                parts = tuple(self.key())
                for k in range(len(parts)):
                    self.record((*table, *parts[: k + 1]), line)
                self.skip_inline_space()
                if self.peek() == "=":
                    self.advance()
                self.value((*table, *parts))
            # anything left on the line is a comment or trailing space
            while self.peek() not in ("\n", ""):
                self.advance()
        return self.lines


def key_lines(text: str) -> dict[Path, int]:
    """Map every key path (tables, keys, array elements) to the line it starts on."""
    return _Scanner(text).document()


def line_for(lines: dict[Path, int], path: Sequence[PathPart]) -> int:
    """The line of the deepest known prefix of ``path`` (1 when nothing matches)."""
    for end in range(len(path), 0, -1):
        found = lines.get(tuple(path[:end]))
        if found is not None:
            return found
    return 1
