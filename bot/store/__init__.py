"""Persistence: a narrow async repository on SQLite or PostgreSQL (``memory://``: SQLite
on a scratch file)."""

from __future__ import annotations

from bot.errors import ConfigError
from bot.store.base import Store
from bot.store.pg_dialect import mask_url


def open_store(url: str) -> Store:
    """The store a ``[store] url`` names (not yet opened: call ``await store.open()``).

    ``sqlite:///relative/path.db`` or ``sqlite:////absolute/path.db`` is a SQLite file;
    ``memory://`` keeps nothing: a SQLite file in a private temporary folder, deleted
    when the store is closed;
    ``postgresql://user:password@host:5432/database`` is a PostgreSQL database.
    """
    from bot.store.scratch import ScratchStore
    from bot.store.sqlite import SqliteStore

    if url.startswith("sqlite:"):
        return SqliteStore.from_url(url)
    if url.startswith("memory://"):
        return ScratchStore()
    if url.startswith(("postgresql://", "postgres://")):
        from bot.store.postgres import PostgresStore  # asyncpg only when used

        return PostgresStore.from_url(url)
    raise ConfigError(f"[store] url: unsupported store '{mask_url(url)}'; use "
                      "sqlite:///path/to/parley.db, postgresql://user:password@host/db "
                      "or memory://")


__all__ = ["Store", "open_store"]
