"""Shared benchmark helpers: a fresh database, tenants made through the service layer, fast bulk
loading, a real `prefixgate serve` subprocess, load generators and Markdown output.

Meant for reuse by every script in bench/ (run them with the project's venv Python).
"""

from __future__ import annotations

import ipaddress
import itertools
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self

import httpx
from sqlalchemy import Engine, create_engine, event, insert, text
from sqlalchemy.engine import make_url

from prefixgate.adapters.db.tables import delegations
from prefixgate.adapters.db.uow import SqlDatabase
from prefixgate.bootstrap import open_database
from prefixgate.domain.net import range_key
from prefixgate.service import identity, prefixes, tokens
from prefixgate.service.context import Actor, new_id, utcnow
from prefixgate.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
PREFIXGATE = str(Path(sys.executable).with_name("prefixgate"))  # the venv's console script
RequestFn = Callable[[httpx.Client, int], httpx.Response]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def engine_name(url: str) -> str:
    return make_url(url).get_backend_name()


@contextmanager
def fresh_database(tmp_dir: str, admin_url: str | None = None) -> Iterator[str]:
    """Yield the URL of a new, empty, migrated database.

    SQLite (admin_url None or sqlite): a file in `tmp_dir`. PostgreSQL: a throwaway database created
    on admin_url's server, migrated with `prefixgate migrate`, and dropped (WITH FORCE) afterwards.
    """
    if admin_url is None or engine_name(admin_url) == "sqlite":
        url = f"sqlite:///{tmp_dir}/bench-{secrets.token_hex(4)}.db"
        subprocess.run([PREFIXGATE, "migrate", "--database-url", url], check=True, capture_output=True)
        yield url
        return
    base = make_url(admin_url)
    name = f"pgbench_{os.getpid()}_{secrets.token_hex(4)}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = base.set(database=name).render_as_string(hide_password=False)
        subprocess.run([PREFIXGATE, "migrate", "--database-url", url], check=True, capture_output=True)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@dataclass
class Tenants:
    """Account A (owner) and account B (delegatee), and an API token of A's Administrator."""

    db: SqlDatabase
    owner: str
    delegatee: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def prefix(self, cidr: str, *, asn: int = 64500) -> str:
        """Onboard `cidr` in account A and approve it; returns the prefix id."""
        p = prefixes.create_prefix(self.db, Actor.cli(), self.owner, cidr, asn=asn)
        prefixes.approve_prefix(self.db, Actor.cli(), p.id)
        return p.id


def bootstrap(url: str) -> Tenants:
    """Make the tenants through the service layer, as `prefixgate admin` would."""
    db = open_database(Settings(database_url=url))
    cli = Actor.cli()
    alice, _ = identity.create_user(db, cli, "alice@bench.example", password=None, operator=False)
    bob, _ = identity.create_user(db, cli, "bob@bench.example", password=None, operator=False)
    a = identity.create_account(db, cli, "Account A", owner_email=alice.email).id
    b = identity.create_account(db, cli, "Account B", owner_email=bob.email).id
    _, value = tokens.create_token(db, cli, "bench", user=alice)
    return Tenants(db=db, owner=a, delegatee=b, token=value)


def nth_host(network: str, n: int) -> str:
    """The n-th (0-based, skipping the network address) single-address CIDR inside `network`."""
    net = ipaddress.ip_network(network)
    return f"{net.network_address + n + 1}/{net.max_prefixlen}"


def bulk_delegations(
    t: Tenants, prefix_id: str, network: str, count: int, *, first: int = 0, batch: int = 10_000
) -> None:
    """Insert `count` host delegations of `network` to B straight into the table (no audit rows)."""
    for lo in range(first, first + count, batch):
        rows = []
        for n in range(lo, min(lo + batch, first + count)):
            cidr = ipaddress.ip_network(nth_host(network, n))
            key, now = range_key(cidr), utcnow()
            rows.append(
                {
                    "id": new_id(),
                    "prefix_id": prefix_id,
                    "owner_account_id": t.owner,
                    "delegated_account_id": t.delegatee,
                    "family": key.family,
                    "start_key": key.start,
                    "end_key": key.end,
                    "cidr": str(cidr),
                    "created_at": now,
                    "modified_at": now,
                }
            )
        with t.db.engine.begin() as conn:
            conn.execute(insert(delegations), rows)
    if engine_name(str(t.db.engine.url)) == "postgresql":
        with t.db.engine.connect() as conn:
            conn.execute(text("ANALYZE delegations"))
            conn.commit()


