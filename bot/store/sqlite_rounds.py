"""``SqliteStore``'s rounds, findings, credits and audit tables (mixed into the store).

See ``bot/store/rounds_base.py`` for the contract. Planning writes a round's targets with
``executemany`` in chunks inside one transaction, so 100,000 people take about a second.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from functools import lru_cache
from itertools import islice
from typing import Any, cast

from bot.errors import StoreError
from bot.store.round_records import (
    ACTIVE_TARGET_STATUSES,
    Candidate,
    DeliveryRow,
    Finding,
    LedgerEntry,
    PayoutBatch,
    Round,
    RoundTarget,
)
from bot.store.rounds_base import StaleWrite
from bot.store.sql_runner import SqlConnection, SqlRow, SqlRunner

UTC = dt.UTC
Params = tuple[Any, ...]
_ACTIVE = ",".join(f"'{s}'" for s in ACTIVE_TARGET_STATUSES)
CHUNK = 2000


@lru_cache(maxsize=4096)
def _t(value: dt.datetime | None) -> str | None:
    """Stored form of a datetime (cached: a round's targets share a few send times)."""
    if value is None:
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value.isoformat()} given to the store")
    return value.astimezone(UTC).isoformat(timespec="microseconds")


class _Tags:
    """Participants' tag lists, each distinct text parsed once per scan: the memo lives as
    long as the call, so no process-wide table keeps anyone's tags (issue 18)."""

    def __init__(self) -> None:
        self.seen: dict[str, tuple[str, ...]] = {}

    def __call__(self, text: str) -> tuple[str, ...]:
        found = self.seen.get(text)
        if found is None:
            found = self.seen[text] = tuple(json.loads(text))
        return found


def _d(text: str | None) -> dt.datetime | None:
    return None if text is None else dt.datetime.fromisoformat(text).astimezone(UTC)


def _dd(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).astimezone(UTC)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


# -- rows ----------------------------------------------------------------------------------

_ROUND_COLS = ("id, flow_id, audience, audience_ids, created_at, start_at, status, label, "
               "finding_id, vars, every, until, remind_after, close_after, series_id, "
               "occurrence, created_by, started_at, closed_at, version")


def _round_params(r: Round) -> Params:
    return (r.id, r.flow_id, r.audience, _json(list(r.audience_ids)), _t(r.created_at),
            _t(r.start_at), r.status, r.label, r.finding_id, _json(r.vars), r.every,
            _t(r.until), _json(list(r.remind_after)), r.close_after, r.series_id,
            r.occurrence, r.created_by, _t(r.started_at), _t(r.closed_at), r.version)


def round_from_row(row: SqlRow) -> Round:
    return Round(
        id=row["id"], flow_id=row["flow_id"], audience=row["audience"],
        audience_ids=tuple(json.loads(row["audience_ids"])),
        created_at=_dd(row["created_at"]), start_at=_dd(row["start_at"]),
        status=row["status"], label=row["label"], finding_id=row["finding_id"],
        vars=json.loads(row["vars"]), every=row["every"], until=_d(row["until"]),
        remind_after=tuple(json.loads(row["remind_after"])), close_after=row["close_after"],
        series_id=row["series_id"], occurrence=row["occurrence"],
        created_by=row["created_by"], started_at=_d(row["started_at"]),
        closed_at=_d(row["closed_at"]), version=row["version"])


_TARGET_COLS = ("round_id, participant_id, channel, address, send_at, status, step, next_at, "
                "sent_at, closes_at, started_at, completed_at, late, segments_estimated, "
                "vars, version")


def target_params(t: RoundTarget) -> Params:
    return (t.round_id, t.participant_id, t.channel, t.address, _t(t.send_at), t.status,
            t.step, _t(t.next_at), _t(t.sent_at), _t(t.closes_at), _t(t.started_at),
            _t(t.completed_at), int(t.late), t.segments_estimated,
            _json(t.vars) if t.vars else None, t.version)


def _target(row: SqlRow) -> RoundTarget:
    return RoundTarget(
        round_id=row["round_id"], participant_id=row["participant_id"],
        channel=row["channel"], address=row["address"], send_at=_dd(row["send_at"]),
        status=row["status"], step=row["step"], next_at=_d(row["next_at"]),
        sent_at=_d(row["sent_at"]), closes_at=_d(row["closes_at"]),
        started_at=_d(row["started_at"]), completed_at=_d(row["completed_at"]),
        late=bool(row["late"]), segments_estimated=row["segments_estimated"],
        vars=json.loads(row["vars"]) if row["vars"] else {}, version=row["version"])


_LEDGER_COLS = ("participant_id, at, amount, kind, payable, key, flow_id, session_id, "
                "round_id, note, actor")


