"""Findings in the participant's language: ``findings publish F.md --translation
cy=F.cy.md``. A translation is parsed like the finding itself (``# Title``, text,
``## What we changed``); a round on the finding passes every translation, and each
locale's templates use theirs, saying plainly when there is none."""

from __future__ import annotations

from pathlib import Path

from bot.errors import ParleyError
from bot.findings.publish import parse_finding
from bot.store.participation import FindingTranslation, ParticipationStore
from bot.store.round_records import Finding


def parse_spec(spec: str, locales: list[str]) -> tuple[str, Path]:
    """``cy=fees.cy.md`` → ``("cy", Path("fees.cy.md"))``."""
    locale, _, file = spec.partition("=")
    locale = locale.strip()
    if not file.strip() or not locale:
        raise ParleyError(f"--translation '{spec}': write it as LOCALE=FILE.md")
    if locale not in locales:
        raise ParleyError(f"--translation: '{locale}' is not one of the project's locales "
                          f"({', '.join(locales)})")
    return locale, Path(file.strip())


def read_translations(specs: list[str], locales: list[str]
                      ) -> list[tuple[str, str, str, str]]:
    """``(locale, title, text, changes)`` of each file; ParleyError naming the file and
    line, before anything is stored."""
    parsed = []
    for spec in specs:
        locale, path = parse_spec(spec, locales)
        try:
            source = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise ParleyError(f"{path}: cannot read the file: {exc}") from exc
        parsed.append((locale, *parse_finding(source, str(path))))
    return parsed


async def store_translations(store: ParticipationStore, finding: Finding,
                             parsed: list[tuple[str, str, str, str]]) -> None:
    for locale, title, text, changes in parsed:
        await store.finding_translation_put(FindingTranslation(finding.id, locale, title,
                                                               text, changes))


async def translation_vars(store: ParticipationStore, finding: Finding) -> dict[str, str]:
    """``finding_title_cy``, ``finding_text_cy``, ``we_did_cy``… for a round's flow."""
    out: dict[str, str] = {}
    for locale, t in (await store.finding_translations(finding.id)).items():
        out[f"finding_title_{locale}"] = t.title
        out[f"finding_text_{locale}"] = t.text
        if t.changes:
            out[f"we_did_{locale}"] = t.changes
    return out
