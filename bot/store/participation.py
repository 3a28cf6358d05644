"""Store methods for agenda-setting and participatory budgets (the SQL mixin).

Suggestions are ``SuggestionMade`` events (written with the message that made them, in
one transaction); what is kept here is the moderation decision about each, and budgets
with their projects. Neither holds personal data: erasure blanks a suggestion's text
where it lives, in the event.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from bot.errors import StoreError
from bot.store.sql_runner import SqlRow, SqlRunner

DecisionStatus = Literal["accepted", "merged", "rejected"]


@dataclass
class SuggestionDecision:
    suggestion_id: int
    status: DecisionStatus
    decided_at: dt.datetime
    merged_into: int | None = None
    reason: str | None = None
    label: str | None = None
    decided_by: str = ""
    round_id: str | None = None


@dataclass
class BudgetProject:
    id: str
    title: str
    cost: int
    description: str = ""


@dataclass
class Budget:
    id: str
    title: str
    total: int
    currency: str
    created_at: dt.datetime
    projects: list[BudgetProject] = field(default_factory=list)


@dataclass
class FindingTranslation:
    finding_id: str
    locale: str
    title: str
    text: str
    changes: str = ""


class ParticipationStore(Protocol):
    async def decide_suggestion(self, decision: SuggestionDecision) -> None:
        """Record (or replace) the decision about one suggestion."""

    async def suggestion_decisions(self) -> dict[int, SuggestionDecision]: ...

    async def mark_suggestions_used(self, ids: Sequence[int], round_id: str) -> None:
        """The vote round these accepted suggestions became options of."""

    async def budget_add(self, budget: Budget) -> None:
        """StoreError if the id is taken."""

    async def budget_get(self, budget_id: str) -> Budget | None: ...

    async def finding_translation_put(self, translation: FindingTranslation) -> None:
        """Add or replace one locale's translation of a finding."""

    async def finding_translations(self, finding_id: str) -> dict[str, FindingTranslation]: ...


def _iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat(timespec="microseconds")


def _decision(row: SqlRow) -> SuggestionDecision:
    return SuggestionDecision(
        suggestion_id=row["suggestion_id"], status=row["status"],
        decided_at=dt.datetime.fromisoformat(row["decided_at"]),
        merged_into=row["merged_into"], reason=row["reason"], label=row["label"],
        decided_by=row["decided_by"], round_id=row["round_id"])


class SqliteParticipation(SqlRunner):
    """Mixed into SqliteStore."""

    async def decide_suggestion(self, decision: SuggestionDecision) -> None:
        d = decision
        async with self._write() as db:
            await db.execute(
                "INSERT INTO suggestion_decisions (suggestion_id, status, merged_into, reason, "
                "label, decided_at, decided_by, round_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (suggestion_id) DO UPDATE SET status = excluded.status, "
                "merged_into = excluded.merged_into, reason = excluded.reason, "
                "label = excluded.label, decided_at = excluded.decided_at, "
                "decided_by = excluded.decided_by",
                (d.suggestion_id, d.status, d.merged_into, d.reason, d.label,
                 _iso(d.decided_at), d.decided_by, d.round_id))

    async def suggestion_decisions(self) -> dict[int, SuggestionDecision]:
        rows = await self._all("SELECT * FROM suggestion_decisions ORDER BY suggestion_id", ())
        return {row["suggestion_id"]: _decision(row) for row in rows}

    async def mark_suggestions_used(self, ids: Sequence[int], round_id: str) -> None:
        async with self._write() as db:
            await db.executemany("UPDATE suggestion_decisions SET round_id = ? "
                                 "WHERE suggestion_id = ?", [(round_id, i) for i in ids])

    async def budget_add(self, budget: Budget) -> None:
        async with self._write() as db:
            found = await db.execute_fetchall("SELECT 1 FROM budgets WHERE id = ?", (budget.id,))
            if list(found):
                raise StoreError(f"budget {budget.id} already exists")
            await db.execute("INSERT INTO budgets (id, title, total, currency, created_at) "
                             "VALUES (?, ?, ?, ?, ?)", (budget.id, budget.title, budget.total,
                                                        budget.currency, _iso(budget.created_at)))
            await db.executemany(
                "INSERT INTO budget_projects (budget_id, id, title, cost, description, "
                "position) VALUES (?, ?, ?, ?, ?, ?)",
                [(budget.id, p.id, p.title, p.cost, p.description, i)
                 for i, p in enumerate(budget.projects)])

    async def budget_get(self, budget_id: str) -> Budget | None:
        row = await self._one("SELECT * FROM budgets WHERE id = ?", (budget_id,))
        if row is None:
            return None
        projects = await self._all("SELECT * FROM budget_projects WHERE budget_id = ? "
                                   "ORDER BY position", (budget_id,))
        return Budget(row["id"], row["title"], row["total"], row["currency"],
                      dt.datetime.fromisoformat(row["created_at"]),
                      [BudgetProject(p["id"], p["title"], p["cost"], p["description"])
                       for p in projects])


    async def finding_translation_put(self, translation: FindingTranslation) -> None:
        t = translation
        async with self._write() as db:
            await db.execute(
                "INSERT INTO finding_translations (finding_id, locale, title, text, changes) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (finding_id, locale) DO UPDATE SET "
                "title = excluded.title, text = excluded.text, changes = excluded.changes",
                (t.finding_id, t.locale, t.title, t.text, t.changes))

    async def finding_translations(self, finding_id: str
                                   ) -> dict[str, FindingTranslation]:
        rows = await self._all("SELECT * FROM finding_translations WHERE finding_id = ? "
                               "ORDER BY locale", (finding_id,))
        return {r["locale"]: FindingTranslation(r["finding_id"], r["locale"], r["title"],
                                                r["text"], r["changes"]) for r in rows}
