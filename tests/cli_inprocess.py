"""``parley …`` run in the test process (Typer's CliRunner), for tests that make many
CLI calls against one project: the same commands, options and exit codes as the
console script, without a Python start-up per call. (tests/test_cli.py keeps checking
the real console script in subprocesses.)"""

from __future__ import annotations

from pathlib import Path

from click.testing import Result
from typer.testing import CliRunner

from bot import cli

_registered = False


def parley(config: Path, *args: str, ok: bool = True) -> Result:
    global _registered
    if not _registered:  # what main() does before running the app
        cli._register_groups()
        _registered = True
    result = CliRunner().invoke(cli.app, [*args, "--config", str(config)])
    assert (result.exit_code == 0) == ok, (result.exit_code, result.output, result.exception)
    return result
