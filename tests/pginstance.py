"""A private PostgreSQL 15 instance that a test may stop and start at will (outage tests).

It never touches the shared server on 127.0.0.1:5432: it has its own data directory, a free
loopback port and its socket in its own temporary directory. initdb refuses to run as root, so
as root every command runs as the `postgres` system user (which must own the directory).

Use the `pg_instance` fixture (import `pg_instance_fixture` into the test module to register it).
It skips when PostgreSQL testing is off (PREFIXGATE_TEST_DATABASE_URL unset) and fails loudly
when it is on but the server binaries are missing.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support import PG_ENV, free_port

__all__ = ["PG_BIN", "PgInstance", "pg_instance_fixture", "private_postgres"]

PG_BIN = Path(os.environ.get("PREFIXGATE_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))
_RUN_AS = "postgres"


class PgInstance:
    """One PostgreSQL server: `init()` once, then `start()` / `stop()` as often as needed."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.data = root / "data"
        self.logfile = root / "postgres.log"
        self.port = free_port()

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the `postgres` database, over TCP on 127.0.0.1."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str, timeout: float = 60) -> None:
        cmd = list(args)
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", _RUN_AS, "--", *cmd]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
        if done.returncode != 0:
            log = self.logfile.read_text()[-2000:] if self.logfile.exists() else ""
            raise RuntimeError(
                f"{' '.join(cmd)} exited {done.returncode}\nstdout: {done.stdout}\nstderr: {done.stderr}\nlog: {log}"
            )

    def init(self) -> PgInstance:
        self._run(str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")
        return self

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.logfile), "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    @contextmanager
    def unresponsive(self) -> Iterator[None]:
        """The server hangs instead of refusing, as behind a dead network path: the postmaster is
        stopped (SIGSTOP), so the kernel still accepts new connections but nothing ever answers,
        and the open client sessions are ended, so no pooled connection is of any use."""
        postmaster = int((self.data / "postmaster.pid").read_text().split()[0])
        os.kill(postmaster, signal.SIGSTOP)
        try:
            for pid in _client_backends(postmaster):
                os.kill(pid, signal.SIGTERM)
            yield
        finally:
            os.kill(postmaster, signal.SIGCONT)


def _client_backends(postmaster: int) -> list[int]:
    """Children of `postmaster` serving a TCP client ("postgres: user db 127.0.0.1(port) ...")."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            ppid = int((proc / "stat").read_text().rpartition(")")[2].split()[1])
            title = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile
        if ppid == postmaster and "127.0.0.1(" in title:
            found.append(int(proc.name))
    return found


def require_binaries() -> None:
    """Fail (never skip) when PostgreSQL testing is on but initdb/pg_ctl cannot be run."""
    missing = [str(PG_BIN / name) for name in ("initdb", "pg_ctl") if not os.access(PG_BIN / name, os.X_OK)]
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        missing.append("runuser (needed to run PostgreSQL as a non-root user)")
    if missing:
        pytest.fail(
            f"{PG_ENV} is set (PostgreSQL testing is on) but these are missing: {', '.join(missing)}. "
            "Install PostgreSQL 15 server binaries or point PREFIXGATE_TEST_PG_BIN at them.",
            pytrace=False,
        )


@contextmanager
def private_postgres() -> Iterator[PgInstance]:
    """A started private instance in a fresh directory under the system temp dir (not pytest's
    tmp_path: its parents are private to root, and the server runs as `postgres`)."""
    require_binaries()
    root = Path(tempfile.mkdtemp(prefix="pgtest-"))
    if os.geteuid() == 0:
        shutil.chown(root, user=_RUN_AS, group=_RUN_AS)
    pg = PgInstance(root)
    try:
        pg.init().start()
        yield pg
    finally:
        try:
            if pg.running():
                pg.stop("immediate")
        finally:
            shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(name="pg_instance")
def pg_instance_fixture() -> Iterator[PgInstance]:
    """A private, started PostgreSQL 15 instance; skipped when PostgreSQL testing is off."""
    if not os.environ.get(PG_ENV):
        pytest.skip(f"PostgreSQL testing is off: set {PG_ENV} to run tests that need a private PostgreSQL")
    with private_postgres() as pg:
        yield pg
