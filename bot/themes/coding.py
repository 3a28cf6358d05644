"""Free-text answers, their themes, CSV round trips and saturation.

Saturation follows the usual qualitative check: take the coded responses in arrival
order, in batches; count the themes first seen in each batch; when the last batches
bring nothing new, the project has probably heard the range of views (from these
people: representativeness is a separate question).
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from bot.csv_safe import write_csv_file
from bot.errors import ImportRowError, ParleyError, Problem
from bot.flows.loader import FlowLibrary
from bot.store.base import Store
from bot.store.records import AnswerRow
from bot.store.themes import Theme

HEADER = ("answer_id", "flow", "field", "answered_at", "text", "themes")
MAX_NAME = 60


async def free_text(store: Store, library: FlowLibrary) -> list[AnswerRow]:
    """Free-text answers of people not erased, in arrival order."""
    kinds = {f: library.get(f).fields() for f in library.ids}
    people = {p.id for p in await store.list_participants() if p.status != "erased"}
    rows = [a for a in await store.answers() if a.participant_id in people
            and not a.skipped and isinstance(a.value, str) and a.field
            and kinds.get(a.flow_id, {}).get(a.field) == "text"]
    return sorted(rows, key=lambda a: (a.at, a.id or 0))


def names_of(text: str) -> list[str]:
    """``"housing; bus fares, food"`` → three theme names (ParleyError if one is long)."""
    names = [n.strip() for n in text.replace(",", ";").split(";") if n.strip()]
    long = [n for n in names if len(n) > MAX_NAME]
    if long:
        raise ParleyError(f"theme '{long[0][:20]}…' is longer than {MAX_NAME} characters")
    return list(dict.fromkeys(names))


@dataclass
class Saturation:
    total: int
    coded: int
    new_per_batch: list[int]
    quiet_tail: int
    """Coded responses at the end that brought no new theme."""
    batch: int


def saturation(answers: list[AnswerRow], tags: dict[int, list[int]], batch: int = 10
               ) -> Saturation:
    coded = [a for a in answers if a.id is not None and tags.get(a.id)]
    seen: set[int] = set()
    per_batch: list[int] = []
    quiet = 0
    for i, a in enumerate(coded):
        if i % batch == 0:
            per_batch.append(0)
        new = set(tags[a.id or 0]) - seen
        seen |= new
        per_batch[-1] += len(new)
        quiet = 0 if new else quiet + 1
    return Saturation(len(answers), len(coded), per_batch, quiet, batch)


def counts(tags: dict[int, list[int]], themes: list[Theme], answer_ids: set[int]
           ) -> list[tuple[str, int]]:
    """Live themes with how many (current) responses carry each, most used first."""
    names = {t.id: t.name for t in themes if t.merged_into is None}
    out: dict[str, int] = dict.fromkeys(names.values(), 0)
    for answer_id, ids in tags.items():
        if answer_id in answer_ids:
            for t in ids:
                if t in names:
                    out[names[t]] += 1
    return sorted(out.items(), key=lambda kv: (-kv[1], kv[0].casefold()))


async def export_csv(store: Store, library: FlowLibrary, path: Path) -> int:
    answers = await free_text(store, library)
    tags = await store.answer_themes()
    names = {t.id: t.name for t in await store.themes_all()}
    write_csv_file(path, HEADER, ([a.id, a.flow_id, a.field, a.at.isoformat(), a.value,
                                   "; ".join(names[t] for t in tags.get(a.id or 0, []))]
                                  for a in answers))  # the shared writer (issue 12)
    return len(answers)


def read_coded(path: Path, known: set[int]) -> list[tuple[int, list[str]]]:
    """``(answer id, theme names)`` per row; every bad row reported as ``file:line``."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ParleyError(f"{path}: cannot read the file: {exc}") from exc
    reader = csv.DictReader(text.splitlines())
    missing = {"answer_id", "themes"} - set(reader.fieldnames or [])
    if missing:
        raise ParleyError(f"{path}:1: needs the columns answer_id and themes "
                          f"(missing: {', '.join(sorted(missing))})")
    rows, problems = [], []
    for line, row in enumerate(reader, start=2):
        raw = (row.get("answer_id") or "").strip()
        try:
            answer_id = int(raw)
            if answer_id not in known:
                raise ValueError
            rows.append((answer_id, names_of(row.get("themes") or "")))
        except ValueError:
            problems.append(Problem(str(path), line, f"answer_id '{raw}' is not a "
                                    "free-text answer of this project"))
        except ParleyError as exc:
            problems.append(Problem(str(path), line, f"themes: {exc}"))
    if problems:
        raise ImportRowError(problems)
    return rows


async def import_csv(store: Store, library: FlowLibrary, path: Path, actor: str,
                     now: dt.datetime) -> int:
    """Replace the themes of every answer in the file (all rows checked first)."""
    known = {a.id for a in await free_text(store, library) if a.id is not None}
    coded = read_coded(path, known)
    for answer_id, names in coded:
        await store.tag_answer(answer_id, await store.theme_ids(names, now, actor), now,
                               actor)
    return len(coded)
