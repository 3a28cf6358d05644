"""The one CSV writer for every CSV Parley writes: CLI, dashboard downloads, files on disk.

Participants choose their own names and answers, and coordinators open our CSVs in
spreadsheet programs, which run a cell starting with ``=``, ``+``, ``-`` or ``@`` (and,
in some, tab or carriage return) as a formula: ``=HYPERLINK("http://evil.example","pay")``
in a payout file is a phishing link in the finance team's spreadsheet. Every cell is
therefore written through ``safe_cell``, which prefixes such text with an apostrophe
(OWASP's advice), so it is shown as text. Plain numbers such as ``-2`` or ``+4.5`` are left
alone: they cannot run anything and totals must still add up.

Files are written owner-only and whole, through ``bot.private_files``.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import IO

from bot.private_files import private_file

__all__ = ["SafeCsv", "csv_text", "safe_cell", "write_csv_file"]

_RISKY = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[-+]?\d+(\.\d+)?")


def safe_cell(value: object) -> str:
    """``value`` as a cell text spreadsheet programs show as text, never run."""
    text = "" if value is None else str(value)
    if text.startswith(_RISKY) and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


class SafeCsv:
    """``csv.writer`` whose every cell passes ``safe_cell``; rows as sequences or, with
    ``columns``, as mappings (missing keys are empty cells)."""

    def __init__(self, stream: IO[str], columns: Sequence[str] = ()) -> None:
        self._writer = csv.writer(stream)
        self.columns = tuple(columns)

    def header(self) -> None:
        self._writer.writerow([safe_cell(c) for c in self.columns])

    def row(self, values: Iterable[object] | Mapping[str, object]) -> None:
        if isinstance(values, Mapping):
            values = [values.get(c) for c in self.columns]
        self._writer.writerow([safe_cell(v) for v in values])

    def rows(self, rows: Iterable[Iterable[object] | Mapping[str, object]]) -> None:
        for values in rows:
            self.row(values)


def csv_text(columns: Sequence[str],
             rows: Iterable[Iterable[object] | Mapping[str, object]]) -> str:
    """A whole CSV document (header first) as text, for downloads."""
    buffer = io.StringIO()
    writer = SafeCsv(buffer, columns)
    writer.header()
    writer.rows(rows)
    return buffer.getvalue()


def write_csv_file(path: Path, columns: Sequence[str],
                   rows: Iterable[Iterable[object] | Mapping[str, object]]) -> None:
    """Write ``path`` atomically, readable by its owner only (``bot.private_files``)."""
    with private_file(path) as f:
        writer = SafeCsv(f, columns)
        writer.header()
        writer.rows(rows)
