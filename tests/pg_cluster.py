"""A throwaway PostgreSQL cluster for the tests, from Debian's ``postgresql`` binaries.

``PgCluster.start()`` runs ``initdb`` and ``pg_ctl`` as the ``postgres`` system user
(initdb refuses root) in a temporary folder owned by it, with the unix socket in that
folder, a free TCP port on 127.0.0.1 and ``fsync=off``; a login role ``parley`` with a
password owns a template database migrated once, and ``fresh_url()`` gives each test its
own copy (``CREATE DATABASE … TEMPLATE``), or ``clean_url()`` the shared database with
every table emptied (faster: the contract suite's choice). ``stop()`` stops
the server and removes the folder.

Without the binaries the PostgreSQL tests skip, unless ``PARLEY_REQUIRE_POSTGRES=1``
(set by ``.ci/run``), when they fail loudly instead.
"""

from __future__ import annotations

import asyncio
import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from bot.store.postgres import PostgresStore

USER = "parley"
PASSWORD = "s3cret-Pw_for:tests"
TEMPLATE = "parley_template"
SHARED = "parley_test"
_EMPTY_TABLES = """DO $$ BEGIN EXECUTE (SELECT 'TRUNCATE ' || string_agg(quote_ident(tablename),
', ') || ' RESTART IDENTITY CASCADE' FROM pg_tables WHERE schemaname = 'public'
AND tablename <> 'schema_migrations'); END $$"""


def binaries() -> Path | None:
    """The newest installed ``/usr/lib/postgresql/<version>/bin`` with initdb, if any."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parent.parent.name)
                   if Path(p).parent.parent.name.isdigit() else 0)
    return Path(found[-1]).parent if found else None


def unavailable(reason: str) -> None:
    """Skip, or fail when the environment says PostgreSQL tests must run."""
    if os.environ.get("PARLEY_REQUIRE_POSTGRES") == "1":
        pytest.fail(f"PostgreSQL tests required (PARLEY_REQUIRE_POSTGRES=1): {reason}",
                    pytrace=False)
    pytest.skip(f"PostgreSQL not available: {reason}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PgCluster:
    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="parley-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self._names = itertools.count(1)
        self._as_user: list[str] = []

    def _run(self, *args: str) -> str:
        done = subprocess.run([*self._as_user, *args], capture_output=True, text=True,
                              timeout=60, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(args[:2])} failed: {done.stderr.strip()}")
        return done.stdout

    def start(self) -> None:
        if os.geteuid() == 0:
            entry = pwd.getpwnam("postgres")
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
            self._as_user = ["runuser", "-u", "postgres", "--"]
        self._run(str(self.bin_dir / "initdb"), "-D", str(self.data), "-U", "postgres",
                  "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8",
                  "--locale=C.UTF-8", "--no-sync")
        options = (f"-c listen_addresses=127.0.0.1 -c port={self.port} "
                   f"-c unix_socket_directories={self.root} -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off "
                   "-c max_connections=200 -c shared_buffers=32MB")
        self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-o", options,
                  "-l", str(self.root / "log"), "-w", "-t", "60", "start")
        self.psql(f"CREATE ROLE {USER} LOGIN CREATEDB PASSWORD '{PASSWORD}'")
        self.psql(f"CREATE DATABASE {TEMPLATE} OWNER {USER}")
        # in a thread of its own: the caller may be inside a running event loop
        with ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, self._migrate_template()).result(timeout=60)
        self.psql(f"CREATE DATABASE {SHARED} OWNER {USER} TEMPLATE {TEMPLATE}")

    async def _migrate_template(self) -> None:
        store = PostgresStore(self.url(TEMPLATE), pool_size=1)
        await store.open()
        await store.close()

    def psql(self, sql: str, database: str = "postgres") -> str:
        return self._run(str(self.bin_dir / "psql"), "-h", str(self.root), "-p",
                         str(self.port), "-U", "postgres", "-d", database, "-v",
                         "ON_ERROR_STOP=1", "-Atc", sql)

    def url(self, database: str) -> str:
        return f"postgresql://{USER}:{PASSWORD}@127.0.0.1:{self.port}/{database}"

    def clean_url(self) -> str:
        """The shared migrated database, every table emptied (ids start again at 1):
        a test's own state in about 20 ms, where a new database takes ten times that."""
        self.psql(_EMPTY_TABLES, SHARED)
        return self.url(SHARED)

    def fresh_url(self, *, migrated: bool = True) -> str:
        """A new database of its own (a copy of the migrated template, or empty)."""
        name = f"t{next(self._names)}"
        template = f" TEMPLATE {TEMPLATE} STRATEGY FILE_COPY" if migrated else ""
        self.psql(f"CREATE DATABASE {name} OWNER {USER}{template}")
        return self.url(name)

    def stop(self) -> None:
        try:
            if (self.data / "postmaster.pid").exists():
                self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m",
                          "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def start_cluster() -> PgCluster:
    bin_dir = binaries()
    if bin_dir is None:
        unavailable("no /usr/lib/postgresql/*/bin/initdb (apt install postgresql)")
        raise AssertionError("unreachable")
    cluster = PgCluster(bin_dir)
    try:
        cluster.start()
    except (RuntimeError, OSError, KeyError, subprocess.TimeoutExpired) as exc:
        cluster.stop()
        unavailable(str(exc))
    return cluster
