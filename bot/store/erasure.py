"""Erasure, table by table: the one place that says what erasing a person does.

``ERASURE`` lists, for every table that can hold a person's data, what erasure does to it,
once for SQLite (statements run inside the caller's transaction) and once for the
in-memory twin. ``SqliteStore`` and ``MemoryStore`` both walk the list in order inside
the unit of work that asked for it (``Changes.erase``), so the goodbye message, the
event recording the erasure and the erasure itself commit together or not at all.
**A new table that holds a person's data gets one ``TableErasure`` line here**, and the
contract suite checks both stores do the same.

What is kept (the consent text says so): an anonymised participant row (``erased``) so
totals stay right, consent decisions, credit amounts, round counts. What goes: names,
profile, addresses (also inside round targets and outbox rows), answers' values and
text, event payloads, outbox text, SMS part records, free text in the ledger and the
audit log about the person, queued flows, timers and session fields.

Inbox rows are kept with their address and payload blanked and their dedupe key replaced
by a keyed hash (HMAC-SHA256 with a per-project secret): a signed request replayed after
the erasure still matches its old key and is refused, yet the key no longer reveals the
chat id or message it came from.

Files: payout CSVs on disk (``payout_batches.file``, their participation file, and
participation files of exports that paid nothing, found in the audit log) are rewritten
without the person right after the commit (``bot/store/erasure_files.py``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiosqlite

from bot.store import erasure_participation as quotes
from bot.store.erasure_scope import Scope

SECRET_KEY = "inbox_key_secret"
"""The ``meta`` row holding the per-project secret of erased inbox keys."""
ERASED_PREFIX = "erased:"


def new_secret() -> str:
    return secrets.token_hex(32)


def forgotten_key(secret: str, channel: str, dedupe_key: str) -> str:
    """The key an erased person's inbox row keeps instead of ``dedupe_key``."""
    digest = hmac.new(secret.encode("ascii"), f"{channel}\0{dedupe_key}".encode(),
                      hashlib.sha256).hexdigest()
    return ERASED_PREFIX + digest


SqliteStep = Callable[[aiosqlite.Connection, Scope], Awaitable[None]]
MemoryStep = Callable[[Any, Scope], None]


@dataclass(frozen=True)
class TableErasure:
    table: str
    sqlite: SqliteStep
    memory: MemoryStep


def sql(*statements: str) -> SqliteStep:
    """Statements with the named parameters ``:pid`` and ``:at``."""

    async def run(db: aiosqlite.Connection, scope: Scope) -> None:
        for statement in statements:
            await db.execute(statement, scope.params)

    return run


def blank(rows: Callable[[Any], Any], match: Callable[[Any, Scope], bool],
          **values: Any) -> MemoryStep:
    """Memory twin of ``UPDATE … SET values WHERE match``, over a dict or list of rows."""

    def run(store: Any, scope: Scope) -> None:
        table = rows(store)
        items = table.items() if isinstance(table, dict) else enumerate(table)
        for key, row in list(items):
            if match(row, scope):
                table[key] = dataclasses.replace(row, **values)

    return run


def drop(rows: Callable[[Any], Any], match: Callable[[Any, Scope], bool]) -> MemoryStep:
    """Memory twin of ``DELETE … WHERE match``."""

    def run(store: Any, scope: Scope) -> None:
        table = rows(store)
        if isinstance(table, dict):
            for key in [k for k, row in table.items() if match(row, scope)]:
                del table[key]
        else:
            table[:] = [row for row in table if not match(row, scope)]

    return run


def _mine(row: Any, scope: Scope) -> bool:
    return bool(row.participant_id == scope.participant_id)


def _of_my_outbox(row: Any, scope: Scope) -> bool:
    return row.outbox_id in scope.outbox_ids


def _my_session_or_me(row: Any, scope: Scope) -> bool:
    return _mine(row, scope) or row.session_id in scope.sessions


def _participant(store: Any, scope: Scope) -> None:
    person = store._participants[scope.participant_id]
    store._participants[scope.participant_id] = dataclasses.replace(
        person, status="erased", erased_at=person.erased_at or scope.at, name=None,
        profile={}, tags=(), cohort=None, timezone=None, preferred_channel=None)


