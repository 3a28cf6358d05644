"""Participant ids as coordinators type them: any unique beginning will do.

Ids are long and random (``p_3f9a1c…``) so they cannot be guessed; at 80 columns a table
cuts them, and nobody should have to copy sixteen hex digits. As with git's short
hashes, the command line takes any prefix that names exactly one person.
"""

from __future__ import annotations

from bot.errors import ParleyError
from bot.store.base import Store

SHOWN = 5
"""How many candidates an ambiguous prefix lists."""


async def resolve(store: Store, given: str) -> str:
    """The full id ``given`` names, or ParleyError saying why not."""
    given = given.strip()
    if not given:
        raise ParleyError("a participant id is needed")
    if await store.get_participant(given) is not None:
        return given
    found = [p.id for p in await store.list_participants() if p.id.startswith(given)]
    if len(found) == 1:
        return found[0]
    if not found:
        raise ParleyError(f"no participant '{given}' (see: parley participants list)")
    more = f" and {len(found) - SHOWN} more" if len(found) > SHOWN else ""
    raise ParleyError(f"'{given}' is the start of {len(found)} participants' ids "
                      f"({', '.join(found[:SHOWN])}{more}); type more of it")
