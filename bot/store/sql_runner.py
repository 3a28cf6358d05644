"""What the SQL mixins need from the store they are mixed into.

The ``Sqlite*`` mixins (``SqliteAttention``, ``SqliteQueues``, ``SqliteRounds`` …) hold
the SQL; the store class that mixes them in supplies a handful of primitives: read rows
(``_all``, ``_one``), run a unit of work on a connection (``_write``, ``_locked``), one
statement as its own transaction (``_write_one``), the process's ``holder`` name and two
store-wide services.
``SqlRunner`` names exactly those, so a mixin type-checks against it and not against a
particular driver: ``SqliteStore`` provides them over aiosqlite, a PostgreSQL store over
asyncpg (with an adapter that speaks ``SqlConnection``).

``SqlConnection`` and ``SqlCursor`` are the parts of a DB-API-like async connection the
mixins call; ``SqlRow`` is a result row, read by position or by column name.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol, TypeVar

T = TypeVar("T")

SqlParams = Sequence[Any] | Mapping[str, Any] | None
"""Statement parameters: positional (``?``) or named (``:name``)."""


class SqlRow(Protocol):
    """One result row: ``row[0]`` or ``row["column"]``, and iterable for unpacking."""

    def __getitem__(self, key: int | str, /) -> Any: ...

    def __iter__(self) -> Iterator[Any]: ...

    def __len__(self) -> int: ...

    def keys(self) -> list[str]: ...


class SqlCursor(Protocol):
    """What a statement leaves behind: how many rows it changed, the new row's id, and
    (for a query read in chunks) its rows."""

    @property
    def rowcount(self) -> int: ...

    @property
    def lastrowid(self) -> int | None: ...

    async def fetchone(self) -> SqlRow | None: ...

    async def fetchmany(self, size: int | None = None) -> Iterable[SqlRow]: ...

    async def close(self) -> None: ...


class SqlConnection(Protocol):
    """The connection a unit of work runs on (``?`` and ``:name`` parameters).

    ``row_factory = None`` asks for plain tuples (cheaper for very large reads); set it
    back to the previous value when done."""

    row_factory: Any

    def execute(self, sql: str, parameters: SqlParams = None, /) -> Awaitable[SqlCursor]: ...

    def executemany(self, sql: str, parameters: Iterable[Iterable[Any]], /) \
            -> Awaitable[SqlCursor]: ...

    def execute_fetchall(self, sql: str, parameters: SqlParams = None, /) \
            -> Awaitable[Iterable[SqlRow]]: ...


class SqlRunner(Protocol):
    """The primitives the ``Sqlite*`` mixins use; the store class provides them."""

    holder: str
    """This process's name in outbox claims and leases (``bot.store.leases``)."""

    async def _all(self, sql: str, params: Sequence[Any] = (), *,
                   quick: bool = False) -> list[SqlRow]:
        """``quick``: a read by key of a row or a few, cheap enough to run on the event
        loop's own thread where the store can (``bot.store.sqlite_lane``)."""
        ...

    async def _one(self, sql: str, params: Sequence[Any] = (), *,
                   quick: bool = False) -> SqlRow | None: ...

    def _locked(self) -> AbstractAsyncContextManager[SqlConnection]:
        """The connection, alone (no transaction opened), driver errors as StoreError."""
        ...

    def _write(self, *, durable: bool = True) -> AbstractAsyncContextManager[SqlConnection]:
        """One transaction, committed on exit and rolled back on any error; ``durable``
        makes the commit survive a power cut before it returns."""
        ...

    async def _unit(self, work: Callable[[SqlConnection], Awaitable[T]], *, small: bool,
                    durable: bool) -> T:
        """``work`` in one transaction (as ``_write``), its result once committed; where
        the store can and the work is ``small``, written in the event loop's thread with
        the other small writes ready at the same time (``bot.store.group_commit``)."""
        ...

    async def _write_one(self, sql: str, params: Sequence[Any], *,
                         durable: bool) -> list[SqlRow]:
        """One statement as its own transaction; ``RETURNING`` rows come back."""
        ...

    async def _erasure_secret(self, db: SqlConnection) -> str:
        """The per-project secret of erased inbox keys, inside the caller's transaction."""
        ...

    async def checkpoint(self) -> None:
        """Make overwritten (erased) text leave the database's logs."""
        ...


__all__ = ["SqlConnection", "SqlCursor", "SqlParams", "SqlRow", "SqlRunner"]
