"""Group commit: the small writes that become ready in the same turn of the event loop
share one SQLite transaction on the lane, each in a savepoint of its own.

Why: a commit writes every page it changed to the log, whole (a frame of 4 KiB each,
checksummed): a turn's unit of work changed about a dozen pages (the inbox row, the
session, the answer, the reply and the indexes of each), and the reply's outcome a few
more — most of them the same last pages of the same tables and indexes as the turn
beside it. Under load a dozen turns become ready together; committed one by one they
wrote those shared pages a dozen times (a fifth of a turn's CPU and nearly all of its
system time, issue 18). Together, once.

What each writer still gets:

- **Its own outcome.** Its work runs in a savepoint: if it fails (a message already
  processed, a foreign key), only its own changes are undone and only it sees the
  error; the others commit.
- **The same promise as before.** ``run`` returns only once the transaction holding the
  work has committed, so a caller acts on nothing that could still be rolled back. A
  group with ``durable`` work commits with ``synchronous = FULL`` (the fsync waited for
  in a worker thread), so it is on the disk when ``run`` returns. If the commit itself
  fails (a full disk), every writer of the group gets that error and nothing of the
  group stays.
- **No wait for the lock.** If another process holds the database's write lock, the
  group is not begun and every writer is told ``LaneBusy``: it then writes on
  aiosqlite's thread, which waits for the lock there.

The group is written by a task that starts one loop turn after its first writer: the
writers made ready by the same event (a batch of webhooks, a batch of replies from the
provider) have joined it by then, so nothing waits longer than a loop turn for company.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from bot.errors import StoreError
from bot.store.sql_runner import SqlConnection
from bot.store.sqlite_codec import store_error

T = TypeVar("T")
Work = Callable[[SqlConnection], Awaitable[T]]
"""A writer's statements, given the lane's connection inside its savepoint."""


class LaneBusy(Exception):
    """The lane could not begin (another connection holds the write lock): nothing of the
    work was done; write it on aiosqlite's thread instead."""


class GroupLane(Protocol):
    """What a group needs of the lane (``bot.store.sqlite_lane.LoopLane``)."""

    @property
    def connection(self) -> SqlConnection: ...

    def begin(self, *, durable: bool = False) -> bool: ...

    def commit(self) -> None: ...

    async def commit_durably(self) -> None: ...

    def rollback(self) -> None: ...

    def in_transaction(self) -> bool: ...

    def savepoint(self) -> None: ...

    def release_savepoint(self) -> None: ...

    def undo_savepoint(self) -> None: ...


@dataclass
class _Writer:
    work: Work[Any]
    durable: bool
    future: asyncio.Future[Any]


Outcome = tuple[_Writer, Any, BaseException | None]
"""What a writer's work returned or raised, kept until the commit is known."""


class CommitGroup:
    """Collects writers for the lane and commits them together (see the module's doc)."""

    def __init__(self, lane: GroupLane, lock: asyncio.Lock) -> None:
        """``lock``: the store's lock, held while the group is written."""
        self._lane = lane
        self._lock = lock
        self._waiting: list[_Writer] = []
        self._writer: asyncio.Task[None] | None = None

    async def run(self, work: Work[T], *, durable: bool) -> T:
        """``work``'s result once committed with the group (raises ``LaneBusy`` if the
        lane could not begin, ``StoreError`` for SQLite's errors, or what ``work``
        raised)."""
        loop = asyncio.get_running_loop()
        writer = _Writer(work, durable, loop.create_future())
        self._waiting.append(writer)
        if self._writer is None:
            self._writer = loop.create_task(self._write())
        result: T = await writer.future
        return result

    async def _write(self) -> None:
        writers: list[_Writer] = []
        try:
            async with self._lock:
                # taken only now: writers that came while the lock was busy join too
                writers, self._waiting, self._writer = self._waiting, [], None
                outcomes = await self._commit(writers)
        except Exception as exc:  # a bug: every writer hears of it, none hangs
            self._fail(writers, exc)
            return
        except BaseException:  # cancelled (shutdown)
            if not writers:  # while waiting for the lock: the group was never taken
                writers, self._waiting, self._writer = self._waiting, [], None
            self._fail(writers, StoreError("store closed"))
            raise
        if outcomes is None:
            return
        for writer, result, error in outcomes:
            if writer.future.done():
                continue
            if error is None:
                writer.future.set_result(result)
            else:
                writer.future.set_exception(error)

    async def _commit(self, writers: list[_Writer]) -> list[Outcome] | None:
        """Each writer's work in its savepoint, then one COMMIT (the store's lock is
        held); None if the writers have been told already (busy, or the transaction
        failed as a whole)."""
        lane = self._lane
        durable = any(writer.durable for writer in writers)
        try:
            begun = lane.begin(durable=durable)
        except sqlite3.Error as exc:
            return self._fail(writers, store_error(exc))
        if not begun:
            return self._fail(writers, LaneBusy())
        outcomes: list[Outcome] = []
        try:
            for writer in writers:
                if not writer.future.done():  # a cancelled writer's work is not done
                    outcomes.append(await self._one(writer))
            if durable:  # the fsync waits in a worker thread: the loop goes on
                await lane.commit_durably()
            else:
                lane.commit()
        except sqlite3.Error as exc:
            lane.rollback()
            return self._fail(writers, store_error(exc))
        except BaseException:
            lane.rollback()
            raise
        return outcomes

    async def _one(self, writer: _Writer) -> Outcome:
        lane = self._lane
        lane.savepoint()
        try:
            result = await writer.work(lane.connection)
        except Exception as exc:
            if not lane.in_transaction():  # SQLite ended it (a full disk, I/O): all undone
                raise exc if isinstance(exc, sqlite3.Error) else sqlite3.OperationalError(
                    f"the transaction ended: {exc}") from exc
            lane.undo_savepoint()
            error = store_error(exc) if isinstance(exc, sqlite3.Error) else exc
            return writer, None, error
        lane.release_savepoint()
        return writer, result, None

    @staticmethod
    def _fail(writers: list[_Writer], exc: Exception) -> None:
        for writer in writers:
            if not writer.future.done():
                writer.future.set_exception(exc)
        return None