class ServerProcess:
    """A command serving HTTP on 127.0.0.1:`port`, run as a subprocess in its own session (so stopping
    it reaches its worker processes and nothing else), healthy when `health_path` answers 200."""

    def __init__(
        self,
        cmd: list[str],
        port: int,
        log: Path,
        *,
        health_path: str,
        workers: int = 1,
        env: dict[str, str] | None = None,
    ) -> None:
        self.cmd, self.port, self.log, self.workers = cmd, port, log, workers
        self.env = dict(env or {})  # on top of this process's environment
        self.base = f"http://127.0.0.1:{port}"
        self.health_path = health_path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> Self:
        env = {**os.environ, "PREFIXGATE_LOG_LEVEL": os.environ.get("PREFIXGATE_LOG_LEVEL", "INFO"), **self.env}
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                self.cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited {self.proc.returncode}: {self.log.read_text()[-1500:]}")
            try:
                if httpx.get(f"{self.base}{self.health_path}", timeout=2).status_code == 200:
                    time.sleep(1.0 if self.workers > 1 else 0.0)  # let every worker finish booting
                    return self
            except httpx.HTTPError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"server not healthy after {timeout}s: {self.log.read_text()[-1500:]}")

    def cpu_seconds(self) -> float:
        """User+system CPU of the server and its worker processes (its process group), from /proc."""
        assert self.proc is not None
        total, tick = 0, os.sysconf("SC_CLK_TCK")
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rpartition(")")[2].split()
            except OSError:
                continue
            if int(fields[2]) == self.proc.pid:  # fields[2] is the process group id
                total += int(fields[11]) + int(fields[12])
        return total / tick

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)  # the group this server leads, and only it
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def __enter__(self) -> Self:
        try:
            return self.start()
        except BaseException:  # Ctrl-C while booting, too: `with` calls __exit__ only after __enter__ returns
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()


class Server(ServerProcess):
    """`prefixgate serve` on 127.0.0.1 and a free port; `env` adds settings (PREFIXGATE_...)."""

    def __init__(self, url: str, log_dir: str, *, workers: int = 1, env: dict[str, str] | None = None) -> None:
        port = free_port()
        cmd = [PREFIXGATE, "serve", "--host", "127.0.0.1", "--port", str(port), "--database-url", url]
        cmd += ["--workers", str(workers)]
        log = Path(log_dir) / f"server-{port}.log"
        super().__init__(cmd, port, log, health_path="/healthz", workers=workers, env=env)
        self.api = f"{self.base}/client/v4"


