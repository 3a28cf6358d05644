"""What every ``parley`` command shares: consoles, exits with a clear error, running a
coroutine, loading the config. A module of its own so the command groups
(``bot/cli_*.py``) and ``bot/cli.py``, which registers them, both import it and never
each other."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from bot.config import Config, load_config
from bot.errors import FlowError, ImportRowError, ParleyError

T = TypeVar("T")


class _Console(Console):
    def on_broken_pipe(self) -> None:
        """rich's own handling raises SystemExit, which waits for database threads."""
        _reader_gone()


out = _Console(highlight=False, soft_wrap=True)
err = _Console(stderr=True, highlight=False, soft_wrap=True)

ConfigOpt = Annotated[Path | None, typer.Option("--config", help="config.toml to use "
                      "(default ./config.toml, else built-in defaults)")]
ChannelOpt = Annotated[str, typer.Option("--channel", help="telegram or sms")]


def fail(message: str, code: int = 1) -> None:
    err.print(f"[red]error:[/red] {escape(message)}", markup=True)
    raise typer.Exit(code)


def _reader_gone() -> None:
    """``parley demo | head``: the reader closed the pipe. Stop at once and quietly, as
    Unix tools do (exit 141 = 128 + SIGPIPE). ``os._exit`` because the interrupted
    command may still hold a database connection whose worker thread would otherwise
    keep the process alive."""
    with contextlib.suppress(OSError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    os._exit(141)


def _run_loop(coro: Coroutine[Any, Any, T], fast_loop: bool) -> T:
    """``asyncio.run``; for a long-running server, on uvloop where it is installed
    (uvicorn[standard] brings it on Linux and macOS): the same asyncio API with its
    loop, sockets and thread wake-ups in C, about a tenth less CPU per Telegram turn.
    uvicorn's own ``loop="auto"`` does not apply here, because the server is started
    inside a loop Parley creates."""
    if fast_loop:
        try:
            import uvloop
        except ImportError:  # Windows: no uvloop, the standard loop serves as well
            pass
        else:
            return uvloop.run(coro)
    return asyncio.run(coro)


def run(coro: Coroutine[Any, Any, T], *, fast_loop: bool = False) -> T:
    try:
        return _run_loop(coro, fast_loop)
    except BrokenPipeError:
        _reader_gone()
        raise  # unreachable: _reader_gone exits
    except (FlowError, ImportRowError) as exc:
        for problem in exc.problems:
            sys.stderr.write(f"{problem}\n")
        fail(f"{len(exc.problems)} problem(s); nothing was changed")
        raise  # unreachable: fail raises
    except ParleyError as exc:
        fail(str(exc))
        raise  # unreachable: fail raises


def config_or_exit(path: Path | None) -> Config:
    try:
        return load_config(path)
    except ParleyError as exc:
        fail(str(exc))
        raise


def check_channel(channel: str) -> str:
    if channel not in ("telegram", "sms"):
        fail(f"--channel must be telegram or sms, not '{channel}'")
    return channel


def sim_address(channel: str, n: int = 1) -> str:
    return f"telegram:{1000 + n}" if channel == "telegram" else f"tel:+44770090{n:04d}"


