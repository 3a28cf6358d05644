"""The coordinator dashboard in-process (httpx over ASGI): access control, CSRF, pages,
participants, results, the simulator. The real-browser tests are in tests/browser/."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from bot.clock import ManualClock
from bot.ids import SequentialIds
from bot.runtime import Runtime, open_runtime
from bot.service import ParleyService
from bot.stats import CohortShare, paired_change, representation, t_quantile
from bot.store.dashboard import Coordinator
from bot.store.records import Address, AnswerRow, Changes, ConsentRecord, Participant
from bot.store.round_records import Round
from bot.store.scratch import ScratchStore
from bot.web.app import create_app
from bot.web.dashboard.auth import hash_password, safe_next, verify_password
from bot.web.dashboard.login_guard import AttemptLimiter
from tests.conftest import T0, make_config

EMAIL, PASSWORD = "coord@example.org", "correct horse battery"
PAGES = ["/admin/", "/admin/participants", "/admin/results", "/admin/results/ons4",
         "/admin/simulator", "/admin/audit", "/admin/rounds", "/admin/findings",
         "/admin/credits"]


async def build(clock: ManualClock, **config: dict[str, Any]) -> tuple[Runtime, Any]:
    runtime = await open_runtime(make_config(**config), store=ScratchStore(clock=clock),
                                 clock=clock, ids=SequentialIds())
    await runtime.store.save_coordinator(Coordinator(EMAIL, hash_password(PASSWORD), T0))
    return runtime, create_app(ParleyService(runtime), manage_lifecycle=False)


@pytest.fixture
async def site(clock: ManualClock) -> AsyncIterator[tuple[Runtime, httpx.AsyncClient]]:
    runtime, app = await build(clock)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app),
                                 base_url="http://parley.test") as client:
        yield runtime, client
    for job in app.app.state.service.jobs:  # the simulator's phones and their stores
        await job.stop()
    await runtime.close()


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF field on the page"
    return found.group(1)


async def login(client: httpx.AsyncClient, email: str = EMAIL,
                password: str = PASSWORD) -> httpx.Response:
    page = await client.get("/admin/login")
    return await client.post("/admin/login", data={
        "csrf": csrf_of(page.text), "email": email, "password": password,
        "next": "/admin/participants"})


async def enrol(runtime: Runtime, pid: str, phone: str, *, name: str = "Ada",
                cohort: str = "north") -> None:
    await runtime.store.apply(Changes(
        participant=Participant(pid, T0, status="consented", cohort=cohort, name=name,
                                consent_version="v1", profile={"preferred_name": name}),
        addresses=[Address(f"tel:{phone}", pid, "sms", T0)],
        consents=[ConsentRecord(pid, "v1", "given", T0)]))


def ons4_answer(pid: str, field: str, value: int, round_id: str) -> AnswerRow:
    node = {"life_satisfaction": "satisfaction", "worthwhile": "worthwhile"}[field]
    return AnswerRow(pid, f"s-{pid}-{round_id}", "ons4", "v", node, field, value, str(value),
                     T0, round_id=round_id)


# -- access control -----------------------------------------------------------------------

@pytest.mark.parametrize("path", [*PAGES, "/admin/participants/p1",
                                  "/admin/results/ons4/export.csv"])
async def test_anonymous_requests_go_to_the_login_page(
        site: tuple[Runtime, httpx.AsyncClient], path: str) -> None:
    _, client = site
    response = await client.get(path)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/admin/login?next=")


async def test_anonymous_posts_go_to_the_login_page_and_change_nothing(
        site: tuple[Runtime, httpx.AsyncClient]) -> None:
    runtime, client = site
    await enrol(runtime, "p1", "+447700900001")
    response = await client.post("/admin/participants/p1/erase", data={"confirm": "p1"})
    assert response.status_code == 303 and "/admin/login" in response.headers["location"]
    p = await runtime.store.get_participant("p1")
    assert p is not None and p.status == "consented"


async def test_login_sets_a_safe_session_cookie_and_follows_next(
        site: tuple[Runtime, httpx.AsyncClient]) -> None:
    _, client = site
    response = await login(client)
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/participants"
    cookie = next(c for c in response.headers.get_list("set-cookie")
                  if c.startswith("parley_admin="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/admin" in cookie
    assert "Secure" not in cookie  # plain http in this test
    for path in PAGES:
        page = await client.get(path)
        assert page.status_code == 200, path
        assert "Content-Security-Policy" in page.headers
        assert EMAIL in page.text


async def test_cookies_are_secure_behind_https(clock: ManualClock) -> None:
    runtime, app = await build(clock, server={"public_url": "https://parley.example.org"})
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app),
                                 base_url="https://parley.example.org") as client:
        response = await login(client)
        cookie = next(c for c in response.headers.get_list("set-cookie")
                      if c.startswith("parley_admin="))
        assert "Secure" in cookie and "HttpOnly" in cookie
    await runtime.close()


async def test_wrong_password_and_unknown_email_are_refused_alike(
        site: tuple[Runtime, httpx.AsyncClient]) -> None:
    _, client = site
    wrong = await login(client, password="not the password")
    unknown = await login(client, email="nobody@example.org")
    assert wrong.status_code == unknown.status_code == 401
    assert "do not match" in wrong.text and "do not match" in unknown.text
    assert (await client.get("/admin/")).status_code == 303


async def test_login_is_rate_limited_per_email_and_address(
        site: tuple[Runtime, httpx.AsyncClient]) -> None:
    _, client = site
    for _ in range(5):
        assert (await login(client, password="guess guess guess")).status_code == 401
    blocked = await login(client)  # even the right password waits now
    assert blocked.status_code == 429 and "Too many failed attempts" in blocked.text
    other = await login(client, email="other@example.org", password="whatever it is")
    assert other.status_code == 401  # another email is counted on its own


def test_login_limiter_window_slides() -> None:
    now = [0.0]
    limiter = AttemptLimiter(limit=2, window=60, now=lambda: now[0])
    for _ in range(2):
        limiter.reserve("a")
        limiter.release("a", failed=True)
    assert limiter.blocked_for("a") == pytest.approx(60)
    now[0] = 61
    assert limiter.blocked_for("a") == 0
    limiter.reserve("a")
    limiter.release("a", failed=True)
    limiter.reserve("a")
    limiter.release("a", failed=False)  # a good login forgives the email's failures
    assert limiter.blocked_for("a") == 0


async def test_login_form_needs_its_csrf_token(site: tuple[Runtime,
                                                           httpx.AsyncClient]) -> None:
    _, client = site
    await client.get("/admin/login")
    forged = await client.post("/admin/login", data={"csrf": "forged", "email": EMAIL,
                                                     "password": PASSWORD})
    assert forged.status_code == 403
    assert (await client.get("/admin/")).status_code == 303


@pytest.mark.parametrize("path,data", [
    ("/admin/participants/p1/erase", {"confirm": "p1"}),
    ("/admin/targets", {"cohort": "north", "share": "50"}),
    ("/admin/simulator/start", {"flow": "ons4", "locale": "en", "channel": "sms"}),
    ("/admin/logout", {}),
])
async def test_forged_or_missing_csrf_tokens_are_refused(
        site: tuple[Runtime, httpx.AsyncClient], path: str, data: dict[str, str]) -> None:
    runtime, client = site
    await enrol(runtime, "p1", "+447700900001")
    await login(client)
    assert (await client.post(path, data=data)).status_code == 403
    assert (await client.post(path, data={**data, "csrf": "forged"})).status_code == 403
    p = await runtime.store.get_participant("p1")
    assert p is not None and p.status == "consented"
    assert await runtime.store.cohort_targets() == {}
    assert (await client.get("/admin/")).status_code == 200  # still logged in


async def test_logout_ends_the_session_on_the_server(
        site: tuple[Runtime, httpx.AsyncClient]) -> None:
    _, client = site
    await login(client)
    token = client.cookies.get("parley_admin")
    page = await client.get("/admin/")
    assert (await client.post("/admin/logout", data={"csrf": csrf_of(page.text)})
            ).status_code == 303
    assert (await client.get("/admin/")).status_code == 303
    client.cookies.set("parley_admin", token or "", path="/admin")  # a stolen copy
    assert (await client.get("/admin/")).status_code == 303


async def test_sessions_expire(clock: ManualClock,
                               site: tuple[Runtime, httpx.AsyncClient]) -> None:
    _, client = site
    await login(client)
    assert (await client.get("/admin/")).status_code == 200
    clock.advance(timedelta(hours=13))
    assert (await client.get("/admin/")).status_code == 303


def test_passwords_are_argon2_and_next_stays_inside_the_dashboard() -> None:
    hashed = hash_password("a long password")
    assert hashed.startswith("$argon2id$")
    assert verify_password(hashed, "a long password")
    assert not verify_password(hashed, "another password")
    assert not verify_password(None, "a long password")
    assert safe_next("/admin/rounds?x=1") == "/admin/rounds?x=1"
    for evil in ("https://evil.example", "//evil.example", "/admin/\\evil.example", None, ""):
        assert safe_next(evil) == "/admin/"


# -- pages ---------------------------------------------------------------------------------

async def test_participant_text_is_escaped(site: tuple[Runtime, httpx.AsyncClient]) -> None:
    runtime, client = site
    await enrol(runtime, "p1", "+447700900001", name="<script>alert(1)</script>")
    await login(client)
    for path in ("/admin/participants", "/admin/participants/p1"):
        page = await client.get(path)
        assert "<script>alert(1)</script>" not in page.text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text


async def test_phone_numbers_are_masked_unless_revealed_and_revealing_is_audited(
        site: tuple[Runtime, httpx.AsyncClient]) -> None:
    runtime, client = site
    await enrol(runtime, "p1", "+447700900123")
    await login(client)
    page = await client.get("/admin/participants")
    assert "+447700900123" not in page.text and "+44•••••••123" in page.text
    assert "+447700900123" not in (await client.get("/admin/participants/p1")).text
    # a GET (a link, a prefetch) neither reveals nor writes to the audit log
    assert "+447700900123" not in (await client.get("/admin/participants/p1?reveal=1")).text
    assert "participant.reveal_numbers" not in [e.action for e in
                                                await runtime.store.audit_log()]
    profile = await client.get("/admin/participants/p1")
    revealed = await client.post("/admin/participants/p1", data={
        "csrf": csrf_of(profile.text), "reveal": "1"})
    assert "+447700900123" in revealed.text
    forged = await client.post("/admin/participants", data={"reveal": "1"})
    assert forged.status_code == 403 and "+447700900123" not in forged.text
    actions = [e.action for e in await runtime.store.audit_log()]
    assert "participant.reveal_numbers" in actions and "login" in actions


async def test_participant_search_by_name_cohort_and_digits(
        site: tuple[Runtime, httpx.AsyncClient]) -> None:
    runtime, client = site
    await enrol(runtime, "p1", "+447700900111", name="Ada", cohort="north")
    await enrol(runtime, "p2", "+447700900222", name="Bryn", cohort="wales")
    await login(client)

    async def found(q: str) -> set[str]:
        page = await client.get("/admin/participants", params={"q": q})
        return set(re.findall(r'href="/admin/participants/(p\d)"', page.text))

    assert await found("ada") == {"p1"}
    assert await found("wales") == {"p2"}
    assert await found("0222") == {"p2"}
    assert await found("") == {"p1", "p2"}


async def test_target_mix_is_saved_and_judged(site: tuple[Runtime, httpx.AsyncClient]) -> None:
    runtime, client = site
    await enrol(runtime, "p1", "+447700900001", cohort="north")
    await login(client)
    page = await client.get("/admin/")
    response = await client.post("/admin/targets", data={
        "csrf": csrf_of(page.text), "cohort": ["north", "wales"], "share": ["70", "30"]})
    assert response.status_code == 303
    assert await runtime.store.cohort_targets() == {"north": 70.0, "wales": 30.0}
    bad = await client.post("/admin/targets", data={"csrf": csrf_of(page.text),
                                                    "cohort": "x", "share": "lots"})
    assert bad.status_code == 400
    assert "Target mix saved" in (await client.get("/admin/?done=targets")).text


def test_representation_verdicts() -> None:
    rows = [CohortShare("a", 10, 10, 8, 50.0, 8), CohortShare("b", 10, 10, 2, 50.0, 2),
            CohortShare("c", 5, 0, 0, None)]
    verdicts = {r.cohort: (round(s or 0), v) for r, s, v in representation(rows)}
    assert verdicts == {"a": (80, "over"), "b": (20, "under"), "c": (0, "no target")}
    assert rows[0].response_rate == 0.8 and rows[2].response_rate is None


def test_paired_change_matches_a_hand_computation() -> None:
    assert t_quantile(0.975, 4) == pytest.approx(2.7764, abs=1e-4)
    assert t_quantile(0.975, 29) == pytest.approx(2.0452, abs=1e-4)
    change = paired_change([(5, 7), (6, 6), (4, 8), (7, 7)])
    # diffs 2,0,4,0: mean 1.5, sd 1.915, se 0.957, t(0.975, df 3) 3.182 → ±3.047
    assert change.n == 4 and change.mean_change == pytest.approx(1.5)
    assert change.ci_low == pytest.approx(-1.547, abs=1e-3)
    assert change.ci_high == pytest.approx(4.547, abs=1e-3)
    assert paired_change([(1, 2)]).ci_low is None
    assert paired_change([]).n == 0


async def test_results_pair_baseline_and_end_and_export_csv(
        site: tuple[Runtime, httpx.AsyncClient]) -> None:
    runtime, client = site
    store = runtime.store
    for label in ("baseline", "end"):
        await store.round_add(Round(id=f"r-{label}", flow_id="ons4", audience="all",
                                    created_at=T0, start_at=T0, label=label, status="closed"))
    rows = []
    for i, (before, after) in enumerate([(5, 7), (6, 6), (4, 8), (7, 7)], start=1):
        await enrol(runtime, f"p{i}", f"+44770090000{i}")
        rows += [ons4_answer(f"p{i}", "life_satisfaction", before, "r-baseline"),
                 ons4_answer(f"p{i}", "life_satisfaction", after, "r-end")]
    await enrol(runtime, "p9", "+447700900009")  # answered the baseline only: not paired
    rows.append(ons4_answer("p9", "life_satisfaction", 0, "r-baseline"))
    await store.apply(Changes(answers=rows))
    await login(client)
    page = await client.get("/admin/results/ons4")
    assert page.status_code == 200
    table = page.text[page.text.index('id="paired"'):]
    assert re.search(r"<td class=\"num\">4</td>\s*<td class=\"num\">5.50</td>\s*"
                     r"<td class=\"num\">7.00</td>\s*<td class=\"num\">\+1.50</td>\s*"
                     r"<td>-1.55 to \+4.55</td>", table)
    assert "<svg" in page.text and 'role="img"' in page.text
    export = await client.get("/admin/results/ons4/export.csv", params={"label": "end"})
    assert export.headers["content-type"].startswith("text/csv")
    data = list(csv.DictReader(io.StringIO(export.text)))
    assert len(data) == 4 and {d["round_label"] for d in data} == {"end"}
    assert {d["participant_id"] for d in data} == {"p1", "p2", "p3", "p4"}


async def test_an_erased_participant_disappears_from_pages_and_exports(
        site: tuple[Runtime, httpx.AsyncClient]) -> None:
    runtime, client = site
    await enrol(runtime, "p1", "+447700900111", name="Ada Lovelace")
    await enrol(runtime, "p2", "+447700900222", name="Bryn")
    await runtime.store.round_add(Round(id="r1", flow_id="ons4", audience="all",
                                        created_at=T0, start_at=T0, label="baseline"))
    await runtime.store.apply(Changes(answers=[
        ons4_answer("p1", "life_satisfaction", 3, "r1"),
        ons4_answer("p2", "life_satisfaction", 8, "r1")]))
    await login(client)
    profile = await client.get("/admin/participants/p1")
    refused = await client.post("/admin/participants/p1/erase",
                                data={"csrf": csrf_of(profile.text), "confirm": "wrong"})
    assert refused.status_code == 400
    erased = await client.post("/admin/participants/p1/erase",
                               data={"csrf": csrf_of(profile.text), "confirm": "p1"})
    assert erased.status_code == 303
    for path in [*PAGES, "/admin/participants?q=ada", "/admin/results/ons4?label=baseline"]:
        text = (await client.get(path)).text
        assert "Ada Lovelace" not in text and "900111" not in text, path
        assert 'href="/admin/participants/p1"' not in text, path
    assert (await client.get("/admin/participants/p1")).status_code == 404
    assert (await client.get("/admin/participants/p1/export.json")).status_code == 404
    export = (await client.get("/admin/results/ons4/export.csv")).text
    assert "p1" not in export and "p2" in export
    assert any(e.action == "participant.erase" and e.subject == "p1"
               for e in await runtime.store.audit_log())


async def test_participant_export_is_their_whole_record(
        site: tuple[Runtime, httpx.AsyncClient]) -> None:
    runtime, client = site
    await enrol(runtime, "p1", "+447700900111", name="Ada")
    await login(client)
    response = await client.get("/admin/participants/p1/export.json")
    assert response.status_code == 200
    data = response.json()
    assert data["participant"]["id"] == "p1"
    assert data["consents"][0]["decision"] == "given"


# -- simulator -----------------------------------------------------------------------------

async def test_simulator_runs_the_real_engine_and_sends_nothing(
        site: tuple[Runtime, httpx.AsyncClient]) -> None:
    runtime, client = site
    await login(client)
    page = await client.get("/admin/simulator")
    token = csrf_of(page.text)
    started = await client.post("/admin/simulator/start", data={
        "csrf": token, "flow": "ons4", "locale": "en", "channel": "sms"})
    assert started.status_code == 303
    page = await client.get("/admin/simulator")
    assert "how satisfied are you with your life" in page.text
    assert re.search(r"GSM-7 · \d segments? · \d+ characters", page.text)
    await client.post("/admin/simulator/say", data={"csrf": token, "text": "seven"})
    page = await client.get("/admin/simulator")
    assert "seven" in page.text and "worthwhile" in page.text
    measured = await client.get("/admin/simulator/measure", params={"text": "€" * 80})
    assert measured.json() == {"characters": 80, "encoding": "GSM-7", "segments": 1}
    ucs = await client.get("/admin/simulator/measure", params={"text": "é" * 10 + "ł"})
    assert ucs.json()["encoding"] == "UCS-2"
    # the project's own store saw nothing of it
    assert await runtime.store.outbox_all() == []
    assert await runtime.store.list_participants() == []


async def test_simulator_telegram_style_has_buttons(
        site: tuple[Runtime, httpx.AsyncClient]) -> None:
    _, client = site
    await login(client)
    token = csrf_of((await client.get("/admin/simulator")).text)
    await client.post("/admin/simulator/start", data={
        "csrf": token, "flow": "endorsement", "locale": "en", "channel": "telegram",
        "var_finding_title": "Costs", "var_finding_text": "Prepayment meters cost more."})
    page = await client.get("/admin/simulator")
    assert "Prepayment meters cost more." in page.text
    assert re.search(r'<button type="submit" name="press" value="[^"]+">Agree</button>',
                     page.text)
    key = re.search(r'name="press" value="([^"]+)">Partly agree', page.text)
    assert key is not None
    await client.post("/admin/simulator/say", data={"csrf": token, "press": key.group(1)})
    page = await client.get("/admin/simulator")
    assert 'class="msg out">Partly agree</p>' in page.text


# -- rounds, findings, credits ---------------------------------------------------------------

async def test_round_is_created_previewed_started_and_its_progress_served_as_json(
        site: tuple[Runtime, httpx.AsyncClient]) -> None:
    runtime, client = site
    await enrol(runtime, "p1", "+447700900001", cohort="north")
    await enrol(runtime, "p2", "+447700900002", cohort="wales")
    await login(client)
    page = await client.get("/admin/rounds")
    bad = await client.post("/admin/rounds/new", data={
        "csrf": csrf_of(page.text), "flow": "ons4", "audience": "all", "every": "often"})
    assert bad.status_code == 400 and "Not created" in bad.text
    created = await client.post("/admin/rounds/new", data={
        "csrf": csrf_of(page.text), "flow": "ons4", "audience": "cohort", "cohort": "north",
        "label": "baseline", "remind_after": "2d", "close_after": "7d"})
    assert created.status_code == 303
    rid = created.headers["location"].rsplit("/", 1)[1]
    detail = await client.get(f"/admin/rounds/{rid}")
    assert "If started now: <strong>1</strong> people" in detail.text
    assert "how satisfied are you with your life" in detail.text  # first messages preview
    progress = (await client.get(f"/admin/rounds/{rid}/progress.json")).json()
    assert progress["status"] == "draft" and progress["targeted"] == 0
    started = await client.post(f"/admin/rounds/{rid}/start",
                                data={"csrf": csrf_of(detail.text)})
    assert started.status_code == 303
    assert "Started: 1 people targeted." in (await client.get(started.headers["location"])).text
    progress = (await client.get(f"/admin/rounds/{rid}/progress.json")).json()
    assert progress["status"] == "running" and progress["targeted"] == 1
    assert set(progress) >= {"sent", "delivered", "completed", "ambiguous", "by_channel"}
    actions = [(e.action, e.actor) for e in await runtime.store.audit_log()]
    assert ("round.create", EMAIL) in actions and ("round.start", EMAIL) in actions
    again = await client.post(f"/admin/rounds/{rid}/start", data={"csrf": csrf_of(detail.text)})
    assert again.status_code == 400 and "notice error" in again.text  # cannot start twice


async def test_findings_publish_and_summary_page(
        site: tuple[Runtime, httpx.AsyncClient]) -> None:
    _runtime, client = site
    await login(client)
    page = await client.get("/admin/findings")
    bad = await client.post("/admin/findings/publish", data={
        "csrf": csrf_of(page.text), "source": "no title here"})
    assert bad.status_code == 400 and "Not published" in bad.text
    made = await client.post("/admin/findings/publish", data={
        "csrf": csrf_of(page.text),
        "source": "# Costs of being poor\n\nPrepayment meters cost more."})
    assert made.status_code == 303
    fid = made.headers["location"].rsplit("/", 1)[1]
    detail = await client.get(f"/admin/findings/{fid}")
    assert "Prepayment meters cost more." in detail.text
    assert "<strong>0</strong> agree" in detail.text
    second = await client.post("/admin/findings/publish", data={
        "csrf": csrf_of(page.text), "replaces": fid,
        "source": "# Costs of being poor\n\nPrepayment meters cost more, and...\n\n"
                  "## What we changed\nAdded standing charges."})
    detail = await client.get(second.headers["location"])
    assert "Version 2" in detail.text and "Added standing charges." in detail.text
    assert "We did" in detail.text


async def test_credits_batch_download_and_mark_paid(
        site: tuple[Runtime, httpx.AsyncClient]) -> None:
    from bot.store.round_records import LedgerEntry

    runtime, client = site
    await enrol(runtime, "p1", "+447700900001", name="Ada")
    await runtime.store.apply(Changes(ledger=[LedgerEntry("p1", T0, 500, key="k1",
                                                          flow_id="ons4")]))
    await login(client)
    page = await client.get("/admin/credits")
    assert ">5</td>" in page.text  # owed
    made = await client.post("/admin/credits/batches", data={
        "csrf": csrf_of(page.text), "period": T0.strftime("%Y-%m")})
    assert "notice=batch_made" in made.headers["location"]
    batch = (await runtime.store.payout_batches())[0]
    download = await client.get(f"/admin/credits/batches/{batch.id}.csv")
    rows = list(csv.DictReader(io.StringIO(download.text)))
    assert [(r["participant_id"], r["credits"]) for r in rows] == [("p1", "5")]
    again = await client.post("/admin/credits/batches", data={
        "csrf": csrf_of(page.text), "period": T0.strftime("%Y-%m")})
    assert "notice=nothing_to_pay" in again.headers["location"]
    await client.post(f"/admin/credits/batches/{batch.id}/paid",
                      data={"csrf": csrf_of(page.text)})
    paid = await runtime.store.payout_get(batch.id)
    assert paid is not None and paid.status == "paid" and paid.paid_by == EMAIL
    adjusted = await client.post("/admin/credits/adjust", data={
        "csrf": csrf_of(page.text), "participant": "p1", "amount": "2.5", "note": "travel"})
    assert "notice=adjusted" in adjusted.headers["location"]
    assert sum(e.amount for e in await runtime.store.ledger(participant_id="p1")) == 750


def test_addresses_are_masked_on_both_channels() -> None:
    from bot.web.dashboard.participants import mask_address

    assert mask_address("tel:+447700900123") == "tel:+44•••••••123"
    assert mask_address("telegram:123456789") == "telegram:•••••••89"
    assert mask_address("telegram:7") == "telegram:•7"


async def test_notices_come_from_fixed_keys_not_from_the_query_string(
        site: tuple[Runtime, httpx.AsyncClient]) -> None:
    _, client = site
    await login(client)
    lure = "Your session expired. Call +44 20 7946 0000 to log in again"
    for path in ("/admin/credits", "/admin/simulator"):
        page = await client.get(path, params={"error": lure, "done": lure, "notice": lure})
        assert page.status_code == 200 and "Call +44" not in page.text, path
    crafted = await client.get("/admin/credits", params={"notice": "batch_paid",
                                                         "ref": lure})
    assert "Batch ? marked paid." in crafted.text and "Call +44" not in crafted.text
    named = await client.get("/admin/credits", params={"notice": "batch_paid",
                                                       "ref": "B2026-03-1"})
    assert "Batch B2026-03-1 marked paid." in named.text
