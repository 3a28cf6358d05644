"""Properties of the HTTP API (``/api/v1``) on a real SQLite project, over ASGI: answers
paged while others arrive come exactly once and in order; no input makes it fail."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.config import Config
from bot.runtime import Runtime, open_runtime
from bot.service import ParleyService
from bot.store.api_tokens import ApiToken, api_store
from bot.store.records import AnswerRow, Changes
from bot.web.api.tokens import hash_token, new_token
from bot.web.app import create_app

SETTINGS = settings(deadline=None, max_examples=30,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])
T = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


@dataclass
class App:
    loop: asyncio.AbstractEventLoop
    runtime: Runtime
    client: httpx.AsyncClient
    tokens: dict[str, str]
    added: list[str] = field(default_factory=list)

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    def add(self, count: int) -> None:
        start = len(self.added)
        names = [f"s{n}" for n in range(start, start + count)]
        self.run(self.runtime.store.apply(Changes(answers=[
            AnswerRow("p1", name, "ons4", "v1", "satisfaction", "life_satisfaction", 5, "5",
                      T) for name in names])))
        self.added += names

    def get(self, path: str, scope: str = "read", **params: Any) -> httpx.Response:
        return self.run(self.client.get(path, params=params, headers={
            "Authorization": f"Bearer {self.tokens[scope]}"}))


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    config = Config.model_validate({"project": {"name": "Money Voices"},
                                    "store": {"url": f"sqlite:///{tmp_path / 'p.db'}"}})
    loop = asyncio.new_event_loop()

    async def build() -> tuple[Runtime, httpx.AsyncClient, dict[str, str]]:
        runtime = await open_runtime(config)
        tokens = {scope: new_token() for scope in ("read", "write")}
        for scope, token in tokens.items():
            await api_store(runtime.store).api_token_add(
                ApiToken(scope, "write" if scope == "write" else "read", hash_token(token), T))
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(create_app(ParleyService(runtime),
                                                     manage_lifecycle=False)),
            base_url="http://parley.test/api/v1/")
        return runtime, client, tokens

    runtime, client, tokens = loop.run_until_complete(build())
    try:
        yield App(loop, runtime, client, tokens)
    finally:
        loop.run_until_complete(client.aclose())
        loop.run_until_complete(runtime.close())
        loop.close()


OPS = st.lists(st.one_of(st.tuples(st.just("add"), st.integers(0, 7)),
                         st.tuples(st.just("page"), st.integers(1, 6))), max_size=8)


@pytest.mark.timeout(180)
@SETTINGS
@given(ops=OPS)
def test_answers_arriving_while_paging_each_come_once_in_order(app: App,
                                                              ops: list[tuple[str, int]]) -> None:
    # a client that has read everything so far, then pages while answers keep arriving
    cursor = app.get("answers", limit=1000).json()
    while cursor["has_more"]:
        cursor = app.get("answers", limit=1000, since=cursor["next_since"]).json()
    since, before, seen = cursor["next_since"], len(app.added), []
    for op, n in [*ops, ("page", 1000)]:
        if op == "add":
            app.add(n)
            continue
        page = app.get("answers", limit=n, since=since).json()
        seen += [a["session_id"] for a in page["answers"]]
        since = page["next_since"]
    while True:  # drain
        page = app.get("answers", limit=1000, since=since).json()
        seen += [a["session_id"] for a in page["answers"]]
        since = page["next_since"]
        if not page["has_more"]:
            break
    assert seen == app.added[before:]


PATHS = ["participants", "participants/x", "rounds", "rounds/r1", "rounds/r1/start",
         "answers", "findings", "findings/f1", "openapi.json", "nope/../rounds"]
JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.sampled_from(["flow", "audience", "start", "every",
                                                       "label", "x"]), inner, max_size=4),
                    max_leaves=10)


@pytest.mark.timeout(180)
@SETTINGS
@given(path=st.sampled_from(PATHS), method=st.sampled_from(["GET", "POST", "DELETE"]),
       auth=st.one_of(st.sampled_from(["read", "write"]), st.text(max_size=60)),
       params=st.dictionaries(st.sampled_from(["since", "limit", "format", "flow"]),
                              st.text(max_size=12), max_size=3),
       body=JSON)
def test_no_request_makes_the_api_fail(app: App, path: str, method: str, auth: str,
                                       params: dict[str, str], body: Any) -> None:
    token = app.tokens.get(auth, auth)
    sendable = token.isascii() and token.isprintable()
    headers = {"Authorization": f"Bearer {token}"} if sendable else {}
    response = app.run(app.client.request(method, path, params=params, headers=headers,
                                          content=json.dumps(body).encode()))
    assert response.status_code in (200, 201, 401, 403, 404, 405, 422), response.text
    assert response.headers["content-type"].startswith(("application/json", "text/csv"))
    if response.status_code >= 400:
        assert response.json()["error"]["message"]
