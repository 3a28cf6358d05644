"""Who a round goes to: ``all``, ``cohort:NAME``, ``tag:T`` or ``ids:FILE.csv``."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from bot.errors import ParleyError
from bot.store.round_records import Candidate
from bot.store.rounds_base import RoundsStore

ID_COLUMNS = ("participant_id", "id")


@dataclass(frozen=True)
class Audience:
    kind: str
    """``all``, ``cohort``, ``tag`` or ``ids``."""
    value: str = ""
    ids: tuple[str, ...] = ()

    @property
    def spec(self) -> str:
        return self.kind if self.kind == "all" else f"{self.kind}:{self.value}"


def read_ids(path: Path) -> tuple[str, ...]:
    """Participant ids from a CSV: a ``participant_id`` or ``id`` column, else the first
    column of a file without a header."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ParleyError(f"{path}: cannot read the file: {exc}") from exc
    rows = [r for r in csv.reader(io.StringIO(text)) if r and any(c.strip() for c in r)]
    if not rows:
        raise ParleyError(f"{path}: no participant ids in the file")
    header = [c.strip().lower() for c in rows[0]]
    column = next((header.index(c) for c in ID_COLUMNS if c in header), None)
    body = rows[1:] if column is not None else rows
    col = column or 0
    ids = [r[col].strip() for r in body if len(r) > col and r[col].strip()]
    if not ids:
        raise ParleyError(f"{path}: no participant ids in the file")
    return tuple(dict.fromkeys(ids))


def parse_audience(spec: str, base: Path | None = None) -> Audience:
    """Parse an audience spec; ParleyError with the accepted forms otherwise."""
    spec = spec.strip()
    if spec == "all":
        return Audience("all")
    kind, sep, value = spec.partition(":")
    value = value.strip()
    if sep and value and kind in ("cohort", "tag"):
        return Audience(kind, value)
    if sep and value and kind == "ids":
        path = Path(value)
        if base is not None and not path.is_absolute():
            path = base / path
        return Audience("ids", value, read_ids(path))
    raise ParleyError(f"audience '{spec}' should be all, cohort:NAME, tag:T or ids:FILE.csv")


async def audience_candidates(store: RoundsStore, audience: Audience) -> list[Candidate]:
    """Everyone the audience names who may be sent a round (not erased or declined)."""
    if audience.kind == "cohort":
        return await store.candidates(cohort=audience.value)
    if audience.kind == "tag":
        return await store.candidates(tag=audience.value)
    if audience.kind == "ids":
        return await store.candidates(ids=audience.ids)
    return await store.candidates()


def audience_of(spec: str, ids: tuple[str, ...]) -> Audience:
    """The audience stored with a round (the ids were read when it was created)."""
    kind, _, value = spec.partition(":")
    if kind == "ids":
        return Audience("ids", value, ids)
    if kind in ("cohort", "tag"):
        return Audience(kind, value)
    return Audience("all")
