"""The HTTP API (``/api/v1``) over ASGI on a real SQLite project, with its tokens made,
listed and revoked by the real ``parley tokens`` commands (in-process)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.config import load_config
from bot.logging_setup import Redactor
from bot.runtime import Runtime, open_runtime
from bot.service import ParleyService
from bot.store.records import AnswerRow, Changes
from bot.store.round_records import Finding
from bot.web.app import create_app
from tests.cli_inprocess import Ran, run_cli

pytestmark = pytest.mark.timeout(120)
UTC = dt.UTC
T = dt.datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def parley(cwd: Path, *args: str) -> Ran:
    return run_cli(*args, cwd=cwd, env={"PARLEY_ACTOR": "sam@example.org"})


def token_of(ran: Ran) -> str:
    assert ran.returncode == 0, ran.stderr
    token = ran.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"parley_[A-Za-z0-9_-]{43}", token), ran.stdout
    return token


@dataclass
class Site:
    dir: Path
    runtime: Runtime
    client: httpx.AsyncClient
    read: str
    write: str

    def auth(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    async def get(self, path: str, token: str, **params: Any) -> httpx.Response:
        return await self.client.get(path, headers=self.auth(token), params=params)


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[Site]:
    (tmp_path / "config.toml").write_text(
        f'[project]\nname = "Money Voices"\n[store]\nurl = "sqlite:///{tmp_path}/parley.db"\n'
        '[schedule]\nquiet_hours = ""\n', encoding="utf-8")
    for args in (["--name", "Ann", "--phone", "07700 900123", "--cohort", "north"],
                 ["--name", "Bob", "--telegram-id", "4242424242", "--cohort", "north"]):
        assert parley(tmp_path, "participants", "add", *args).returncode == 0
    read = token_of(parley(tmp_path, "tokens", "create", "--name", "pipeline",
                           "--scope", "read"))
    write = token_of(parley(tmp_path, "tokens", "create", "--name", "ops",
                            "--scope", "write"))
    runtime = await open_runtime(load_config(tmp_path / "config.toml"))
    app = create_app(ParleyService(runtime), manage_lifecycle=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app),
                                 base_url="http://parley.test/api/v1/") as client:
        yield Site(tmp_path, runtime, client, read, write)
    await runtime.close()


def error_of(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    return str(response.json()["error"]["message"])


async def test_tokens_are_shown_once_stored_hashed_listed_and_revocable(site: Site) -> None:
    for path in ("participants", "answers", "rounds", "findings"):
        response = await site.client.get(path)
        assert "no token" not in error_of(response, 401)
        assert response.headers["www-authenticate"].startswith("Bearer")
    wrong = await site.get("participants", "parley_" + "x" * 43)
    assert error_of(wrong, 401) == "unknown token"
    assert wrong.headers["www-authenticate"].startswith("Bearer")
    assert (await site.get("participants", site.read)).status_code == 200

    listed = parley(site.dir, "tokens", "list")
    assert listed.returncode == 0
    assert "pipeline" in listed.stdout and "ops" in listed.stdout and "write" in listed.stdout
    assert "never" in listed.stdout  # ops has not been used; pipeline has
    for token in (site.read, site.write):  # never shown again, never stored as such
        assert token not in listed.output
        for file in site.dir.glob("parley.db*"):
            assert token.encode() not in file.read_bytes()

    redact = Redactor().redact  # should one ever reach a log line
    assert redact(f"Authorization: Bearer {site.read}") == "Authorization: Bearer parley_[token]"

    revoked = parley(site.dir, "tokens", "revoke", "pipeline")
    assert revoked.returncode == 0 and "revoked" in revoked.stdout
    response = await site.get("participants", site.read)
    assert error_of(response, 401) == "this token was revoked"
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert (await site.get("participants", site.write)).status_code == 200  # others work
    again = parley(site.dir, "tokens", "revoke", "1")  # by id: the same token
    assert again.returncode == 0 and "already revoked" in again.stdout
    missing = parley(site.dir, "tokens", "revoke", "nobody")
    assert missing.returncode == 1 and "no API token 'nobody'" in missing.stderr
    taken = parley(site.dir, "tokens", "create", "--name", "pipeline", "--scope", "read")
    assert taken.returncode == 1 and "already exists" in taken.stderr
    bad = parley(site.dir, "tokens", "create", "--name", "x", "--scope", "admin")
    assert bad.returncode == 1 and "--scope" in bad.stderr

    audit = await site.runtime.store.audit_log(50)
    assert [(e.actor, e.action, e.subject) for e in audit
            if e.action.startswith("api_token")] == [
        ("sam@example.org", "api_token.revoke", "pipeline"),
        ("sam@example.org", "api_token.create", "ops"),
        ("sam@example.org", "api_token.create", "pipeline")]


async def test_participants_are_masked_for_a_read_token_and_whole_for_write(
        site: Site) -> None:
    masked = (await site.get("participants", site.read)).json()["participants"]
    whole = (await site.get("participants", site.write)).json()["participants"]
    assert [p["id"] for p in masked] == [p["id"] for p in whole] and len(whole) == 2
    whole.sort(key=lambda p: p["name"])
    masked.sort(key=lambda p: [w["id"] for w in whole].index(p["id"]))
    assert [a["address"] for p in whole for a in p["addresses"]] == [
        "tel:+447700900123", "telegram:4242424242"]
    assert [p["name"] for p in whole] == ["Ann", "Bob"]
    shown = [a["address"] for p in masked for a in p["addresses"]]
    assert shown == ["tel:+44•••••••123", "telegram:42••••••42"]
    assert [p["name"] for p in masked] == [None, None]
    assert all(p["masked"] for p in masked) and not any(p["masked"] for p in whole)
    body = json.dumps(masked, ensure_ascii=False)
    assert "7700900" not in body and "Ann" not in body and "4242424242" not in body

    first = (await site.get("participants", site.read, limit=1)).json()
    assert first["has_more"] and len(first["participants"]) == 1
    rest = (await site.get("participants", site.read, since=first["next_since"])).json()
    assert not rest["has_more"]
    assert sorted(p["id"] for p in first["participants"] + rest["participants"]) == sorted(
        p["id"] for p in whole)

    one = await site.get(f"participants/{whole[0]['id']}", site.read)
    assert one.json()["addresses"][0]["address"] == "tel:+44•••••••123"
    assert error_of(await site.get("participants/nobody", site.read), 404)


async def test_a_read_token_cannot_create_or_start_a_round_and_a_write_token_can(
        site: Site) -> None:
    spec = {"flow": "ons4", "audience": "cohort:north", "label": "baseline"}
    refused = await site.client.post("rounds", json=spec, headers=site.auth(site.read))
    assert "'write'" in error_of(refused, 403)
    assert (await site.get("rounds", site.read)).json() == {"rounds": []}

    created = await site.client.post("rounds", json=spec, headers=site.auth(site.write))
    assert created.status_code == 201, created.text
    rid = created.json()["id"]
    assert created.json()["status"] == "draft" and created.json()["label"] == "baseline"

    start = await site.client.post(f"rounds/{rid}/start", headers=site.auth(site.read))
    assert error_of(start, 403)
    assert (await site.get(f"rounds/{rid}", site.read)).json()["status"] == "draft"

    started = await site.client.post(f"rounds/{rid}/start", headers=site.auth(site.write))
    assert started.status_code == 200, started.text
    assert started.json()["planned"] == 2 and started.json()["round"]["status"] == "running"
    again = await site.client.post(f"rounds/{rid}/start", headers=site.auth(site.write))
    assert "only a draft can be started" in error_of(again, 422)

    # the same progress `parley rounds status ID --json` prints
    progress = (await site.get(f"rounds/{rid}", site.read)).json()["progress"]
    cli = parley(site.dir, "rounds", "status", rid, "--json")
    assert progress == json.loads(cli.stdout)
    assert progress["targeted"] == 2 and progress["by_channel"]["telegram"]["targeted"] == 1
    audit = [(e.actor, e.action, e.subject) for e in await site.runtime.store.audit_log(50)]
    assert ("api:ops", "round.create", rid) in audit and ("api:ops", "round.start", rid) in audit

    for body, reason in (({"flow": "nope", "audience": "all"}, "no flow called 'nope'"),
                         ({"flow": "ons4"}, "audience: Field required"),
                         ({"flow": "ons4", "audience": "ids:/etc/passwd"}, "for the CLI"),
                         ({**spec, "colour": "red"}, "colour: Extra inputs")):
        bad = await site.client.post("rounds", json=body, headers=site.auth(site.write))
        assert reason in error_of(bad, 422)
    bad_json = await site.client.post("rounds", content=b"{", headers=site.auth(site.write))
    assert "JSON" in error_of(bad_json, 422)
    assert error_of(await site.get("rounds/r99", site.read), 404) == "no round 'r99'"
    assert error_of(await site.client.post("rounds/r99/start", headers=site.auth(site.write)),
                    404)


async def add_answers(site: Site, pid: str, start: int, count: int) -> None:
    await site.runtime.store.apply(Changes(answers=[
        AnswerRow(pid, f"s{n}", "ons4", "v1", "satisfaction", "life_satisfaction", n % 11,
                  "=HYPERLINK(\"http://evil.example\")" if n == 3 else str(n % 11),
                  T + dt.timedelta(minutes=n), round_id="r1") for n in range(start,
                                                                            start + count)]))


async def test_answers_page_with_a_since_cursor_each_exactly_once(site: Site) -> None:
    pid = (await site.get("participants", site.read)).json()["participants"][0]["id"]
    await add_answers(site, pid, 0, 23)
    seen: list[str] = []
    since, pages = "", 0
    while True:
        page = (await site.get("answers", site.read, since=since, limit=5)).json()
        seen += [a["session_id"] for a in page["answers"]]
        since, pages = page["next_since"], pages + 1
        if pages == 2:  # answers arriving while a client pages through are not missed
            await add_answers(site, pid, 23, 4)
        if not page["has_more"]:
            break
    assert seen == [f"s{n}" for n in range(27)] and pages == 6
    idle = (await site.get("answers", site.read, since=since)).json()
    assert idle == {"answers": [], "next_since": since, "has_more": False}
    await add_answers(site, pid, 27, 1)  # a poller picks up only the new one
    new = (await site.get("answers", site.read, since=since)).json()["answers"]
    assert [a["session_id"] for a in new] == ["s27"]
    first = (await site.get("answers", site.read, limit=1)).json()["answers"][0]
    assert (first["value"], first["field"], first["round_id"]) == (0, "life_satisfaction", "r1")
    other = await site.get("answers", site.read, flow="endorsement")
    assert other.json()["answers"] == []

    for params, reason in (({"since": "abc"}, "since"), ({"limit": "0"}, "limit"),
                           ({"limit": "1001"}, "limit"), ({"format": "xml"}, "format")):
        assert reason in error_of(await site.get("answers", site.read, **params), 422)


async def test_answers_as_csv_through_the_safe_writer(site: Site) -> None:
    pid = (await site.get("participants", site.read)).json()["participants"][0]["id"]
    await add_answers(site, pid, 0, 6)
    response = await site.get("answers", site.read, format="csv", limit=4)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["session_id"] for r in rows] == ["s0", "s1", "s2", "s3"]
    assert rows[3]["raw"] == "'=HYPERLINK(\"http://evil.example\")"  # shown, never run
    assert rows[1]["value"] == "1" and rows[0]["participant_id"] == pid
    assert response.headers["x-parley-has-more"] == "true"
    rest = await site.get("answers", site.read, format="csv",
                          since=response.headers["x-parley-next-since"])
    assert [r["session_id"] for r in csv.DictReader(io.StringIO(rest.text))] == ["s4", "s5"]
    assert rest.headers["x-parley-has-more"] == "false"


async def test_findings_list_and_one(site: Site) -> None:
    await site.runtime.store.finding_add(Finding("f1", "Bus fares", "Fares are too high.",
                                                 T, "f1", changes="first draft"))
    listed = (await site.get("findings", site.read)).json()["findings"]
    assert [(f["id"], f["title"], f["version"]) for f in listed] == [("f1", "Bus fares", 1)]
    one = (await site.get("findings/f1", site.read)).json()
    assert one["text"] == "Fares are too high." and one["changes"] == "first draft"
    assert error_of(await site.get("findings/f9", site.read), 404)


def refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for value in node.values() for r in refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in refs(value)]
    return []


async def test_openapi_document_lists_every_route_and_resolves(site: Site) -> None:
    response = await site.client.get("openapi.json")  # no token needed
    assert response.status_code == 200
    doc = json.loads(response.text)
    assert doc["openapi"] == "3.1.0" and doc["servers"] == [{"url": "/api/v1"}]
    assert set(doc["paths"]) == {"/participants", "/participants/{pid}", "/rounds",
                                 "/rounds/{rid}", "/rounds/{rid}/start", "/answers",
                                 "/findings", "/findings/{fid}"}
    assert set(doc["paths"]["/rounds"]) == {"get", "post"}
    schemas = doc["components"]["schemas"]
    for ref in refs(doc):
        assert ref.startswith("#/components/schemas/") and ref.rsplit("/", 1)[1] in schemas
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method == "parameters":
                continue
            assert {"200", "201"} & set(op["responses"]) and "401" in op["responses"], path
            assert op["security"] == [{"bearer": []}]
    assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert "next_since" in schemas["AnswerPage"]["properties"]

    # every documented GET answers (a write route's method too), and nothing else exists
    for path in doc["paths"]:
        filled = path.replace("{pid}", "x").replace("{rid}", "x").replace("{fid}", "x")
        response = await site.get(filled.lstrip("/"), site.read)
        assert response.status_code in (200, 404, 405), path
    assert error_of(await site.get("nothing-here", site.read), 404) == "no such API route"
    assert error_of(await site.client.delete("rounds", headers=site.auth(site.write)), 405)
