"""Persistence: a narrow async repository over SQLite (a file, or a scratch file for
``memory://``)."""

from __future__ import annotations

from bot.errors import ConfigError
from bot.store.base import Store


def open_store(url: str) -> Store:
    """The store a ``[store] url`` names (not yet opened: call ``await store.open()``).

    ``sqlite:///relative/path.db`` or ``sqlite:////absolute/path.db`` is a SQLite file;
    ``memory://`` keeps nothing: a SQLite file in a private temporary folder, deleted
    when the store is closed.
    """
    from bot.store.scratch import ScratchStore
    from bot.store.sqlite import SqliteStore

    if url.startswith("sqlite:"):
        return SqliteStore.from_url(url)
    if url.startswith("memory://"):
        return ScratchStore()
    raise ConfigError(f"[store] url: unsupported store '{url}'; "
                      "use sqlite:///path/to/parley.db or memory://")


__all__ = ["Store", "open_store"]