def ledger_params(e: LedgerEntry) -> Params:
    return (e.participant_id, _t(e.at), int(e.amount), e.kind, int(e.payable), e.key,
            e.flow_id, e.session_id, e.round_id, e.note, e.actor)


def _ledger(row: SqlRow) -> LedgerEntry:
    return LedgerEntry(
        participant_id=row["participant_id"], at=_dd(row["at"]), amount=row["amount"],
        kind=row["kind"], payable=bool(row["payable"]), key=row["key"],
        flow_id=row["flow_id"], session_id=row["session_id"], round_id=row["round_id"],
        note=row["note"], actor=row["actor"], id=row["id"])


def _batch(row: SqlRow) -> PayoutBatch:
    return PayoutBatch(
        id=row["id"], period=row["period"], created_at=_dd(row["created_at"]),
        total=row["total"], rows=row["rows"], file=row["file"], status=row["status"],
        actor=row["actor"], paid_at=_d(row["paid_at"]), paid_by=row["paid_by"])


def _finding(row: SqlRow) -> Finding:
    return Finding(id=row["id"], title=row["title"], text=row["text"],
                   created_at=_dd(row["created_at"]), lineage=row["lineage"],
                   version=row["version"], replaces=row["replaces"],
                   changes=row["changes"], source=row["source"],
                   created_by=row["created_by"])


_UPDATE_TARGET = (
    "UPDATE round_targets SET channel = ?, address = ?, send_at = ?, status = ?, step = ?, "
    "next_at = ?, sent_at = ?, closes_at = ?, started_at = ?, completed_at = ?, late = ?, "
    "segments_estimated = ?, vars = ?, version = version + 1 "
    "WHERE round_id = ? AND participant_id = ? AND version = ?")


def _chunks(items: Iterable[Params], size: int = CHUNK) -> Iterator[list[Params]]:
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk


async def write_targets(db: SqlConnection, targets: Sequence[RoundTarget]) -> None:
    """Compare-and-set each target (inside the caller's transaction)."""
    for t in targets:
        p = target_params(t)
        cursor = await db.execute(_UPDATE_TARGET, (*p[2:15], t.round_id, t.participant_id,
                                                   t.version))
        if cursor.rowcount != 1:
            raise StaleWrite(f"round target {t.round_id}/{t.participant_id} changed since "
                             "it was read")


async def write_ledger(db: SqlConnection, entries: Sequence[LedgerEntry]
                       ) -> list[tuple[LedgerEntry, int]]:
    """Insert entries (inside the caller's transaction); a known key is skipped."""
    ids = []
    for e in entries:
        cursor = await db.execute(
            f"INSERT INTO ledger ({_LEDGER_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (key) DO NOTHING", ledger_params(e))
        if cursor.rowcount == 1:
            ids.append((e, cast(int, cursor.lastrowid)))
    return ids


async def _save_round(db: SqlConnection, r: Round) -> None:
    p = _round_params(r)
    cursor = await db.execute(
        "UPDATE rounds SET flow_id = ?, audience = ?, audience_ids = ?, created_at = ?, "
        "start_at = ?, status = ?, label = ?, finding_id = ?, vars = ?, every = ?, until = ?, "
        "remind_after = ?, close_after = ?, series_id = ?, occurrence = ?, created_by = ?, "
        "started_at = ?, closed_at = ?, version = version + 1 WHERE id = ? AND version = ?",
        (*p[1:19], r.id, r.version))
    if cursor.rowcount != 1:
        raise StaleWrite(f"round {r.id} changed since it was read")


