"""Rows inserted together keep their own ids (``bot/store/batch_insert.py``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.store.batch_insert import CHUNK, multi_row
from bot.store.postgres import PostgresStore
from bot.store.records import Changes, OutboxItem
from bot.store.sqlite import SqliteStore

pytestmark = pytest.mark.timeout(30)


@pytest.fixture(params=["sqlite", "postgres"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SqliteStore]:
    db = (PostgresStore(request.getfixturevalue("pg_url")) if request.param == "postgres"
          else SqliteStore(tmp_path / "parley.db"))
    await db.open()
    yield db
    await db.close()


def message(n: int) -> OutboxItem:
    now = datetime.now(UTC)
    return OutboxItem(participant_id="", address=f"telegram:{1000 + n}", channel="telegram",
                      payload={"text": f"message {n}", "plain": f"message {n}",
                               "kind": "notice"}, created_at=now, not_before=now)


@pytest.mark.parametrize("count", [1, 2, CHUNK + 3])
async def test_each_row_gets_the_id_of_its_own_stored_row(store: SqliteStore,
                                                          count: int) -> None:
    await store.apply(Changes(outbox=[message(-1)]))  # ids no longer start at 1
    items = [message(n) for n in range(count)]
    await store.apply(Changes(outbox=items))
    ids = [item.id for item in items]
    assert all(isinstance(i, int) for i in ids) and len(set(ids)) == count
    stored = {row.id: row for row in await store.outbox_rows([i for i in ids if i])}
    assert [stored[i].payload["text"] for i in ids if i] == [f"message {n}"
                                                              for n in range(count)]


def test_the_statement_is_built_from_one_rows_insert() -> None:
    assert multi_row("INSERT INTO t (a, b) VALUES (?, ?)", 3) == \
        "INSERT INTO t (a, b) VALUES (?, ?), (?, ?), (?, ?) RETURNING id"
    with pytest.raises(ValueError, match="INSERT"):
        multi_row("DELETE FROM t", 2)
