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


def toml_value(value: Any) -> str:
    """A TOML value: strings, numbers, booleans, lists and inline tables."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return json.dumps(value) if isinstance(value, str) else repr(value)


def write_config(folder: Path, channel: str, settings: dict[str, Any], *,
                 public_url: str = "", port: int = 0,
                 more: dict[str, dict[str, Any]] | None = None) -> Path:
    """``folder/config.toml`` for a test project (the shipped flows and templates, an
    SQLite file beside it, port 0, no quiet hours) with one channel's ``settings``;
    ``more`` adds sections or keys (another channel, credits, coordinators)."""
    sections: dict[str, dict[str, Any]] = {
        "project": {"name": "Money Voices", "contact": "call 0800 123 456",
                    "locales": ["en", "cy"], "flows_dir": str(ROOT / "flows"),
                    "templates_dir": str(ROOT / "templates")},
        "store": {"url": f"sqlite:///{folder / 'parley.db'}"},
        "server": {"host": "127.0.0.1", "port": port, "public_url": public_url},
        "schedule": {"quiet_hours": ""},
        channel: dict(settings),
    }
    for name, keys in (more or {}).items():
        sections[name] = {**sections.get(name, {}), **keys}
    path = folder / "config.toml"
    path.write_text("".join(
        f"\n[{name}]\n" + "".join(f"{k} = {toml_value(v)}\n" for k, v in keys.items())
        for name, keys in sections.items()), encoding="utf-8")
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
