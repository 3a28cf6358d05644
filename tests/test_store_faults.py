"""The store under stress: full and locked databases fail loudly and recover."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.errors import ConfigError, StoreError
from bot.store.records import InboxItem
from bot.store.sqlite import SqliteStore

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def item(n: int, size: int = 2000) -> InboxItem:
    return InboxItem("sms", f"SM{n}", "tel:+447700900123", {"text": "x" * size}, T0)


async def test_a_full_database_is_a_store_error_and_nothing_half_written(tmp_path: Path) -> None:
    path = tmp_path / "p.db"
    setup = SqliteStore(path)
    await setup.open()
    await setup.health()
    await setup.close()
    # the WAL has been checkpointed on close: this is the whole database's size
    pages = sqlite3.connect(path).execute("PRAGMA page_count").fetchone()[0] + 8
    store = SqliteStore.from_url(f"sqlite:///{path}?max_page_count={pages + 3}")
    await store.open()
    stored = 0
    with pytest.raises(StoreError, match="full"):
        for n in range(1000):
            assert await store.inbox_put(item(n))
            stored += 1
    with pytest.raises(StoreError, match="full"):
        await store.health()
    assert len(await store.inbox_pending(10_000)) == stored  # every acknowledged one kept
    await store.close()
    roomy = SqliteStore(path)
    await roomy.open()
    await roomy.health()
    assert await roomy.inbox_put(item(10_001))
    await roomy.close()


async def test_a_locked_database_is_reported_then_recovers(tmp_path: Path) -> None:
    path = tmp_path / "p.db"
    store = SqliteStore(path, busy_timeout_ms=100)
    await store.open()
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    with pytest.raises(StoreError, match="locked"):
        await store.health()
    with pytest.raises(StoreError):
        await store.inbox_put(item(1, 10))
    other.execute("ROLLBACK")
    other.close()
    await store.health()
    assert await store.inbox_put(item(1, 10))
    await store.close()


def test_unknown_url_option_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="only max_page_count"):
        SqliteStore.from_url("sqlite:///x.db?cache=shared")
