"""A whole edge on loopback for bench_edge_proxy.py: a control plane (`prefixgate serve` on a fresh SQLite
or PostgreSQL database), the docs' Spectrum scene written through the services, and a real
`prefixgate edge` process (with its supervised HAProxy) in front of an echo origin.

The scene: A owns the approved 1.2.3.0/24, bound to Spectrum, and delegates 1.2.3.4/32 to B; B's zone
has apps on 1.2.3.4 tcp/22 (origin: the echo origin's closing port) and tcp/23 (its echo port).
`app_on(port)` / `delete_app` add and remove further apps on 1.2.3.4, each a committed change the edge
must pick up.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import text

from _common import PREFIXGATE, Server, Tenants, free_port, fresh_database
from _edge_data import load
from prefixgate.adapters.db.uow import SqlDatabase
from prefixgate.bootstrap import open_database
from prefixgate.domain.bindings import SPECTRUM
from prefixgate.edge.haproxy_runtime import RuntimeApi
from prefixgate.service import bindings, delegations, edge_feed, identity, prefixes, spectrum, zones
from prefixgate.service.context import Actor
from prefixgate.settings import Settings

CLI = Actor.cli()
EDGE_IP = "1.2.3.4"
_QUIET_DNS = {"PREFIXGATE_DNS_SERVER": "127.0.0.1:9", "PREFIXGATE_DNS_TIMEOUT_S": "0.2"}  # nothing answers there


class EdgeProcess:
    """`prefixgate edge` as a subprocess, and what its metrics say.

    It runs in a process group of its own (so stopping it reaches its HAProxy and nothing else), in
    this script's session; its HAProxy, though, runs in a session of its own (haproxy_process.py spawns
    it with setsid, so a signal to the agent's group does not reach it). Linux schedules each session as
    one group (autogroup), and on this shared machine the same HAProxy, configuration and maps got about
    0.6x the connections per second in a session of its own that they got in the benchmark's session:
    so the static HAProxy (_tcpload.StaticHaproxy) is started in a session of its own too, and the two
    HAProxies are scheduled alike."""

    def __init__(self, control_plane: str, token: str, state_dir: Path, log: Path) -> None:
        self.listen_port, self.metrics_port = free_port(), free_port()
        self.state_dir, self.log = state_dir, log
        self.args = [
            PREFIXGATE, "edge", "--control-plane", control_plane, "--token", token,
            "--listen", f"127.0.0.1:{self.listen_port}", "--state-dir", str(state_dir),
            "--metrics", f"127.0.0.1:{self.metrics_port}", "--dns-server", "127.0.0.1:9", "--node", "bench-edge",
        ]  # fmt: skip
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> tuple[str, int]:
        return ("127.0.0.1", self.listen_port)

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def haproxy_pid(self) -> int:
        return int(RuntimeApi(self.state_dir / "haproxy.sock").show_info()["Pid"])

    def metric(self, name: str) -> float | None:
        if self.proc is not None and self.proc.poll() is not None:
            raise RuntimeError(f"the edge exited {self.proc.returncode}: {self.log.read_text()[-3000:]}")
        try:
            body = httpx.get(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=2).text
        except httpx.HTTPError:
            return None
        m = re.search(rf"^{re.escape(name)} (\S+)$", body, re.MULTILINE)
        return float(m.group(1)) if m else None

    def wait_serving(self, revision: int, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if (self.metric("prefixgate_edge_revision") or -1) >= revision:
                return
            time.sleep(0.05)
        raise RuntimeError(f"the edge does not serve revision {revision}: {self.log.read_text()[-3000:]}")

    def __enter__(self) -> EdgeProcess:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(self.args, stdout=log, stderr=subprocess.STDOUT, process_group=0)
        deadline = time.monotonic() + 60
        while self.metric("prefixgate_edge_haproxy_up") != 1:
            if time.monotonic() > deadline:
                self.__exit__()
                raise RuntimeError(f"the edge did not start: {self.log.read_text()[-3000:]}")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)  # the edge's own process group: it and its HAProxy
            self.proc.wait()


@dataclass
class EdgeStack:
    db: SqlDatabase
    url: str
    server: Server
    edge: EdgeProcess
    zone_b: str
    app_id: str
    origin_port: int

    def head(self) -> int:
        """The control plane's newest revision."""
        with self.db.engine.connect() as conn:
            return int(conn.execute(text("SELECT revision FROM edge_head")).scalar_one())

    def app_on(self, port: int) -> str:
        """Create B's app on 1.2.3.4 tcp/`port` (origin: the echo origin); returns its id once committed."""
        return _app(self.db, self.zone_b, port, self.origin_port)

    def delete_app(self, app_id: str) -> None:
        spectrum.delete_app(self.db, CLI, self.zone_b, app_id)


def _app(db: SqlDatabase, zone_id: str, port: int, origin_port: int) -> str:
    spec = spectrum.AppInput(
        protocol=f"tcp/{port}",
        dns_type="ADDRESS",
        dns_name=f"p{port}.b.example.com",
        edge_ips_type="static",
        edge_ips=[EDGE_IP],
        origin_direct=[f"tcp://127.0.0.1:{origin_port}"],
    )
    return spectrum.create_app(db, CLI, zone_id, spec).id


@contextmanager
def edge_stack(
    tmp: Path, origin_port: int, closing_port: int, admin_url: str | None = None, *, bulk: int = 0
) -> Iterator[EdgeStack]:
    """The scene on a fresh database (SQLite, or a throwaway database on `admin_url`'s PostgreSQL), served
    by a control plane and one edge that serves the control plane's head revision. `bulk`: that many more
    delegations (and a tenth as many apps) bulk-loaded by bench/_edge_data.py, in other prefixes."""
    tmp.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        url = stack.enter_context(fresh_database(str(tmp), admin_url))
        db = open_database(Settings(database_url=url))
        stack.callback(db.dispose)
        a = identity.create_account(db, CLI, "Account A").id
        b = identity.create_account(db, CLI, "Account B").id
        p = prefixes.create_prefix(db, CLI, a, "1.2.3.0/24", asn=64500)
        prefixes.approve_prefix(db, CLI, p.id)
        bindings.create_binding(db, CLI, a, p.id, "1.2.3.0/24", SPECTRUM.id)
        delegations.create_delegation(db, CLI, a, p.id, f"{EDGE_IP}/32", b)
        zone = zones.create_zone(db, CLI, b, "b.example.com")
        app_id = _app(db, zone.id, 22, closing_port)
        _app(db, zone.id, 23, origin_port)
        _, token = edge_feed.create_edge_token(db, CLI, "bench")
        if bulk:
            load(Tenants(db, a, b, token=""), bulk)
        server = stack.enter_context(Server(url, str(tmp), env=_QUIET_DNS))
        state_dir = tmp / f"edge-{os.getpid()}-{server.port}"
        edge = stack.enter_context(EdgeProcess(server.base, token, state_dir, tmp / f"edge-{server.port}.log"))
        s = EdgeStack(db, url, server, edge, zone.id, app_id, origin_port)
        edge.wait_serving(s.head())
        yield s