@dataclass
class Stats:
    seconds: float
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    server_cpu: float = 0.0  # cores the server used on average
    client_cpu: float = 0.0  # cores this (load-generating) process used on average

    @property
    def count(self) -> int:
        return len(self.latencies)

    @property
    def rps(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0

    def add(self, other: Stats) -> None:
        """Fold another measurement of the same thing into this one."""
        total = self.seconds + other.seconds
        if total:
            self.server_cpu = (self.server_cpu * self.seconds + other.server_cpu * other.seconds) / total
            self.client_cpu = (self.client_cpu * self.seconds + other.client_cpu * other.seconds) / total
        self.seconds = total
        self.latencies += other.latencies
        self.errors += other.errors

    def pct(self, q: float) -> float:
        """Latency percentile in milliseconds (nearest rank)."""
        xs = sorted(self.latencies)
        return 1000 * xs[min(len(xs) - 1, max(0, round(q / 100 * len(xs)) - 1))] if xs else float("nan")


_seq = itertools.count()


def run_concurrent(
    server: Server, headers: dict[str, str], fn: RequestFn, *, clients: int = 8, seconds: float = 10.0
) -> Stats:
    """`clients` threads, each with its own keep-alive httpx.Client, calling fn(client, seq) until time is up.

    seq is unique across all threads and calls (for distinct CIDRs). Non-2xx answers count as errors.
    """
    ready, go = threading.Barrier(clients + 1), threading.Event()
    results: list[tuple[list[float], int]] = []
    lock = threading.Lock()
    deadline = 0.0

    def worker() -> None:
        lat: list[float] = []
        errors = 0
        with httpx.Client(base_url=server.api, headers=headers, timeout=60) as client:
            fn(client, next(_seq))  # open the connection before the clock starts
            ready.wait()
            go.wait()
            while (t0 := time.perf_counter()) < deadline:
                r = fn(client, next(_seq))
                lat.append(time.perf_counter() - t0)
                errors += not r.is_success
        with lock:
            results.append((lat, errors))

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(clients)]
    for th in threads:
        th.start()
    ready.wait()  # every client is connected
    cpu0, own0 = server.cpu_seconds(), time.process_time()
    deadline = (start := time.perf_counter()) + seconds
    go.set()
    for th in threads:
        th.join()
    elapsed = time.perf_counter() - start
    stats = Stats(
        seconds=elapsed,
        server_cpu=(server.cpu_seconds() - cpu0) / elapsed,
        client_cpu=(time.process_time() - own0) / elapsed,
    )
    for lat, errors in results:
        stats.latencies += lat
        stats.errors += errors
    return stats


def run_sequential(server: Server, headers: dict[str, str], fn: RequestFn, n: int, *, warmup: int = 20) -> Stats:
    """n calls one after another on one keep-alive client, after `warmup` unmeasured ones."""
    return run_alternating(server, headers, [fn], n, warmup=warmup)[0]


def run_alternating(
    server: Server, headers: dict[str, str], fns: list[RequestFn], n: int, *, warmup: int = 20
) -> list[Stats]:
    """n calls of each fn, one request at a time on one keep-alive client, the fns taking turns (so a noisy
    moment hits them alike), after `warmup` unmeasured rounds. Returns one Stats per fn."""
    out = [Stats(seconds=0.0) for _ in fns]
    with httpx.Client(base_url=server.api, headers=headers, timeout=60) as client:
        for _ in range(warmup):
            for fn in fns:
                fn(client, next(_seq))
        for _ in range(n):
            for fn, stats in zip(fns, out, strict=True):
                t0 = time.perf_counter()
                r = fn(client, next(_seq))
                stats.latencies.append(dt := time.perf_counter() - t0)
                stats.seconds += dt
                stats.errors += not r.is_success
    return out


def machine() -> dict[str, str]:
    """What the figures were measured on."""
    cpu = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists() and (m := re.search(r"model name\s*:\s*(.+)", cpuinfo.read_text())):
        cpu = m.group(1).strip()
    return {
        "nproc": str(os.cpu_count()),
        "cpu": cpu,
        "python": platform.python_version(),
        "os": f"{platform.system()} {platform.release()}",
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def code_version() -> str:
    """The commit the server code came from, with "+dirty" when src/ has uncommitted changes."""
    import prefixgate

    src = Path(prefixgate.__file__).resolve().parent
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=src, capture_output=True, text=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "."], cwd=src, capture_output=True, text=True)
    except OSError:
        return "unknown"
    if head.returncode != 0:
        return f"unknown (code at {src})"
    return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def database_version(url: str) -> str:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            if engine_name(url) == "sqlite":
                return f"SQLite {conn.execute(text('select sqlite_version()')).scalar_one()}"
            return f"PostgreSQL {conn.execute(text('show server_version')).scalar_one()}"
    finally:
        engine.dispose()


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return "\n".join([*lines, *("| " + " | ".join(r) + " |" for r in rows)])


