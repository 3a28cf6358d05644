"""``parley coordinators add``: a real subprocess makes a dashboard login in the store."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.store.sqlite import SqliteStore
from bot.web.dashboard.auth import verify_password
from tests.cli_inprocess import Ran, run_cli


def parley(*args: str, cwd: Path, stdin: str = "") -> Ran:
    return run_cli(*args, cwd=cwd, stdin=stdin)


@pytest.mark.timeout(90)
def test_coordinators_add_makes_an_argon2_login_and_audits_it(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[store]\nurl = "sqlite:///{tmp_path / "p.db"}"\n')
    made = parley("coordinators", "add", "Ana@Example.org", "--password-stdin",
                  "--config", str(config), cwd=tmp_path, stdin="a good long password\n")
    assert made.returncode == 0, made.stderr
    assert "dashboard login created for ana@example.org" in made.stdout
    short = parley("coordinators", "add", "ana@example.org", "--password-stdin",
                   "--config", str(config), cwd=tmp_path, stdin="short\n")
    assert short.returncode == 1 and "at least 10 characters" in short.stderr
    bad = parley("coordinators", "add", "not-an-email", "--password-stdin",
                 "--config", str(config), cwd=tmp_path, stdin="a good long password\n")
    assert bad.returncode == 1 and "does not look like an email" in bad.stderr
    again = parley("coordinators", "add", "ana@example.org", "--password-stdin",
                   "--config", str(config), cwd=tmp_path, stdin="another long password\n")
    assert again.returncode == 0 and "password changed" in again.stdout

    async def check() -> None:
        store = SqliteStore(tmp_path / "p.db")
        await store.open()
        found = await store.get_coordinator("ana@example.org")
        assert found is not None and found.password_hash.startswith("$argon2id$")
        assert verify_password(found.password_hash, "another long password")
        assert not verify_password(found.password_hash, "a good long password")
        actions = [(e.actor, e.action) for e in await store.audit_log()]
        assert ("cli", "coordinator.add") in actions
        assert ("cli", "coordinator.password") in actions
        await store.close()

    asyncio.run(check())
    listed = parley("coordinators", "list", "--config", str(config), cwd=tmp_path)
    assert listed.returncode == 0 and "ana@example.org" in listed.stdout
