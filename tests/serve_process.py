"""The real ``parley serve`` in a subprocess, as an operator starts it, for the tests and
benchmarks that need the whole thing (CLI, config file, uvicorn, lifespan, senders,
scheduler, SQLite file)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent


def write_config(folder: Path, channel: str, settings: dict[str, Any], *,
                 public_url: str = "") -> Path:
    """``folder/config.toml`` for a test project (the shipped flows and templates, an
    SQLite file beside it, port 0, no quiet hours) with one channel's ``settings``."""
    lines = "\n".join(f"{key} = {json.dumps(value)}" for key, value in settings.items())
    path = folder / "config.toml"
    path.write_text(f"""
[project]
name = "Money Voices"
contact = "call 0800 123 456"
locales = ["en", "cy"]
flows_dir = "{ROOT / 'flows'}"
templates_dir = "{ROOT / 'templates'}"

[store]
url = "sqlite:///{folder / 'parley.db'}"

[server]
host = "127.0.0.1"
port = 0
public_url = "{public_url}"

[schedule]
quiet_hours = ""

[{channel}]
{lines}
""", encoding="utf-8")
    return path


class ParleyProcess:
    """``parley serve --config F --port-file P [--senders paused] [args…]``;
    ``base_url`` once it answers /healthz; ``serve.log`` beside the config."""

    def __init__(self, config: Path, *, paused: bool = False, log_level: str = "INFO",
                 args: tuple[str, ...] = ()) -> None:
        self.config, self.paused, self.log_level, self.args = config, paused, log_level, args
        self.port_file = config.with_name("port")
        self.log = config.with_name("serve.log")
        self.proc: subprocess.Popen[bytes] | None = None
        self.base_url = ""

    def start(self, timeout: float = 20.0) -> ParleyProcess:
        self.port_file.unlink(missing_ok=True)
        env = {**os.environ, "PARLEY_LOG_LEVEL": self.log_level, "PYTHONPATH": str(ROOT)}
        command = [sys.executable, "-m", "bot.cli", "serve", "--config", str(self.config),
                   "--port-file", str(self.port_file), *self.args]
        if self.paused:
            command += ["--senders", "paused"]
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(command, cwd=self.config.parent, env=env,
                                         stdout=log, stderr=log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"parley serve exited {self.proc.returncode}:\n"
                                   + self.log.read_text(errors="replace")[-3000:])
            if self.port_file.exists():
                self.base_url = f"http://127.0.0.1:{self.port_file.read_text().strip()}"
                try:
                    if httpx.get(self.base_url + "/healthz", timeout=1).status_code == 200:
                        return self
                except httpx.HTTPError:
                    pass
            time.sleep(0.05)
        self.stop()
        raise TimeoutError("parley serve did not become healthy:\n"
                           + self.log.read_text(errors="replace")[-3000:])

    def stop(self, timeout: float = 10.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout)

    def kill(self) -> None:
        """SIGKILL, as a crash: no shutdown code runs at all."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)


async def until(check: Callable[[], object], timeout: float = 10.0,
                what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)
