"""Store methods for the time bank (``[credits] time_bank``).

Hours live in their own append-only ledger (``time_ledger``, in minutes), beside the
money ledger, so payouts never mix the currencies. New ledger entries, new SPEND
requests and coordinators' decisions travel in ``Changes`` (``hours``,
``spend_requests``, ``spend_decisions``) and commit with the messages they cause;
``write_timebank`` is the store's hook for that.
A decision only applies to a request still pending (``StaleWrite`` otherwise), so a
request is never confirmed twice.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol, cast

from bot.store.rounds_base import StaleWrite
from bot.store.sql_runner import SqlConnection, SqlRow, SqlRunner

if TYPE_CHECKING:
    pass

HourKind = Literal["earned", "spent", "adjustment"]
RequestStatus = Literal["pending", "confirmed", "declined"]


@dataclass
class HourEntry:
    participant_id: str
    at: dt.datetime
    minutes: int
    kind: HourKind
    key: str | None = None
    source: str = ""
    note: str = ""
    actor: str = ""
    id: int | None = None


@dataclass
class Offer:
    code: str
    title: str
    minutes: int
    created_at: dt.datetime
    description: str = ""
    created_by: str = ""
    retired_at: dt.datetime | None = None


@dataclass
class SpendRequest:
    participant_id: str
    offer_code: str
    minutes: int
    uses: int
    requested_at: dt.datetime
    key: str | None = None
    status: RequestStatus = "pending"
    decided_at: dt.datetime | None = None
    decided_by: str = ""
    note: str = ""
    id: int | None = None


@dataclass
class SpendDecision:
    request_id: int
    status: Literal["confirmed", "declined"]
    at: dt.datetime
    by: str
    note: str = ""


class Changes(Protocol):
    """The part of ``bot.store.records.Changes`` this module writes (a Protocol: the
    records module imports the rows defined here)."""

    @property
    def hours(self) -> list[HourEntry]: ...

    @property
    def spend_requests(self) -> list[SpendRequest]: ...

    @property
    def spend_decisions(self) -> list[SpendDecision]: ...


class TimebankStore(Protocol):
    async def offer_add(self, offer: Offer) -> None:
        """StoreError when the code is taken (retired offers keep their code)."""

    async def offers(self, *, include_retired: bool = False) -> list[Offer]: ...
    async def offer_retire(self, code: str, at: dt.datetime) -> bool:
        """False when there is no such active offer."""

    async def hour_entries(self, participant_id: str | None = None) -> list[HourEntry]: ...
    async def spend_requests(self, *, status: str | None = None,
                             participant_id: str | None = None) -> list[SpendRequest]: ...
    async def spend_request(self, request_id: int) -> SpendRequest | None: ...


def _dt(text: str | None) -> dt.datetime | None:
    return None if text is None else dt.datetime.fromisoformat(text).astimezone(dt.UTC)


def _text(value: dt.datetime | None) -> str | None:
    return None if value is None else value.astimezone(dt.UTC).isoformat(timespec="microseconds")


def _entry(r: SqlRow) -> HourEntry:
    return HourEntry(r["participant_id"], cast(dt.datetime, _dt(r["at"])), r["minutes"],
                     r["kind"], r["key"], r["source"], r["note"], r["actor"], r["id"])


def _request(r: SqlRow) -> SpendRequest:
    return SpendRequest(r["participant_id"], r["offer_code"], r["minutes"], r["uses"],
                        cast(dt.datetime, _dt(r["requested_at"])), r["key"], r["status"],
                        _dt(r["decided_at"]), r["decided_by"], r["note"], r["id"])


def _offer(r: SqlRow) -> Offer:
    return Offer(r["code"], r["title"], r["minutes"], cast(dt.datetime, _dt(r["created_at"])),
                 r["description"], r["created_by"], _dt(r["retired_at"]))


async def write_timebank(db: SqlConnection, changes: Changes) -> list[tuple[Any, int]]:
    """Inside ``SqliteStore.apply``'s transaction: entries and requests (a known key is
    skipped), then decisions (each on a pending request, else StaleWrite)."""
    ids: list[tuple[Any, int]] = []
    for e in changes.hours:
        cursor = await db.execute(
            "INSERT INTO time_ledger (participant_id, at, minutes, kind, key, source, note, "
            "actor) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING",
            (e.participant_id, _text(e.at), e.minutes, e.kind, e.key, e.source, e.note,
             e.actor))
        if cursor.rowcount == 1:
            ids.append((e, cast(int, cursor.lastrowid)))
    for q in changes.spend_requests:
        cursor = await db.execute(
            "INSERT INTO timebank_requests (participant_id, offer_code, minutes, uses, "
            "requested_at, key, status) VALUES (?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (key) DO NOTHING",
            (q.participant_id, q.offer_code, q.minutes, q.uses, _text(q.requested_at), q.key,
             q.status))
        if cursor.rowcount == 1:
            ids.append((q, cast(int, cursor.lastrowid)))
    for d in changes.spend_decisions:
        cursor = await db.execute(
            "UPDATE timebank_requests SET status = ?, decided_at = ?, decided_by = ?, "
            "note = ? WHERE id = ? AND status = 'pending'",
            (d.status, _text(d.at), d.by, d.note, d.request_id))
        if cursor.rowcount != 1:
            raise StaleWrite(f"spend request {d.request_id} is no longer pending")
    return ids


class SqliteTimebank(SqlRunner):
    """Mixed into SqliteStore."""

    async def offer_add(self, offer: Offer) -> None:
        from bot.errors import StoreError

        async with self._write() as db:
            try:  # inside: the store turns an error that leaves _write into a StoreError
                await db.execute(
                    "INSERT INTO timebank_offers (code, title, minutes, description, "
                    "created_at, created_by) VALUES (?, ?, ?, ?, ?, ?)",
                    (offer.code, offer.title, offer.minutes, offer.description,
                     _text(offer.created_at), offer.created_by))
            except sqlite3.IntegrityError as exc:
                raise StoreError(f"an offer with code '{offer.code}' already exists") from exc

    async def offers(self, *, include_retired: bool = False) -> list[Offer]:
        where = "" if include_retired else " WHERE retired_at IS NULL"
        rows = await self._all(f"SELECT * FROM timebank_offers{where} ORDER BY created_at")
        return [_offer(r) for r in rows]

    async def offer_retire(self, code: str, at: dt.datetime) -> bool:
        async with self._write() as db:
            cursor = await db.execute("UPDATE timebank_offers SET retired_at = ? "
                                      "WHERE code = ? AND retired_at IS NULL", (_text(at), code))
            return bool(cursor.rowcount == 1)

    async def hour_entries(self, participant_id: str | None = None) -> list[HourEntry]:
        if participant_id is None:
            rows = await self._all("SELECT * FROM time_ledger ORDER BY id")
        else:
            rows = await self._all("SELECT * FROM time_ledger WHERE participant_id = ? "
                                   "ORDER BY id", (participant_id,))
        return [_entry(r) for r in rows]

    async def spend_requests(self, *, status: str | None = None,
                             participant_id: str | None = None) -> list[SpendRequest]:
        where, params = [], []
        for column, value in (("status", status), ("participant_id", participant_id)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        sql = "SELECT * FROM timebank_requests" + (
            f" WHERE {' AND '.join(where)}" if where else "") + " ORDER BY id"
        return [_request(r) for r in await self._all(sql, params)]

    async def spend_request(self, request_id: int) -> SpendRequest | None:
        row = await self._one("SELECT * FROM timebank_requests WHERE id = ?", (request_id,))
        return None if row is None else _request(row)


__all__ = ["HourEntry", "Offer", "SpendDecision", "SpendRequest",
           "SqliteTimebank", "TimebankStore", "write_timebank"]
