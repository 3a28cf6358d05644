"""Logins under attack (issue 12, findings 1 and 2): the limiter cannot be raced, password
checks are bounded and run off the event loop, forwarded headers are not believed unless
``[server] trusted_proxies`` says so, and the server stays responsive meanwhile."""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.clock import ManualClock
from bot.web.dashboard.auth import LOGIN_COOKIE
from tests.cli_inprocess import run_cli
from tests.serve_process import ParleyProcess, write_config
from tests.test_dashboard import EMAIL, PASSWORD, build, csrf_of


async def _post(client: httpx.AsyncClient, csrf: str, email: str, password: str,
                headers: dict[str, str] | None = None) -> httpx.Response:
    """A login post carrying the form's double-submit cookie itself: each answer sets a
    new login cookie, which must not spoil the posts still in flight."""
    return await client.post("/admin/login", headers={
        **(headers or {}), "Cookie": f"{LOGIN_COOKIE}={csrf}"}, data={
        "csrf": csrf, "email": email, "password": password, "next": "/admin/"})


def _client(**options: object) -> httpx.AsyncClient:
    """A client that keeps no cookies (``_post`` sends the one it needs)."""
    return httpx.AsyncClient(cookies=_NoCookies(), **options)  # type: ignore[arg-type]


class _NoCookies(httpx.Cookies):
    def extract_cookies(self, response: httpx.Response) -> None:
        return None


def _checks(metrics_text: str) -> float:
    for line in metrics_text.splitlines():
        if line.startswith("parley_login_checks_total"):
            return float(line.split()[-1])
    return 0.0


async def test_fifty_parallel_wrong_logins_then_the_right_one_is_refused(
        clock: ManualClock) -> None:
    runtime, app = await build(clock)
    async with _client(transport=httpx.ASGITransport(app),
                                 base_url="http://parley.test") as client:
        csrf = csrf_of((await client.get("/admin/login")).text)
        answers = await asyncio.gather(*(_post(client, csrf, EMAIL, f"guess number {i}")
                                         for i in range(50)))
        right = await _post(client, csrf, EMAIL, PASSWORD)
        checks = _checks((await client.get("/metrics")).text)
    codes = [a.status_code for a in answers]
    assert set(codes) <= {401, 429} and codes.count(401) <= 5, codes
    assert right.status_code == 429 and "parley_admin" not in right.cookies
    assert 1 <= checks <= 5, checks
    await runtime.close()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ParleyProcess]:
    folder = tmp_path_factory.mktemp("login")
    config = write_config(folder, "sms", {})
    added = run_cli("coordinators", "add", EMAIL, "--password-stdin", "--config", config,
                    stdin=f"{PASSWORD}\n", cwd=folder)
    assert added.returncode == 0, added.stderr
    process = ParleyProcess(config).start()
    yield process
    process.stop()


async def test_a_spoofed_forwarded_for_does_not_reset_the_limit(
        served: ParleyProcess) -> None:
    async with _client(base_url=served.base_url, timeout=30) as client:
        csrf = csrf_of((await client.get("/admin/login")).text)
        email = "spoof@example.org"
        for i in range(5):
            spoof = {"X-Forwarded-For": f"203.0.113.{i}"}
            assert (await _post(client, csrf, email, "wrong password", spoof)
                    ).status_code == 401
        again = await _post(client, csrf, email, "wrong password",
                            {"X-Forwarded-For": "198.51.100.7"})
    assert again.status_code == 429


async def test_random_email_logins_leave_healthz_responsive(served: ParleyProcess) -> None:
    async with _client(base_url=served.base_url, timeout=30,
                                 limits=httpx.Limits(max_connections=64)) as client:
        csrf = csrf_of((await client.get("/admin/login")).text)
        logins = [asyncio.create_task(_post(client, csrf, f"{uuid.uuid4().hex}@example.org",
                                            "some password"))
                  for _ in range(24)]
        async def probe() -> float:
            started = time.perf_counter()
            assert (await client.get("/healthz")).status_code == 200
            return time.perf_counter() - started

        # probes at a steady pace while the logins run, each on its own, so time spent
        # blocked shows in every probe that arrives meanwhile (not just the first)
        probes = []
        while not all(t.done() for t in logins) or len(probes) < 10:
            probes.append(asyncio.create_task(probe()))
            await asyncio.sleep(0.025)
        timings = await asyncio.gather(*probes)
        codes = [t.result().status_code for t in logins]
    assert set(codes) <= {401, 429}
    assert statistics.median(timings) < 0.2, timings


async def test_the_limit_holds_across_processes_and_a_restart(tmp_path: Path) -> None:
    """Two dashboards on one database (two `parley serve` processes behind a load
    balancer): 3 wrong passwords on one and 2 on the other use up the 5 for that email;
    a third dashboard started afterwards (a restart) refuses the right password too."""
    from bot.ids import SequentialIds
    from bot.runtime import open_runtime
    from bot.service import ParleyService
    from bot.store.dashboard import Coordinator
    from bot.store.sqlite import SqliteStore
    from bot.web.app import create_app
    from bot.web.dashboard.auth import hash_password
    from tests.test_dashboard import T0, make_config

    runtimes = []

    async def dashboard() -> httpx.AsyncClient:
        runtime = await open_runtime(make_config(), store=SqliteStore(tmp_path / "p.db"),
                                     ids=SequentialIds())
        runtimes.append(runtime)
        app = create_app(ParleyService(runtime), manage_lifecycle=False)
        return _client(transport=httpx.ASGITransport(app), base_url="http://parley.test")

    try:
        one, two = await dashboard(), await dashboard()
        await runtimes[0].store.save_coordinator(Coordinator(EMAIL, hash_password(PASSWORD),
                                                             T0))
        for client, tries in ((one, 3), (two, 2)):
            csrf = csrf_of((await client.get("/admin/login")).text)
            for i in range(tries):
                assert (await _post(client, csrf, EMAIL, f"wrong {i}")).status_code == 401
        for client in (one, two, await dashboard()):
            csrf = csrf_of((await client.get("/admin/login")).text)
            refused = await _post(client, csrf, EMAIL, PASSWORD)
            assert refused.status_code == 429 and "Too many failed attempts" in refused.text
            await client.aclose()
    finally:
        for runtime in runtimes:
            await runtime.close()
