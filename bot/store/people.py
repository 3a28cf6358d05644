"""Store methods for enrolling people in bulk and by invitation (the SQL mixin).

Kept apart from the core store modules: a CSV import of hundreds of people is one
transaction (nothing half-imported), and invites are looked up on a person's first
message.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Protocol

from bot.errors import StoreError
from bot.store.records import Address, Invite, Participant
from bot.store.sql_runner import SqlRow, SqlRunner

PersonRows = list[tuple[Participant, list[Address]]]


class PeopleStore(Protocol):
    async def import_participants(self, people: PersonRows) -> None:
        """Insert every participant and address in one transaction, or none; StoreError
        naming the address if one is already taken."""

    async def contact_of(self, address: str) -> tuple[Participant, Address] | None:
        """The participant an address belongs to, and the address, in one read (every
        inbound message needs both); None for an address nobody has."""

    async def create_invites(self, invites: Sequence[Invite]) -> None: ...
    async def get_invite(self, code: str) -> Invite | None:
        """Uses are counted by ``Store.apply`` (``Changes.invites_used``), in the unit of
        work that enrols the person."""


def _iso(value: dt.datetime | None) -> str | None:
    return None if value is None else value.astimezone(dt.UTC).isoformat(timespec="microseconds")


def _invite(row: SqlRow) -> Invite:
    return Invite(code=row["code"], created_at=dt.datetime.fromisoformat(row["created_at"]),
                  cohort=row["cohort"], participant_id=row["participant_id"],
                  used_at=dt.datetime.fromisoformat(row["used_at"]) if row["used_at"] else None,
                  uses=row["uses"], max_uses=row["max_uses"])


_ADDRESS_COLUMNS = ("address", "participant_id", "channel", "created_at", "opted_out",
                    "opted_out_at", "unreachable", "unreachable_reason")
_CONTACT = ("SELECT p.*, " + ", ".join(f"a.{c} AS a_{c}" for c in _ADDRESS_COLUMNS)
            + " FROM addresses a JOIN participants p ON p.id = a.participant_id "
              "WHERE a.address = ?")


class SqlitePeople(SqlRunner):
    """Mixed into SqliteStore."""

    async def participant_for_address(self, address: str) -> Participant | None:
        contact = await self.contact_of(address)
        return None if contact is None else contact[0]

    async def get_address(self, address: str) -> Address | None:
        from bot.store.sqlite_codec import _address

        row = await self._one("SELECT * FROM addresses WHERE address = ?", (address,),
                              quick=True)
        return None if row is None else _address(row)

    async def addresses_of(self, participant_id: str) -> list[Address]:
        from bot.store.sqlite_codec import _address

        rows = await self._all("SELECT * FROM addresses WHERE participant_id = ? "
                               "ORDER BY created_at, rowid", (participant_id,))
        return [_address(r) for r in rows]

    async def contact_of(self, address: str) -> tuple[Participant, Address] | None:
        from bot.store.sqlite_codec import _address, _participant

        row = await self._one(_CONTACT, (address,), quick=True)
        return None if row is None else (_participant(row), _address(row, "a_"))

    async def import_participants(self, people: PersonRows) -> None:
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

    async def create_invites(self, invites: Sequence[Invite]) -> None:
        async with self._write() as db:
            await db.executemany(
                "INSERT INTO invites (code, created_at, cohort, participant_id, used_at, uses, "
                "max_uses) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(i.code, _iso(i.created_at), i.cohort, i.participant_id, _iso(i.used_at),
                  i.uses, i.max_uses) for i in invites])

    async def get_invite(self, code: str) -> Invite | None:
        row = await self._one("SELECT * FROM invites WHERE code = ?", (code,))
        return None if row is None else _invite(row)
