"""Publishing a draft finding from a Markdown file, as a new finding or a new version.

The file's first heading (``# Title``) is the title; the rest is the text people are
asked to endorse, word for word (a paragraph's line breaks are soft, as in Markdown).
An optional ``## What we changed`` section (only in a revision) is kept apart: it is the
"we did" of "you said, we did".
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from bot.errors import ParleyError
from bot.store.round_records import Finding
from bot.store.rounds_base import RoundsStore

_CHANGES = re.compile(r"^##\s*what\s+(we\s+)?changed\s*:?\s*$", re.IGNORECASE)


def parse_finding(text: str, file: str) -> tuple[str, str, str]:
    """``(title, text, changes)``; ParleyError naming ``file:line`` when malformed."""
    lines = text.replace("\r\n", "\n").split("\n")
    start = next((i for i, line in enumerate(lines) if line.strip()), None)
    if start is None or not lines[start].startswith("# "):
        raise ParleyError(f"{file}:{(start or 0) + 1}: a finding starts with a '# Title' line")
    title = lines[start][2:].strip()
    if not title:
        raise ParleyError(f"{file}:{start + 1}: the title is empty")
    body: list[str] = []
    changes: list[str] = []
    in_changes = False
    for line in lines[start + 1:]:
        if _CHANGES.match(line.strip()):
            in_changes = True
            continue
        (changes if in_changes else body).append(line)
    paragraphs = "\n".join(body).strip().split("\n\n")
    # a Markdown paragraph's line breaks are soft: one paragraph, one line
    text_out = "\n\n".join(" ".join(p.split()) for p in paragraphs if p.strip())
    if not text_out:
        raise ParleyError(f"{file}:{start + 2}: the finding has no text under its title")
    return title, text_out, " ".join(" ".join(changes).split())


async def publish(store: RoundsStore, path: Path, *, replaces: str | None, actor: str,
                  now: dt.datetime) -> Finding:
    """Store a new draft (``F<n>``) or a new version of one (``F<n>.<v>``)."""
    try:
        source = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ParleyError(f"{path}: cannot read the file: {exc}") from exc
    title, text, changes = parse_finding(source, str(path))
    existing = await store.findings_all()
    if replaces is None:
        lineages = {f.lineage for f in existing}
        n = len(lineages) + 1
        while f"F{n}" in lineages:
            n += 1
        finding = Finding(id=f"F{n}", title=title, text=text, created_at=now,
                          lineage=f"F{n}", version=1, changes=changes, source=path.name,
                          created_by=actor)
    else:
        old = next((f for f in existing if f.id == replaces), None)
        if old is None:
            raise ParleyError(f"--replaces: no finding '{replaces}' "
                              f"(known: {', '.join(f.id for f in existing) or 'none'})")
        version = max(f.version for f in existing if f.lineage == old.lineage) + 1
        finding = Finding(id=f"{old.lineage}.{version}", title=title, text=text,
                          created_at=now, lineage=old.lineage, version=version,
                          replaces=old.id, changes=changes, source=path.name,
                          created_by=actor)
    await store.finding_add(finding)
    return finding


def finding_vars(finding: Finding) -> dict[str, str]:
    """What an endorsement round passes to the ``endorsement`` flow."""
    return {"finding_id": finding.id, "finding_title": finding.title,
            "finding_text": finding.text}
