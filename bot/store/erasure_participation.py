"""Erasure of a person's suggestions and statements where they are quoted beyond their
own events: a moderation decision's option text (``suggestion_decisions.label``, which
may repeat their words), the rounds that put them to others (a vote's ``options``, a
statements round's ``s1``…) and the sessions those rounds began (which keep their
variables). Messages already delivered to others keep what they said, as any sent
message does. The event itself is blanked with the person's other events;
these steps find the quotes by the event ids, which erasure keeps."""

from __future__ import annotations

import json

from bot.store.erasure_scope import Scope
from bot.store.sql_runner import SqlConnection

CONTRIBUTIONS = ("SuggestionMade", "StatementWritten")
ERASED_TEXT = "(erased)"


def _scrub_vars(variables: dict[str, str], ids: set[int]) -> dict[str, str] | None:
    """The round's variables without the person's words, or None when unchanged."""
    changed = dict(variables)
    for key, code in variables.items():  # a statements round: s1 = text, s1_id = T12
        if key.endswith("_id") and code[:1] == "T" and code[1:].isdigit() and int(code[1:]) in ids:
            changed[key.removesuffix("_id")] = ERASED_TEXT
    if "options" in variables:  # a vote on suggestions: [{"value": "s12", "label": …}]
        try:
            options = json.loads(variables["options"])
        except ValueError:
            options = None
        if isinstance(options, list):
            for option in options:
                value = str(option.get("value", "")) if isinstance(option, dict) else ""
                if value[:1] == "s" and value[1:].isdigit() and int(value[1:]) in ids:
                    option["label"] = ERASED_TEXT
            changed["options"] = json.dumps(options, ensure_ascii=False)
    return changed if changed != variables else None


async def sqlite_step(db: SqlConnection, scope: Scope) -> None:
    rows = await db.execute_fetchall(
        f"SELECT id FROM events WHERE participant_id = :pid AND name IN "
        f"({', '.join(repr(n) for n in CONTRIBUTIONS)})", scope.params)
    ids = {int(r[0]) for r in rows}
    if not ids:
        return
    marks = ", ".join("?" * len(ids))
    await db.execute(f"UPDATE suggestion_decisions SET label = NULL WHERE suggestion_id IN "
                     f"({marks})", sorted(ids))
    for table in ("rounds", "sessions"):  # a session keeps the variables it began with
        for row_id, raw in await db.execute_fetchall(
                f"SELECT id, vars FROM {table} WHERE vars LIKE '%options%' "
                "OR vars LIKE '%_id\"%'"):
            scrubbed = _scrub_vars(json.loads(raw or "{}"), ids)
            if scrubbed is not None:
                await db.execute(f"UPDATE {table} SET vars = ? WHERE id = ?",
                                 (json.dumps(scrubbed, ensure_ascii=False), row_id))
