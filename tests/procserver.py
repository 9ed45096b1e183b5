"""`prefixgate serve` as a real subprocess (several workers where asked), for concurrency,
crash and outage tests. The database is prepared through the service layer beforehand."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import httpx

from tests.support import free_port

EXE = str(Path(sys.executable).with_name("prefixgate"))

# For races: they assert who wins, not how long a write may wait for SQLite's lock. On a shared machine a
# disk stall can outlast the 10 s default (a process's first COMMIT fsyncs the WAL and then its
# directory, and CI once saw 36 of 50 racers answered 503). That 503 has tests of its own
# (tests/db/test_outage.py); 45 s stays below the racers' 60 s client timeout.
RACE_ENV = {"PREFIXGATE_SQLITE_BUSY_TIMEOUT_MS": "45000"}


class ProcServer:
    """One `prefixgate serve` process tree on 127.0.0.1 and a free port."""

    def __init__(
        self,
        database_url: str,
        workdir: Path,
        *,
        workers: int = 1,
        env: dict[str, str] | None = None,
        args: Sequence[str] = (),
    ) -> None:
        self.database_url = database_url
        self.args = tuple(args)  # further `prefixgate serve` options
        self.workdir = workdir
        self.workers = workers
        # Tests never ask the system's resolver: unless told otherwise, lookups go to a loopback port
        # nothing answers on.
        quiet_dns = {"PREFIXGATE_DNS_SERVER": "127.0.0.1:9", "PREFIXGATE_DNS_TIMEOUT_S": "0.2"}
        self.env = {**os.environ, **quiet_dns, **(env or {})}
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.api = f"{self.base}/client/v4"
        self.log = workdir / f"server-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> ProcServer:
        cmd = [
            EXE,
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--database-url",
            self.database_url,
            "--workers",
            str(self.workers),
            *self.args,
        ]
        with self.log.open("ab") as log:  # the child keeps its own copy of the descriptor
            self.proc = subprocess.Popen(
                cmd, stdout=log, stderr=subprocess.STDOUT, env=self.env, cwd=self.workdir, start_new_session=True
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited {self.proc.returncode}: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.base}/readyz", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server not ready after {timeout}s: {self.log.read_text()[-2000:]}")

    def kill9(self) -> None:
        """SIGKILL the whole process group: no shutdown handlers run."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill9()
