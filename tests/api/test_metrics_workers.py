"""/metrics of `prefixgate serve --workers 2`: prometheus_client's multiprocess mode, through real processes.

Requests go out over fresh connections from several threads, so both workers answer some; whichever
worker answers a scrape reports the sum over both, exactly.
"""

from __future__ import annotations

import os
import secrets
import signal
import stat
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from prefixgate.metrics import MULTIPROC_ENV, UNMATCHED
from tests.api.metrics_helpers import ERRORS, LATENCY_COUNT, PREFIX, REQUESTS, Scrape, code, increase, route, scrape
from tests.procserver import EXE, ProcServer
from tests.support import fresh_database_url, migrated_database

PREFIXES = f"{PREFIX}/accounts/{{account_id}}/addressing/prefixes"
WORKERS = "prefixgate_worker_processes"


@pytest.fixture(scope="module")
def served(engine_name: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProcServer]:
    workdir = tmp_path_factory.mktemp("workers")
    with fresh_database_url(engine_name, str(workdir)) as url:
        migrated_database(url).dispose()
        server = ProcServer(url, workdir, workers=2).start()
        try:
            yield server
        finally:
            server.stop()


def worker_pids(server: ProcServer) -> set[int]:
    """The uvicorn workers: children of the `serve` process started by multiprocessing's spawn."""
    assert server.proc is not None
    pids = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rpartition(")")[2].split()[1])
            cmdline = (entry / "cmdline").read_bytes()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if ppid == server.proc.pid and b"spawn_main" in cmdline:
            pids.add(int(entry.name))
    return pids


def metrics_dir(pid: int) -> Path:
    env = dict(item.split(b"=", 1) for item in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0") if b"=" in item)
    return Path(env[MULTIPROC_ENV.encode()].decode())


def until_two_workers(server: ProcServer, timeout: float = 60) -> Scrape:
    deadline = time.monotonic() + timeout
    while True:
        got = scrape(server.base)
        if got.value(WORKERS) == 2 and len(worker_pids(server)) == 2:
            return got
        assert time.monotonic() < deadline, f"workers: {got.value(WORKERS)}, pids {worker_pids(server)}"
        time.sleep(0.2)


def send(url: str) -> int:
    return httpx.get(url, timeout=30).status_code  # a fresh connection per request


def test_counts_are_exact_summed_over_two_workers(served: ProcServer) -> None:
    assert MULTIPROC_ENV not in os.environ  # set for the workers only, never here
    before = until_two_workers(served)
    account = secrets.token_hex(16)
    urls = (
        [f"{served.base}/healthz"] * 30
        + [f"{served.api}/accounts/{account}/addressing/prefixes"] * 10  # no credential: 401
        + [f"{served.base}/nothing/{secrets.token_hex(8)}" for _ in range(10)]
    )
    with ThreadPoolExecutor(max_workers=4) as pool:
        statuses = list(pool.map(send, urls))
    assert statuses == [200] * 30 + [401] * 10 + [404] * 10
    expected = {
        route("GET", "/healthz", 200): 30,
        route("GET", PREFIXES, 401): 10,
        route("GET", UNMATCHED, 404): 10,
    }
    for scrapes in range(1, 7):  # several scrapes over fresh connections: whichever worker answers, the sums agree
        after = scrape(served.base)
        for name in (REQUESTS, LATENCY_COUNT):
            grown = increase(before, after, name)
            assert grown.pop(route("GET", "/metrics", 200)) == scrapes  # the scrapes since `before`
            assert grown == expected
        assert increase(before, after, ERRORS) == {code(10000): 10, code(7000): 10}
        assert after.value(WORKERS) == 2
        assert account not in after.text
    assert after.value("prefixgate_db_pool_in_use") == 0
    assert after.value("prefixgate_db_pool_waiting") == 0


def test_the_metrics_directory_is_private_and_a_dead_worker_is_forgotten(served: ProcServer) -> None:
    """Runs after the counting test: it ends by stopping the server."""
    before = until_two_workers(served)
    pids = worker_pids(served)
    (directory,) = {metrics_dir(pid) for pid in pids}  # one directory, shared by both workers
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert {f"counter_{pid}.db" for pid in pids} <= {p.name for p in directory.iterdir()}

    victim = min(pids)
    os.kill(victim, signal.SIGKILL)  # uvicorn starts a replacement
    after = until_two_workers(served)
    assert victim not in worker_pids(served)
    # The dead worker's counts stay (totals never go backwards); its live gauges are gone.
    assert not (directory / f"gauge_livesum_{victim}.db").exists()
    assert (directory / f"counter_{victim}.db").exists()
    grown = increase(before, after, REQUESTS)
    assert all(d > 0 for d in grown.values()), grown  # nothing went backwards
    assert set(grown) <= {route("GET", "/metrics", 200)}  # only scrapes since `before`

    served.stop()
    assert not directory.exists()  # removed when serving ends


def test_serve_refuses_a_bad_allow_list(tmp_path: Path) -> None:
    env = {**os.environ, "PREFIXGATE_METRICS_ALLOW": "192.0.2.0/24,10.0.0.1/8"}
    url = f"sqlite:///{tmp_path / 'x.db'}"
    out = subprocess.run(
        [EXE, "serve", "--port", "1", "--database-url", url],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 2, out
    assert "PREFIXGATE_METRICS_ALLOW" in out.stderr and "'10.0.0.1/8'" in out.stderr
    assert "Traceback" not in out.stderr
