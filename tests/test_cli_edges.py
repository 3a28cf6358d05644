"""No hangs, no surprises at the command line: a busy port is one line and a non-zero
exit; ``parley demo | head`` ends; a project command where there is no project says so
(and ``parley init`` makes one) instead of creating an empty ``parley.db``."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cli_inprocess import Ran, run_cli
from tests.conftest import ROOT

pytestmark = pytest.mark.timeout(60)
ENV = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "COLUMNS": "200"}


def parley(cwd: Path, *args: str) -> Ran:
    return run_cli(*args, cwd=cwd)


def console_script(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The real ``parley`` process: for what only a process shows (a busy port at
    start-up, which also rewires logging; SIGPIPE)."""
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], capture_output=True,
                          text=True, timeout=40, cwd=cwd, env=ENV)


def test_serve_on_a_port_in_use_says_so_in_one_line_and_exits(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        (tmp_path / "config.toml").write_text(
            f'[store]\nurl = "sqlite:///parley.db"\n[server]\nport = {port}\n')
        started = time.monotonic()
        result = console_script(tmp_path, "serve")
    assert time.monotonic() - started < 30
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"error: cannot listen on 127.0.0.1:{port}: Address already in use (is another "
        "parley serve running? change [server] port)"]


def test_demo_piped_into_head_ends(tmp_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "demo"], cwd=tmp_path, env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.readline()  # `head -1`: read a line, then go away
    proc.stdout.close()
    try:
        code = proc.wait(timeout=40)
    finally:
        proc.kill()
    assert code == 141  # 128 + SIGPIPE, as Unix tools end
    assert b"Traceback" not in proc.stderr.read()


def test_no_project_here_says_how_to_make_one(tmp_path: Path) -> None:
    listed = parley(tmp_path, "participants", "list")
    assert listed.returncode == 1
    assert "no Parley project here" in listed.stderr and "parley init" in listed.stderr
    assert parley(tmp_path, "rounds", "list").returncode == 1
    assert not (tmp_path / "parley.db").exists()  # nothing created by accident
    made = parley(tmp_path, "init")
    assert made.returncode == 0, made.stderr
    assert (tmp_path / "config.toml").read_text() == (ROOT / "config.example.toml").read_text()
    assert parley(tmp_path, "participants", "list").returncode == 0
    again = parley(tmp_path, "init")
    assert again.returncode == 1 and "already exists" in again.stderr
