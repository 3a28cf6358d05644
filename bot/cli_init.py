"""``parley init``, and the check that stops project commands from starting a project
by accident.

Without a ``config.toml`` every command runs on built-in defaults, whose store is
``./parley.db``. For ``demo``, ``chat``, ``simulate`` and ``flows`` that is right: they
need no project. But ``participants list`` typed in the wrong folder used to create an
empty ``parley.db`` there and report nobody, which looks like data loss. Commands that
read or write project data now say there is no project here and how to make one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bot.config import Config
from bot.errors import ParleyError

EXAMPLE = Path(__file__).resolve().parent.parent / "config.example.toml"


def require_project(cfg: Config) -> None:
    """ParleyError unless there is a config file, or a database from an earlier run."""
    if cfg.source != "<built-in defaults>":
        return
    url = cfg.store.url
    if url.startswith("sqlite:///") and Path(url[len("sqlite:///"):].split("?")[0]).exists():
        return  # a project run on defaults before: keep working with it
    if not url.startswith("sqlite:///"):
        return
    raise ParleyError(f"no Parley project here: there is no config.toml in {Path.cwd()}. "
                      "Create one with `parley init` (or pass --config FILE)")


def init(
    folder: Annotated[Path, typer.Argument(help="where to write config.toml")] = Path("."),
    force: Annotated[bool, typer.Option("--force", help="overwrite an existing "
                                        "config.toml")] = False,
) -> None:
    """Start a project: write config.toml from the example, to edit before `serve`."""
    from bot.cli_common import fail, out

    target = folder / "config.toml"
    if target.exists() and not force:
        fail(f"{target} already exists (use --force to overwrite it)")
    if not EXAMPLE.is_file():
        fail(f"the example configuration is missing ({EXAMPLE}); reinstall Parley")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        target.write_text(EXAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    except OSError as exc:
        fail(f"{target}: cannot write: {exc.strerror or exc}")
    out.print(f"Wrote {target}. Edit it (project name, contact, channels), keep secrets in "
              "environment variables, then run: parley serve")
