"""Erasure of files on disk: what the database erasure (``erasure.py``) cannot reach.

Files cannot join a transaction, so these run right after the erasure committed; each is
idempotent, so running one again is harmless. **A new kind of file that can hold a
person's data (media, reports…) gets one line in ``FILE_ERASURE``.**
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bot.csv_safe import write_csv_file

log = logging.getLogger("parley.store")
AUDIT_SCAN = 100_000
"""How far back the audit log is read for files to rewrite."""


async def scrub_files(store: Any, participant_id: str) -> None:
    """Every ``FILE_ERASURE`` step, after the erasure committed (files cannot join the
    transaction; each step is idempotent, so running it again is harmless)."""
    for scrub in FILE_ERASURE:
        await scrub(store, participant_id)


async def _payout_files(store: Any, participant_id: str) -> None:
    """Rewrite the payout files Parley wrote so they no longer name the person."""
    paths: set[Path] = set()
    for batch in await store.payout_batches():
        base = Path(batch.file)
        paths |= {base, base.with_name(base.stem + "-participation" + (base.suffix or ".csv"))}
    for entry in await store.audit_log(AUDIT_SCAN):  # participation files without a batch
        if entry.action == "credits.participation" and entry.detail.get("file"):
            paths.add(Path(str(entry.detail["file"])))
    for path in sorted(paths):
        try:
            _scrub_one(path, participant_id, write_csv_file)
        except OSError as exc:
            log.warning("erasure: could not rewrite %s: %s", path, exc.strerror)


def _scrub_one(path: Path, participant_id: str,
               write: Callable[[Path, list[str], list[dict[str, str]]], None]) -> None:
    if not path.is_file():
        return
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        columns = list(reader.fieldnames or [])
        rows = list(reader)
    if "participant_id" not in columns or not any(
            r.get("participant_id") == participant_id for r in rows):
        return
    for r in rows:
        if r.get("participant_id") == participant_id:
            for column in columns:
                if column in ("name", "payment_preference"):
                    r[column] = ""
            r["participant_id"] = "erased"
    write(path, columns, rows)


async def _media_files(store: Any, participant_id: str) -> None:
    """Voice notes, photos … people sent (issue 17): the files and their rows."""
    await store.media_erase(participant_id)


FILE_ERASURE: tuple[Callable[[Any, str], Awaitable[None]], ...] = (
    _payout_files,
    _media_files,
)
"""Files on disk that can hold a person's data, one line each (media files, reports…)."""
