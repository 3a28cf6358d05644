"""Creating a budget from a CSV of projects, and the variables of a round that votes on it.

``projects.csv`` has the columns ``title,cost,description`` (description optional);
costs are whole numbers in the budget's currency. Every problem is reported with its
line, and nothing is stored unless the whole file is right.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

from bot.errors import ImportRowError, ParleyError, Problem
from bot.flows.models_many import MAX_OPTIONS
from bot.store.participation import Budget, BudgetProject, ParticipationStore


def _cost(text: str) -> int | None:
    cleaned = text.replace(",", "").replace("£", "").replace("€", "").replace("$", "").strip()
    return int(cleaned) if cleaned.isdigit() else None


def read_projects(path: Path, total: int) -> list[BudgetProject]:
    """Projects ``p1``, ``p2``… in file order; ImportRowError naming each bad line."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ParleyError(f"{path}: cannot read it ({exc.strerror})") from exc
    reader = csv.DictReader(text.splitlines())
    missing = {"title", "cost"} - {(f or "").strip().lower() for f in reader.fieldnames or []}
    if missing:
        raise ImportRowError([Problem(str(path), 1, f"missing column(s): "
                                                    f"{', '.join(sorted(missing))}")])
    problems: list[Problem] = []
    projects: list[BudgetProject] = []
    for line, row in enumerate(reader, start=2):
        cells = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}
        title, cost = cells.get("title", ""), _cost(cells.get("cost", ""))
        if not title:
            problems.append(Problem(str(path), line, "title: empty"))
        elif cost is None or cost == 0:
            problems.append(Problem(str(path), line, f"cost: '{cells.get('cost', '')}' is not "
                                                     "a whole number above 0"))
        elif cost > total:
            problems.append(Problem(str(path), line, f"cost: {cost} is more than the whole "
                                                     f"budget ({total})"))
        else:
            projects.append(BudgetProject(f"p{len(projects) + 1}", title[:60], cost,
                                          cells.get("description", "")))
    if not problems and len(projects) < 2:
        problems.append(Problem(str(path), 1, "a budget needs at least 2 projects"))
    if not problems and len(projects) > MAX_OPTIONS:
        problems.append(Problem(str(path), 1, f"at most {MAX_OPTIONS} projects fit one "
                                              "question (SMS list, Telegram keyboard)"))
    if problems:
        raise ImportRowError(problems)
    return projects


async def create_budget(store: ParticipationStore, *, title: str, total: int, currency: str,
                        options: Path, now: dt.datetime) -> Budget:
    if total <= 0:
        raise ParleyError("--total must be a whole number above 0")
    if not title.strip():
        raise ParleyError("--title is empty")
    projects = read_projects(options, total)
    n = 1
    while await store.budget_get(f"b{n}") is not None:
        n += 1
    budget = Budget(f"b{n}", title.strip(), total, currency.strip().upper()[:8], now, projects)
    await store.budget_add(budget)
    return budget


def money(amount: int, currency: str) -> str:
    return f"{amount:,} {currency}".strip()


def budget_vars(budget: Budget) -> dict[str, str]:
    """The variables of a round voting on ``budget`` (flows budget, budget_points)."""
    options = [{"value": p.id, "label": f"{p.title} ({money(p.cost, budget.currency)})",
                "cost": p.cost} for p in budget.projects]
    return {"options": json.dumps(options, ensure_ascii=False),
            "budget": json.dumps({"total": budget.total, "unit": budget.currency}),
            "budget_total": money(budget.total, budget.currency), "budget_id": budget.id}
