"""A real ``parley serve`` process against the local Telegram and Twilio fakes, driven
by Debian's chromium through Playwright (no browser download).

The browser tests skip, saying why, only when /usr/bin/chromium (or the playwright
package) is missing and this is not CI; under ``CI=true`` a missing browser is a failure,
since ``.ci/run`` installs chromium with apt first. Screenshots go to a temporary folder
unless ``pytest --update-screenshots`` asks for the committed ones in docs/screenshots/.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import datetime as dt
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.config import load_config
from bot.runtime import load_content
from bot.store.sqlite import SqliteStore
from tests.browser.seed import EMAIL, PASSWORD, seed
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import FakeTwilio
from tests.serve_process import write_config

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "docs" / "screenshots"
TOKEN, SECRET = "123:ABC", "browser-test-secret"
SMS_FROM = "+447700900999"

IN_CI = os.environ.get("CI", "").lower() == "true"


def _unavailable(reason: str) -> None:
    if IN_CI:
        raise RuntimeError(f"CI=true but {reason}")
    pytest.skip(reason, allow_module_level=True)


if not CHROMIUM.exists():
    _unavailable("browser tests need Debian's chromium at /usr/bin/chromium "
                 "(apt-get install chromium; .ci/run does this)")
if importlib.util.find_spec("playwright") is None:
    _unavailable("browser tests need the playwright package (pip install -e '.[test]')")

from playwright.sync_api import Browser, Page, sync_playwright  # noqa: E402


def has_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


@dataclass
class Project:
    url: str
    folder: Path
    telegram: FakeTelegram | None
    twilio: FakeTwilio | None
    process: subprocess.Popen[bytes]
    log: Path

    def post_telegram(self, update: dict[str, Any]) -> None:
        response = httpx.post(f"{self.url}/telegram/webhook", json=update, timeout=10,
                              headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
        response.raise_for_status()

    def post_twilio(self, path: str, form: dict[str, str]) -> None:
        from tests.fakes.twilio_api import sign_twilio_request

        assert self.twilio is not None
        url = f"{self.url}{path}"
        signature = sign_twilio_request(self.twilio.auth_token, url, form)
        response = httpx.post(url, data=form, headers={"X-Twilio-Signature": signature},
                              timeout=10)
        response.raise_for_status()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _config(folder: Path, port: int, telegram: str, twilio: FakeTwilio,
            twilio_url: str) -> Path:
    return write_config(folder, "telegram", {
        "token": TOKEN, "webhook_secret": SECRET, "api_base_url": f"{telegram}/bot",
        "mode": "webhook", "rate_limit_per_second": 30, "per_chat_per_second": 30,
    }, public_url=f"http://127.0.0.1:{port}", port=port, more={
        "sms": {"account_sid": twilio.account_sid, "auth_token": twilio.auth_token,
                "from_number": SMS_FROM, "api_base_url": twilio_url,
                "rate_limit_per_second": 50},
        "schedule": {"timezone": "Europe/London"},
        "credits": {"unit": "£", "value_per_credit": 1.0,
                    "rules": [{"flow": "ons4", "amount": 5},
                              {"flow": "endorsement", "amount": 3}]},
        "coordinators": {"telegram_ids": [9001]},
    })


def _wait_healthy(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"parley serve exited {process.returncode}:\n"
                               f"{log.read_text(errors='replace')[-3000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        time.sleep(0.1)
    raise TimeoutError(f"parley serve did not become healthy:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    folder = tmp_path_factory.mktemp("dashboard")
    telegram, twilio = FakeTelegram(TOKEN), FakeTwilio()
    with contextlib.ExitStack() as stack:
        tg_url = stack.enter_context(telegram.serve()).base_url
        tw_url = stack.enter_context(twilio.serve()).base_url
        port = _free_port()
        config = _config(folder, port, tg_url, twilio, tw_url)

        async def prepare() -> None:
            consent = load_content(load_config(config))[1].get("consent")
            store = SqliteStore(folder / "parley.db")
            await store.open()
            await seed(store, dt.datetime.now(dt.UTC), consent.consent_version or consent.version)
            await store.close()

        # in a thread of its own: Playwright's sync API may already run a loop here
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, prepare()).result()
        log = folder / "serve.log"
        env = {**os.environ, "PARLEY_LOG_LEVEL": "INFO", "PYTHONUNBUFFERED": "1",
               "PARLEY_SCHEDULER_INTERVAL": "1"}
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "bot.cli", "serve", "--config", str(config)],
                cwd=folder, stdout=out, stderr=subprocess.STDOUT, env=env)
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_healthy(url, process, log)
            yield Project(url, folder, telegram, twilio, process, log)
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as pw:
        found = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield found
        found.close()


@pytest.fixture
def page(browser: Browser, project: Project) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900},
                                  base_url=project.url, accept_downloads=True)
    context.set_default_timeout(10_000)
    found = context.new_page()
    yield found
    context.close()


def log_in(page: Page, email: str = EMAIL, password: str = PASSWORD) -> None:
    page.goto("/admin/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/admin/**")


SHOTS_ENV = "PARLEY_SCREENSHOTS_DIR"


@pytest.fixture(scope="session", autouse=True)
def screenshot_folder(request: pytest.FixtureRequest,
                      tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """docs/screenshots/ with --update-screenshots, else a temporary folder, so a normal
    run never rewrites the committed pictures. (An environment variable carries the
    choice: the tests import ``shot`` from this file as a module of its own.)"""
    update = bool(request.config.getoption("--update-screenshots"))
    folder = SCREENSHOTS if update else tmp_path_factory.mktemp("screenshots")
    previous = os.environ.get(SHOTS_ENV)
    os.environ[SHOTS_ENV] = str(folder)
    yield folder
    if previous is None:
        os.environ.pop(SHOTS_ENV, None)
    else:
        os.environ[SHOTS_ENV] = previous


def shot(page: Page, name: str, *, full: bool = True) -> Path:
    """A PNG of the current page (commit-ready under docs/screenshots/ when updating)."""
    folder = Path(os.environ.get(SHOTS_ENV) or tempfile.gettempdir())
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=full)
    assert path.stat().st_size > 1000, f"screenshot {name} is empty"
    return path
