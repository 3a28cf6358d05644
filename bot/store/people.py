"""Store methods for enrolling people in bulk and by invitation, for both stores.

Kept apart from the core store modules: a CSV import of hundreds of people is one
transaction (nothing half-imported), and invites are looked up on a person's first
message.
"""

from __future__ import annotations

import copy
import datetime as dt
import sqlite3
from collections.abc import Sequence
from typing import Any, Protocol

from bot.errors import StoreError
from bot.store.records import Address, Invite, Participant

PersonRows = list[tuple[Participant, list[Address]]]


class PeopleStore(Protocol):
    async def import_participants(self, people: PersonRows) -> None:
        """Insert every participant and address in one transaction, or none; StoreError
        naming the address if one is already taken."""

    async def create_invites(self, invites: Sequence[Invite]) -> None: ...
    async def get_invite(self, code: str) -> Invite | None:
        """Uses are counted by ``Store.apply`` (``Changes.invites_used``), in the unit of
        work that enrols the person."""


def _iso(value: dt.datetime | None) -> str | None:
    return None if value is None else value.astimezone(dt.UTC).isoformat(timespec="microseconds")


def _invite(row: sqlite3.Row) -> Invite:
    return Invite(code=row["code"], created_at=dt.datetime.fromisoformat(row["created_at"]),
                  cohort=row["cohort"], participant_id=row["participant_id"],
                  used_at=dt.datetime.fromisoformat(row["used_at"]) if row["used_at"] else None,
                  uses=row["uses"], max_uses=row["max_uses"])


class SqlitePeople:
    """Mixed into SqliteStore."""

    async def import_participants(self: Any, people: PersonRows) -> None:
        from bot.store.sqlite_codec import (
            _UPSERT_ADDRESS,
            _UPSERT_PARTICIPANT,
            _address_params,
            _participant_params,
        )

        wanted = [a.address for _, addrs in people for a in addrs]
        if len(set(wanted)) != len(wanted):
            raise StoreError("the same address appears twice")
        async with self._write() as db:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start:start + 500]
                rows = list(await db.execute_fetchall(
                    f"SELECT address FROM addresses WHERE address IN "
                    f"({','.join('?' * len(chunk))})", chunk))
                if rows:
                    raise StoreError(f"address {rows[0][0]} is already enrolled")
            await db.executemany(_UPSERT_PARTICIPANT, [_participant_params(p) for p, _ in people])
            await db.executemany(_UPSERT_ADDRESS, [_address_params(a) for _, addrs in people
                                                   for a in addrs])

    async def create_invites(self: Any, invites: Sequence[Invite]) -> None:
        async with self._write() as db:
            await db.executemany(
                "INSERT INTO invites (code, created_at, cohort, participant_id, used_at, uses, "
                "max_uses) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(i.code, _iso(i.created_at), i.cohort, i.participant_id, _iso(i.used_at),
                  i.uses, i.max_uses) for i in invites])

    async def get_invite(self: Any, code: str) -> Invite | None:
        row = await self._one("SELECT * FROM invites WHERE code = ?", (code,))
        return None if row is None else _invite(row)



class MemoryPeople:
    """Mixed into MemoryStore."""

    def _invites(self: Any) -> dict[str, Invite]:
        found: dict[str, Invite] = self.__dict__.setdefault("_invite_rows", {})
        return found

    async def import_participants(self: Any, people: PersonRows) -> None:
        self._check()
        wanted = [a.address for _, addrs in people for a in addrs]
        taken = [a for a in wanted if a in self._addresses]
        if taken:
            raise StoreError(f"address {taken[0]} is already enrolled")
        if len(set(wanted)) != len(wanted):
            raise StoreError("the same address appears twice")
        for participant, addresses in people:
            self._participants[participant.id] = copy.deepcopy(participant)
            for address in addresses:
                self._addresses[address.address] = copy.deepcopy(address)

    async def create_invites(self: Any, invites: Sequence[Invite]) -> None:
        self._check()
        rows = self._invites()
        if any(i.code in rows for i in invites):
            raise StoreError("invite code already exists")
        for invite in invites:
            rows[invite.code] = copy.deepcopy(invite)

    async def get_invite(self: Any, code: str) -> Invite | None:
        self._check()
        found: Invite | None = self._invites().get(code)
        return copy.deepcopy(found)