async def _sqlite_inbox(db: aiosqlite.Connection, scope: Scope) -> None:
    rows = await db.execute_fetchall(
        "SELECT id, channel, dedupe_key FROM inbox WHERE address IN "
        "(SELECT address FROM addresses WHERE participant_id = :pid)", scope.params)
    await db.executemany(
        "UPDATE inbox SET dedupe_key = ?, address = '', payload = '{}', "
        "status = CASE status WHEN 'pending' THEN 'done' ELSE status END WHERE id = ?",
        [(forgotten_key(scope.secret, r[1], r[2]), r[0]) for r in rows])


def _memory_inbox(store: Any, scope: Scope) -> None:
    for key, item in list(store._inbox.items()):
        if item.address not in scope.addresses:
            continue
        kept = forgotten_key(scope.secret, item.channel, item.dedupe_key)
        store._inbox_keys.discard((item.channel, item.dedupe_key))
        store._inbox_keys.add((item.channel, kept))
        store._inbox[key] = dataclasses.replace(
            item, dedupe_key=kept, address="", payload={},
            status="done" if item.status == "pending" else item.status)


def _memory_outbox(store: Any, scope: Scope) -> None:
    for key, item in list(store._outbox.items()):
        if _mine(item, scope):
            store._outbox[key] = dataclasses.replace(
                item, payload={}, address="", last_error=None,
                status="cancelled" if item.status in ("pending", "retry") else item.status)


def _memory_alerts(store: Any, scope: Scope) -> None:
    for key, item in list(store._outbox.items()):
        if item.participant_id == "" and item.payload.get("about") == scope.participant_id:
            store._outbox[key] = dataclasses.replace(
                item, payload={},
                status="cancelled" if item.status in ("pending", "retry") else item.status)


def _memory_sessions(store: Any, scope: Scope) -> None:
    for key in scope.sessions:
        store._sessions[key] = store._sessions[key].evolve(fields={}, vars={})


def _memory_answer_themes(store: Any, scope: Scope) -> None:
    store._themes_erase({a.id for a in store._answers.values()
                         if _mine(a, scope) and a.id is not None})


def _memory_targets(store: Any, scope: Scope) -> None:
    targets = store._rt().targets
    for key, t in list(targets.items()):
        if _mine(t, scope):  # a new version: a scheduler holding the old row cannot
            targets[key] = dataclasses.replace(t, address=None, vars={},  # write it back
                                               version=t.version + 1)


