"""The databases the scale benchmark runs on: a throwaway PostgreSQL server, or SQLite
files (to try the harness where PostgreSQL is not installed).

The PostgreSQL server is Debian's ``postgresql`` binaries (``initdb``/``pg_ctl``, run as
the ``postgres`` user when we are root, since initdb refuses root) in a temporary folder,
on a free port of 127.0.0.1, with PostgreSQL's *default durability* (``fsync`` and
``synchronous_commit`` on, full page writes): unlike the test suite's cluster, which
turns them off for speed, a benchmark must pay what production pays. Each measurement
gets a database of its own, migrated by the first Parley process that opens it.

``cpu_seconds()`` is the CPU the database server has used so far (the postmaster, its
live backends and the backends that have exited), from ``/proc``: with PostgreSQL a
turn's database work happens outside the ``parley serve`` processes, so it is reported
beside theirs.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

from bench.common import cpu_seconds

USER = "parley"
PASSWORD = "bench-pw-only-on-127.0.0.1"


class DatabaseUnavailable(RuntimeError):
    """PostgreSQL cannot be started here (no binaries, or initdb/pg_ctl failed)."""


def _clock_ticks(fields: list[str], first: int, last: int) -> float:
    return sum(int(f) for f in fields[first:last + 1]) / os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str] | None:
    """``/proc/<pid>/stat`` after the command name: index 1 is the parent pid, 11-14
    utime, stime, cutime, cstime."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def server_cpu_seconds(root_pid: int) -> float:
    """CPU used so far by ``root_pid`` and its children (live ones read directly, exited
    ones through the parent's ``cutime``/``cstime``)."""
    own = _stat(root_pid)
    if own is None:
        return 0.0
    total = _clock_ticks(own, 11, 14)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat(int(entry.name))
            if fields is not None and int(fields[1]) == root_pid:
                total += cpu_seconds(int(entry.name))
    return total


def binaries() -> Path:
    """The newest ``/usr/lib/postgresql/<version>/bin`` (Debian), else ``initdb`` on the
    PATH."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parent.parent.name)
                   if Path(p).parent.parent.name.isdigit() else 0)
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).resolve().parent
    raise DatabaseUnavailable("no PostgreSQL binaries (apt install postgresql)")


class PostgresServer:
    """A throwaway PostgreSQL server; ``fresh_url()`` names a new empty database on it."""

    kind = "postgresql"

    def __init__(self) -> None:
        self.bin_dir = binaries()
        self.root = Path(tempfile.mkdtemp(prefix="parley-bench-pg-"))
        self.data = self.root / "data"
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        self._names = itertools.count(1)
        self._as_user: list[str] = []
        self.pid = 0

    def _run(self, *args: str) -> str:
        done = subprocess.run([*self._as_user, *args], capture_output=True, text=True,
                              timeout=120, check=False)
        if done.returncode != 0:
            raise DatabaseUnavailable(f"{Path(args[0]).name} failed: {done.stderr.strip()}")
        return done.stdout

    def start(self) -> PostgresServer:
        if os.geteuid() == 0:
            entry = pwd.getpwnam("postgres")
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
            self._as_user = ["runuser", "-u", "postgres", "--"]
        self._run(str(self.bin_dir / "initdb"), "-D", str(self.data), "-U", "postgres",
                  "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8",
                  "--locale=C.UTF-8")
        options = (f"-c listen_addresses=127.0.0.1 -c port={self.port} "
                   f"-c unix_socket_directories={self.root} -c max_connections=200")
        self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-o", options,
                  "-l", str(self.root / "log"), "-w", "-t", "60", "start")
        self.pid = int((self.data / "postmaster.pid").read_text().split()[0])
        self.psql(f"CREATE ROLE {USER} LOGIN PASSWORD '{PASSWORD}'")
        return self

    def psql(self, sql: str) -> str:
        return self._run(str(self.bin_dir / "psql"), "-h", str(self.root), "-p",
                         str(self.port), "-U", "postgres", "-d", "postgres", "-v",
                         "ON_ERROR_STOP=1", "-Atc", sql)

    def fresh_url(self) -> str:
        name = f"bench{next(self._names)}"
        self.psql(f"CREATE DATABASE {name} OWNER {USER}")
        return f"postgresql://{USER}:{PASSWORD}@127.0.0.1:{self.port}/{name}"

    def cpu_seconds(self) -> float:
        return server_cpu_seconds(self.pid)

    def transactions(self, url: str) -> int:
        """Transactions committed in ``url``'s database so far (``pg_stat_database``,
        flushed by PostgreSQL about once a second)."""
        name = url.rsplit("/", 1)[1]
        return int(self.psql("SELECT xact_commit FROM pg_stat_database "
                             f"WHERE datname = '{name}'").strip() or 0)

    def stop(self) -> None:
        try:
            if (self.data / "postmaster.pid").exists():
                self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", "fast",
                          "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


class SqliteFiles:
    """SQLite files in a temporary folder (the harness without PostgreSQL: several
    processes on one SQLite file work, but do not share the send rate)."""

    kind = "sqlite"

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="parley-bench-sqlite-"))
        self._names = itertools.count(1)

    def start(self) -> SqliteFiles:
        return self

    def fresh_url(self) -> str:
        return f"sqlite:///{self.root / f'bench{next(self._names)}.db'}"

    def cpu_seconds(self) -> float:
        return 0.0  # in-process: counted in the serve processes' own CPU

    def transactions(self, url: str) -> int:
        return 0  # not counted for SQLite

    def stop(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


Database = PostgresServer | SqliteFiles


def start_database(kind: str) -> Database:
    """``postgresql`` (a throwaway server) or ``sqlite`` (files)."""
    database: Database = PostgresServer() if kind == "postgresql" else SqliteFiles()
    try:
        return database.start()
    except BaseException:
        database.stop()
        raise