def replace_section(path: Path, key: str, body: str, *, title: str = "# Benchmarks\n") -> None:
    """Put `body` between `<!-- key:start -->` and `<!-- key:end -->` in `path`, appending it if absent."""
    start, end = f"<!-- {key}:start -->", f"<!-- {key}:end -->"
    block = f"{start}\n{body.rstrip()}\n{end}"
    doc = path.read_text() if path.exists() else title
    if start in doc and end in doc:
        doc = doc[: doc.index(start)] + block + doc[doc.index(end) + len(end) :]
    else:
        doc = doc.rstrip() + "\n\n" + block + "\n"
    path.write_text(doc if doc.endswith("\n") else doc + "\n")


def write_section(out: Path, key: str, body: str) -> None:
    """`replace_section` in `out` (relative to the current directory), saying so on stderr."""
    path = out if out.is_absolute() else Path.cwd() / out
    replace_section(path, key, body)
    print(f"wrote section {key!r} to {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}", file=sys.stderr)


def explain_selects(engine: Engine, run: Callable[[], object]) -> list[str]:
    """Call `run` and return the query plan of every distinct SELECT it sent to `engine`, each as the
    one-line statement followed by its indented plan (PostgreSQL: EXPLAIN ANALYZE with the same
    parameters; SQLite: EXPLAIN QUERY PLAN). Advisory-lock calls are skipped."""
    seen: dict[str, Any] = {}

    def capture(_c: Any, _cur: Any, statement: str, params: Any, _ctx: Any, _many: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "pg_advisory" not in statement:
            seen.setdefault(statement, params)

    event.listen(engine, "before_cursor_execute", capture)
    try:
        run()
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    postgres = engine.dialect.name == "postgresql"
    out = []
    with engine.connect() as conn:
        for statement, params in seen.items():
            prefix = "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " if postgres else "EXPLAIN QUERY PLAN "
            plan = conn.exec_driver_sql(prefix + statement, params).all()
            lines = [str(r[0]) if postgres else str(r[-1]) for r in plan]
            short = re.sub(r"^SELECT (.{60,}?) FROM", "SELECT … FROM", " ".join(statement.split()))
            out.append(short + "\n    " + "\n    ".join(lines))
        conn.rollback()
    return out


def prefix_row(
    prefix_id: str, net: ipaddress.IPv4Network | ipaddress.IPv6Network, owner: str, now: datetime
) -> dict[str, Any]:
    """A `prefixes` row for bulk loading: approved ("V") and validated, owned by account `owner`."""
    key = range_key(net)
    return {
        "id": prefix_id,
        "account_id": owner,
        "family": key.family,
        "start_key": key.start,
        "end_key": key.end,
        "cidr": str(net),
        "asn": 64500,
        "description": "",
        "approved": "V",
        "delegate_loa_creation": False,
        "on_demand_enabled": False,
        "on_demand_locked": False,
        "irr_validation_state": "valid",
        "rpki_validation_state": "valid",
        "ownership_validation_state": "valid",
        "created_at": now,
        "modified_at": now,
    }


def debian_tool(binary: str, package: str, needed_by: str) -> str:
    """The `binary` on PATH; otherwise install the Debian `package` (as root, with apt-get), or exit saying how."""
    if found := shutil.which(binary):
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print(f"{binary} is not on PATH; installing the Debian package {package}", file=sys.stderr)
        install = ["apt-get", "install", "-y", "-q", "-o", "DPkg::Lock::Timeout=300", package]
        if subprocess.run(install, capture_output=True, check=False).returncode != 0:
            subprocess.run(["apt-get", "update", "-q"], capture_output=True, check=False)
            subprocess.run(install, capture_output=True, check=False)
        if found := shutil.which(binary):
            return found
    raise SystemExit(
        f"{needed_by} needs {binary} and could not find or install it: "
        f"install the Debian package `{package}` (apt-get install {package}, as root) or put {binary} on PATH."
    )