ERASURE: tuple[TableErasure, ...] = (
    TableErasure("participants", sql(
        "UPDATE participants SET status = 'erased', erased_at = COALESCE(erased_at, :at), "
        "name = NULL, profile = '{}', tags = '[]', cohort = NULL, timezone = NULL, "
        "preferred_channel = NULL WHERE id = :pid"), _participant),
    # before addresses: the inbox rows are found through them
    TableErasure("inbox", _sqlite_inbox, _memory_inbox),
    TableErasure("addresses", sql("DELETE FROM addresses WHERE participant_id = :pid"),
                 drop(lambda s: s._addresses, _mine)),
    TableErasure("answers", sql(
        "UPDATE answers SET value = NULL, raw = NULL, raw_escaped = 0 "
        "WHERE participant_id = :pid"),
        blank(lambda s: s._answers, _mine, value=None, raw=None)),
    TableErasure("events", sql(
        "UPDATE events SET payload = '{}' WHERE participant_id = :pid OR session_id IN "
        "(SELECT id FROM sessions WHERE participant_id = :pid)"),
        blank(lambda s: s._events, _my_session_or_me, payload={})),
    TableErasure("sms_parts", sql(
        "DELETE FROM sms_parts WHERE outbox_id IN "
        "(SELECT id FROM outbox WHERE participant_id = :pid)"),
        drop(lambda s: s._sms()[0], _of_my_outbox)),
    TableErasure("sms_status_events", sql(
        "DELETE FROM sms_status_events WHERE outbox_id IN "
        "(SELECT id FROM outbox WHERE participant_id = :pid)"),
        drop(lambda s: s._sms()[1], _of_my_outbox)),
    TableErasure("outbox", sql(
        "UPDATE outbox SET payload = '{}', address = '', last_error = NULL, "
        "status = CASE WHEN status IN ('pending', 'retry') THEN 'cancelled' ELSE status END "
        "WHERE participant_id = :pid"), _memory_outbox),
    TableErasure("queued_flows", sql("DELETE FROM queued_flows WHERE participant_id = :pid"),
                 drop(lambda s: s._queue, _mine)),
    TableErasure("timers", sql(
        "DELETE FROM timers WHERE participant_id = :pid OR session_id IN "
        "(SELECT id FROM sessions WHERE participant_id = :pid)"),
        drop(lambda s: s._timers, _my_session_or_me)),
    TableErasure("sessions", sql(
        "UPDATE sessions SET fields = '{}', vars = '{}' WHERE participant_id = :pid"),
        _memory_sessions),
    TableErasure("round_targets", sql(
        "UPDATE round_targets SET address = NULL, vars = NULL, version = version + 1 "
        "WHERE participant_id = :pid"), _memory_targets),
    TableErasure("ledger", sql("UPDATE ledger SET note = '' WHERE participant_id = :pid"),
                 blank(lambda s: s._rt().ledger, _mine, note="")),
    # the coordinators' inbox (bot/store/attention.py) and the alerts that quoted the
    # person's words to coordinators (sent to coordinators, so not the person's own rows)
    TableErasure("attention", sql("UPDATE attention SET text = '' WHERE participant_id = :pid"),
                 blank(lambda s: s._attention(), _mine, text="")),
    TableErasure("outbox_alerts", sql(
        "UPDATE outbox SET payload = '{}', status = CASE WHEN status IN ('pending', 'retry') "
        "THEN 'cancelled' ELSE status END WHERE participant_id = '' "
        "AND json_extract(payload, '$.about') = :pid"), _memory_alerts),
    TableErasure("audit_log", sql("UPDATE audit_log SET detail = '{}' WHERE subject = :pid"),
                 blank(lambda s: s._rt().audit, lambda e, sc: e.subject == sc.participant_id,
                       detail={})),
    # voice notes, photos …: the reference (a location is its coordinates) goes now, the
    # rows and files right after the commit (erasure_files: _media_files)
    TableErasure("media", sql(
        "UPDATE media SET source = '', status = 'erased' WHERE participant_id = :pid"),
        blank(lambda s: s._media(), _mine, source="", status="erased")),
    # their suggestions and statements quoted in moderation and in rounds' variables
    TableErasure("suggestion_decisions, rounds", quotes.sqlite_step, quotes.memory_step),
    # issue 15. Time bank: hours stay for the totals (like credits), notes go. Themes: the
    # coding of the person's words goes with the words. Event RSVPs and attendance hold
    # no words (an answer, a place, times), so they stay for the event's numbers.
    TableErasure("time_ledger", sql(
        "UPDATE time_ledger SET note = '' WHERE participant_id = :pid"),
        blank(lambda s: s._tb()["hours"], _mine, note="")),
    TableErasure("timebank_requests", sql(
        "UPDATE timebank_requests SET note = '' WHERE participant_id = :pid"),
        blank(lambda s: s._tb()["requests"], _mine, note="")),
    TableErasure("answer_themes", sql(
        "DELETE FROM answer_themes WHERE answer_id IN "
        "(SELECT id FROM answers WHERE participant_id = :pid)"), _memory_answer_themes),
)


async def erase_sqlite(db: aiosqlite.Connection, participant_id: str, at: dt.datetime,
                       secret: str) -> None:
    """Every step of ``ERASURE`` inside the caller's transaction; KeyError if unknown."""
    found = await db.execute_fetchall("SELECT 1 FROM participants WHERE id = ?",
                                      (participant_id,))
    if not list(found):
        raise KeyError(participant_id)
    scope = Scope(participant_id, at, secret)
    for step in ERASURE:
        await step.sqlite(db, scope)


def memory_scope(store: Any, participant_id: str, at: dt.datetime, secret: str) -> Scope:
    """The scope of an erasure in ``MemoryStore``; KeyError if the person is unknown."""
    if participant_id not in store._participants:
        raise KeyError(participant_id)
    return Scope(
        participant_id, at, secret,
        addresses=frozenset(a for a, row in store._addresses.items()
                            if row.participant_id == participant_id),
        sessions=frozenset(k for k, s in store._sessions.items()
                           if s.participant_id == participant_id),
        outbox_ids=frozenset(k for k, o in store._outbox.items()
                             if o.participant_id == participant_id))


def erase_memory(store: Any, scope: Scope) -> None:
    for step in ERASURE:
        step.memory(store, scope)
