"""One unit of work written to SQLite: the statements ``SqliteStore.apply`` runs inside
its transaction, in the order that keeps foreign keys and erasure right."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.errors import AlreadyProcessed
from bot.store.batch_insert import insert_rows
from bot.store.records import Changes
from bot.store.sql_runner import SqlConnection
from bot.store.sqlite_codec import (
    _INSERT_ANSWER,
    _INSERT_CONSENT,
    _INSERT_EVENT,
    _INSERT_OUTBOX,
    _INSERT_QUEUED,
    _INSERT_TIMER,
    _UPSERT_ADDRESS,
    _UPSERT_PARTICIPANT,
    _UPSERT_SESSION,
    Params,
    _Encoded,
)

NewIds = list[tuple[Any, int]]
"""Rows inserted and the ids SQLite gave them, set on the objects only once committed."""


async def _insert_all(db: SqlConnection, sql: str, rows: list[Params],
                      objects: Sequence[Any], ids: NewIds) -> None:
    """Several rows of one table in one statement (``batch_insert``)."""
    ids.extend(zip(objects, await insert_rows(db, sql, rows), strict=True))


async def _many(db: SqlConnection, sql: str, rows: list[Params]) -> None:
    if rows:
        await db.executemany(sql, rows)


async def write_rows(db: SqlConnection, enc: _Encoded, changes: Changes,
                     ids: NewIds) -> None:
    """Participant, sessions, answers, events, consents, outbox, queue and timers, then
    addresses (last but one: a foreign-key failure there undoes everything above)."""
    if enc.participant is not None:
        await db.execute(_UPSERT_PARTICIPANT, enc.participant)
    await _many(db, _UPSERT_SESSION, enc.sessions)
    await _insert_all(db, _INSERT_ANSWER, enc.answers, changes.answers, ids)
    await _insert_all(db, _INSERT_EVENT, enc.events, changes.events, ids)
    await _many(db, _INSERT_CONSENT, enc.consents)
    await _insert_all(db, _INSERT_OUTBOX, enc.outbox, changes.outbox, ids)
    await _many(db, "DELETE FROM queued_flows WHERE id = ?",
                [(i,) for i in changes.queue_remove])
    await _insert_all(db, _INSERT_QUEUED, enc.queue_push, changes.queue_push, ids)
    await _many(db, "DELETE FROM timers WHERE session_id = ?",
                [(s,) for s in changes.timers_clear_session])
    await _insert_all(db, _INSERT_TIMER, enc.timers_set, changes.timers_set, ids)
    await _many(db, _UPSERT_ADDRESS, enc.addresses)


async def finish_inbox(db: SqlConnection, enc: _Encoded, inbox_ids: list[int]) -> None:
    """Processed: its effects are stored, so only the dedupe key is kept (before consent,
    what someone wrote must not linger here). Only a pending row may finish: a second
    processing of the same message rolls back whole, so no answer is stored and no reply
    queued twice."""
    for inbox_id in inbox_ids:
        cursor = await db.execute(
            "UPDATE inbox SET status = 'done', processed_at = ?, payload = '{}', "
            "attempts = attempts + 1 WHERE id = ? AND status = 'pending'",
            (enc.inbox_done_at, inbox_id))
        if cursor.rowcount == 0 and await (await db.execute(
                "SELECT 1 FROM inbox WHERE id = ?", (inbox_id,))).fetchone():
            raise AlreadyProcessed(inbox_id)


async def use_invites(db: SqlConnection, codes: list[str], now_text: str) -> None:
    await _many(db, "UPDATE invites SET uses = uses + 1, used_at = COALESCE(used_at, ?) "
                "WHERE code = ?", [(now_text, code) for code in codes])