class SqliteRounds(SqlRunner):
    """Mixed into SqliteStore (which provides ``_write``, ``_all`` and ``_one``)."""

    # rounds ----------------------------------------------------------------------------
    async def round_add(self, item: Round) -> None:
        params = _round_params(item)
        async with self._write() as db:
            try:
                await db.execute(f"INSERT INTO rounds ({_ROUND_COLS}) VALUES "
                                 f"({','.join('?' * len(params))})", params)
            except sqlite3.IntegrityError as exc:
                raise StoreError(f"round {item.id} already exists") from exc

    async def round_get(self, round_id: str) -> Round | None:
        row = await self._one("SELECT * FROM rounds WHERE id = ?", (round_id,))
        return None if row is None else round_from_row(row)

    async def rounds_all(self) -> list[Round]:
        rows = await self._all("SELECT * FROM rounds ORDER BY created_at, rowid")
        return [round_from_row(r) for r in rows]

    async def round_save(self, item: Round) -> None:
        async with self._write() as db:
            await _save_round(db, item)
        item.version += 1

    async def round_plan(self, item: Round, targets: Iterable[RoundTarget]) -> int:
        inserted = 0
        sql = (f"INSERT INTO round_targets ({_TARGET_COLS}) VALUES "
               f"(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING")
        async with self._write() as db:
            await _save_round(db, item)
            for chunk in _chunks(target_params(t) for t in targets):
                cursor = await db.executemany(sql, chunk)
                inserted += max(cursor.rowcount, 0)
        item.version += 1
        return inserted

    async def round_cancel(self, item: Round, at: dt.datetime) -> int:
        async with self._write() as db:
            await _save_round(db, item)
            cursor = await db.execute(
                f"UPDATE round_targets SET status = 'cancelled', next_at = NULL, "
                f"version = version + 1 WHERE round_id = ? AND status IN ({_ACTIVE})",
                (item.id,))
            count = int(cursor.rowcount)
            await db.execute("DELETE FROM queued_flows WHERE round_id = ?", (item.id,))
            await db.execute("UPDATE outbox SET status = 'cancelled', last_error = ? "
                             "WHERE round_id = ? AND status IN ('pending', 'retry')",
                             (f"round cancelled {_t(at)}", item.id))
        item.version += 1
        return count

    async def candidates(self, *, cohort: str | None = None, tag: str | None = None,
                         ids: Sequence[str] | None = None) -> list[Candidate]:
        where, params = ["p.status NOT IN ('erased', 'declined')"], []
        if cohort is not None:
            where.append("p.cohort = ?")
            params.append(cohort)
        if tag is not None:
            where.append("EXISTS (SELECT 1 FROM json_each(p.tags) WHERE value = ?)")
            params.append(tag)
        sql = ("SELECT p.id, p.status, p.locale, p.timezone, p.preferred_channel, p.cohort, "
               "p.tags, p.pathway_done, json_extract(p.profile, '$.quiet_hours'), "
               "json_extract(p.profile, '$.contact_time'), a.address, a.channel, "
               "a.opted_out, a.unreachable FROM participants p LEFT JOIN addresses a "
               f"ON a.participant_id = p.id WHERE {' AND '.join(where)} "
               "ORDER BY p.rowid")  # enrolment order, and no sort for 100,000 rows
        wanted = None if ids is None else set(ids)
        out: list[Candidate] = []
        last: Candidate | None = None
        tags = _Tags()
        async with self._locked() as db:
            db.row_factory = None  # plain tuples: a third of the cost for 100,000 rows
            cursor = await db.execute(sql, params)
            try:
                while rows := await cursor.fetchmany(5000):  # streamed, not all in memory
                    for r in rows:
                        pid = r[0]
                        if wanted is not None and pid not in wanted:
                            continue
                        if last is None or last.id != pid:
                            last = Candidate(pid, r[1], r[2], r[3], r[4], r[5], tags(r[6]),
                                             bool(r[7]), r[8], r[9])
                            out.append(last)
                        if r[10] is not None:
                            last.addresses.append((r[10], r[11], bool(r[12]), bool(r[13])))
            finally:
                db.row_factory = sqlite3.Row
                await cursor.close()
        return out

    # targets ----------------------------------------------------------------------------
    async def target_get(self, round_id: str, participant_id: str) -> RoundTarget | None:
        row = await self._one("SELECT * FROM round_targets WHERE round_id = ? AND "
                              "participant_id = ?", (round_id, participant_id))
        return None if row is None else _target(row)

    async def targets_of(self, round_id: str) -> list[RoundTarget]:
        rows = await self._all("SELECT * FROM round_targets WHERE round_id = ? "
                               "ORDER BY send_at, participant_id", (round_id,))
        return [_target(r) for r in rows]

    async def targets_due(self, now: dt.datetime, limit: int = 500) -> list[RoundTarget]:
        rows = await self._all(
            "SELECT t.* FROM round_targets t JOIN rounds r ON r.id = t.round_id "
            "WHERE t.next_at IS NOT NULL AND t.next_at <= ? AND r.status = 'running' "
            "ORDER BY t.next_at, t.round_id, t.participant_id LIMIT ?", (_t(now), limit))
        return [_target(r) for r in rows]

    async def targets_open(self, round_id: str) -> int:
        row = await self._one("SELECT count(*) FROM round_targets WHERE round_id = ? AND "
                              "next_at IS NOT NULL", (round_id,))
        return 0 if row is None else int(row[0])

    async def next_target_at(self) -> dt.datetime | None:
        row = await self._one(
            "SELECT min(t.next_at) FROM round_targets t JOIN rounds r ON r.id = t.round_id "
            "WHERE t.next_at IS NOT NULL AND r.status = 'running'")
        return None if row is None else _d(row[0])

    async def round_delivery(self, round_id: str) -> list[DeliveryRow]:
        rows = await self._all(
            "SELECT participant_id, channel, status, delivery_status, segments, "
            "json_extract(payload, '$.kind') FROM outbox WHERE round_id = ? ORDER BY id",
            (round_id,))
        return [DeliveryRow(r[0], r[1], r[2], r[3], r[4], r[5]) for r in rows]
