"""``parley …`` run in the test process (Typer's CliRunner): the same commands, options,
output and exit codes as the console script, without a Python start-up per call.
tests/test_cli.py keeps one smoke test of the real console script in a subprocess.

- ``run_cli(*args, cwd=, stdin=, env=)`` returns what ``subprocess.run`` would have
  (``returncode``, ``stdout``, ``stderr``). An exception that escapes a command is
  raised in the test, where a process would have printed a traceback: a command must
  never end that way.
- It runs in a worker thread, so async tests may call it as they called
  ``subprocess.run``: commands call ``asyncio.run`` and need a thread with no loop.
- ``parley(config, *args, ok=True)``: a call against a config file that must succeed
  (or fail, with ``ok=False``).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import typer
from click.testing import CliRunner, Result

from bot import cli
from bot.cli_common import err, out

_command: click.Command | None = None
_lock = threading.Lock()  # the working directory and sys.stdout are process-wide
WIDTH = 200
"""Columns for rich's tables, as ``COLUMNS=200`` gave the console script."""


@dataclass(frozen=True)
class Ran:
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        """Both streams, as a person at the terminal sees them."""
        return self.stdout + self.stderr


def _app() -> click.Command:
    global _command
    if _command is None:  # what main() does before running the app
        cli._register_groups()
        command = typer.main.get_command(cli.app)
        cli._keep_brackets(command)
        _command = command
    return _command


@contextlib.contextmanager
def _wide(columns: int) -> Iterator[None]:
    saved = out.width, err.width
    out.width = err.width = columns
    try:
        yield
    finally:
        out.width, err.width = saved


def _invoke(args: list[str], cwd: Path | None, stdin: str,
            env: Mapping[str, str | None], columns: int) -> Result:
    with _lock, contextlib.chdir(cwd or os.getcwd()), _wide(columns):
        return CliRunner().invoke(_app(), args, input=stdin, env=dict(env),
                                  catch_exceptions=True)


def run_cli(*args: Any, cwd: Path | None = None, stdin: str = "",
            env: Mapping[str, str] | None = None, columns: int = WIDTH) -> Ran:
    with ThreadPoolExecutor(1) as pool:
        result = pool.submit(_invoke, [str(a) for a in args], cwd, stdin,
                             {"PARLEY_ACTOR": None, **(env or {})}, columns).result()
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception  # a traceback, where the console script would show one
    return Ran(result.exit_code, result.stdout, result.stderr)


def parley(config: Path, *args: str, ok: bool = True) -> Ran:
    ran = run_cli(*args, "--config", str(config))
    assert (ran.returncode == 0) == ok, (ran.returncode, ran.stdout, ran.stderr)
    return ran
