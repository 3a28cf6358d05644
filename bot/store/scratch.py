"""A store that is not kept: SQLite on a private temporary file, deleted when closed.

For ``[store] url = "memory://"`` (trials), the dashboard's phone simulator and the
``parley simulate`` command: the same ``SqliteStore`` as a real project — same SQL, same
rules — on a file in a fresh ``0700`` temporary folder that ``close()`` removes (and, if a
store is never closed, garbage collection or the interpreter's exit)."""

from __future__ import annotations

import shutil
import tempfile
import weakref
from pathlib import Path

from bot.clock import Clock
from bot.store.sqlite import SqliteStore


class ScratchStore(SqliteStore):
    """``SqliteStore`` on a temporary file of its own, deleted by ``close()``."""

    def __init__(self, *, clock: Clock | None = None) -> None:
        folder = Path(tempfile.mkdtemp(prefix="parley-scratch-"))
        super().__init__(folder / "parley.db", clock=clock, fsync=False)  # nothing kept
        self._remove = weakref.finalize(self, shutil.rmtree, folder, ignore_errors=True)

    def __repr__(self) -> str:
        return "ScratchStore()"

    async def close(self) -> None:
        try:
            await super().close()
        finally:
            self._remove()


__all__ = ["ScratchStore"]
