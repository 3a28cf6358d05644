"""Erasure, table by table: the one place that says what erasing a person does.

``ERASURE`` lists, for every table that can hold a person's data, what erasure does to it,
as statements run inside the caller's transaction. The store walks the list in order
inside the unit of work that asked for it (``Changes.erase``), so the goodbye message, the
event recording the erasure and the erasure itself commit together or not at all.
**A new table that holds a person's data gets one ``TableErasure`` line here**, and the
contract suite checks what the store keeps.

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

import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.store import erasure_participation as quotes
from bot.store.erasure_scope import Scope
from bot.store.sql_runner import SqlConnection

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


SqliteStep = Callable[[SqlConnection, Scope], Awaitable[None]]


@dataclass(frozen=True)
class TableErasure:
    table: str
    sqlite: SqliteStep


def sql(*statements: str) -> SqliteStep:
    """Statements with the named parameters ``:pid`` and ``:at``."""

    async def run(db: SqlConnection, scope: Scope) -> None:
        for statement in statements:
            await db.execute(statement, scope.params)

    return run


async def _sqlite_inbox(db: SqlConnection, scope: Scope) -> None:
    rows = await db.execute_fetchall(
        "SELECT id, channel, dedupe_key FROM inbox WHERE address IN "
        "(SELECT address FROM addresses WHERE participant_id = :pid)", scope.params)
    await db.executemany(
        "UPDATE inbox SET dedupe_key = ?, address = '', payload = '{}', "
        "status = CASE status WHEN 'pending' THEN 'done' ELSE status END WHERE id = ?",
        [(forgotten_key(scope.secret, r[1], r[2]), r[0]) for r in rows])


ERASURE: tuple[TableErasure, ...] = (
    TableErasure("participants", sql(
        "UPDATE participants SET status = 'erased', erased_at = COALESCE(erased_at, :at), "
        "name = NULL, profile = '{}', tags = '[]', cohort = NULL, timezone = NULL, "
        "preferred_channel = NULL WHERE id = :pid")),
    # before addresses: the inbox rows are found through them
    TableErasure("inbox", _sqlite_inbox),
    TableErasure("addresses", sql("DELETE FROM addresses WHERE participant_id = :pid")),
    TableErasure("answers", sql(
        "UPDATE answers SET value = NULL, raw = NULL, raw_escaped = 0 "
        "WHERE participant_id = :pid")),
    TableErasure("events", sql(
        "UPDATE events SET payload = '{}' WHERE participant_id = :pid OR session_id IN "
        "(SELECT id FROM sessions WHERE participant_id = :pid)")),
    TableErasure("sms_parts", sql(
        "DELETE FROM sms_parts WHERE outbox_id IN "
        "(SELECT id FROM outbox WHERE participant_id = :pid)")),
    TableErasure("sms_status_events", sql(
        "DELETE FROM sms_status_events WHERE outbox_id IN "
        "(SELECT id FROM outbox WHERE participant_id = :pid)")),
    TableErasure("outbox", sql(
        "UPDATE outbox SET payload = '{}', address = '', last_error = NULL, "
        "status = CASE WHEN status IN ('pending', 'retry') THEN 'cancelled' ELSE status END "
        "WHERE participant_id = :pid")),
    TableErasure("queued_flows", sql("DELETE FROM queued_flows WHERE participant_id = :pid")),
    TableErasure("timers", sql(
        "DELETE FROM timers WHERE participant_id = :pid OR session_id IN "
        "(SELECT id FROM sessions WHERE participant_id = :pid)")),
    TableErasure("sessions", sql(
        "UPDATE sessions SET fields = '{}', vars = '{}' WHERE participant_id = :pid")),
    TableErasure("round_targets", sql(
        "UPDATE round_targets SET address = NULL, vars = NULL, version = version + 1 "
        "WHERE participant_id = :pid")),
    TableErasure("ledger", sql("UPDATE ledger SET note = '' WHERE participant_id = :pid")),
    # the coordinators' inbox (bot/store/attention.py) and the alerts that quoted the
    # person's words to coordinators (sent to coordinators, so not the person's own rows)
    TableErasure("attention", sql("UPDATE attention SET text = '' WHERE participant_id = :pid")),
    TableErasure("outbox_alerts", sql(
        "UPDATE outbox SET payload = '{}', status = CASE WHEN status IN ('pending', 'retry') "
        "THEN 'cancelled' ELSE status END WHERE participant_id = '' "
        "AND json_extract(payload, '$.about') = :pid")),
    TableErasure("audit_log", sql("UPDATE audit_log SET detail = '{}' WHERE subject = :pid")),
    # voice notes, photos …: the reference (a location is its coordinates) goes now, the
    # rows and files right after the commit (erasure_files: _media_files)
    TableErasure("media", sql(
        "UPDATE media SET source = '', status = 'erased' WHERE participant_id = :pid")),
    # their suggestions and statements quoted in moderation and in rounds' variables
    TableErasure("suggestion_decisions, rounds", quotes.sqlite_step),
    # issue 15. Time bank: hours stay for the totals (like credits), notes go. Themes: the
    # coding of the person's words goes with the words. Event RSVPs and attendance hold
    # no words (an answer, a place, times), so they stay for the event's numbers.
    TableErasure("time_ledger", sql(
        "UPDATE time_ledger SET note = '' WHERE participant_id = :pid")),
    TableErasure("timebank_requests", sql(
        "UPDATE timebank_requests SET note = '' WHERE participant_id = :pid")),
    TableErasure("answer_themes", sql(
        "DELETE FROM answer_themes WHERE answer_id IN "
        "(SELECT id FROM answers WHERE participant_id = :pid)")),
)


async def erase_sqlite(db: SqlConnection, participant_id: str, at: dt.datetime,
                       secret: str) -> None:
    """Every step of ``ERASURE`` inside the caller's transaction; KeyError if unknown."""
    found = await db.execute_fetchall("SELECT 1 FROM participants WHERE id = ?",
                                      (participant_id,))
    if not list(found):
        raise KeyError(participant_id)
    scope = Scope(participant_id, at, secret)
    for step in ERASURE:
        await step.sqlite(db, scope)
