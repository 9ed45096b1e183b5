"""A whole edge on loopback for end-to-end tests: a real control plane (`prefixgate serve` on SQLite or
PostgreSQL), the docs' scene written through the services, and a real `prefixgate edge` process running
Debian's HAProxy, with echo, HTTP and TLS origins and a loopback DNS server for origin names.

The scene: A owns 1.2.3.0/24, bound to Spectrum, with 1.2.3.128/25 bound to CDN. A delegates
1.2.3.4/32 and 1.2.3.128/25 to B. B's app listens on 1.2.3.4 tcp/22 with the echo origin, and B's custom
hostname shop.example.net (A record 1.2.3.200) is active, served through the zone's fallback origin,
which the DNS server points at 127.0.0.1 (the HTTP and TLS origins' address).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import text

from prefixgate.adapters.db.uow import SqlDatabase
from prefixgate.adapters.dns.inspector import DnsInspector
from prefixgate.domain.bindings import CDN, SPECTRUM
from prefixgate.domain.hostnames import ACTIVE, ownership_record_name
from prefixgate.service import bindings, delegations, hostname_checks, hostnames, identity, prefixes, spectrum, zones
from prefixgate.service.context import Actor
from prefixgate.settings import Settings
from tests.dnsserver import LoopbackDns
from tests.edge.feed_proxy import FeedProxy
from tests.edge.origins import EchoOrigin, HttpOrigin, TestCA, TlsOrigin, wait_until
from tests.procserver import EXE, ProcServer
from tests.support import free_port, fresh_database_url, migrated_database

CLI = Actor.cli()
HOSTNAME = "shop.example.net"


class EdgeProcess:
    """`prefixgate edge` as a subprocess, and what its metrics say."""

    def __init__(self, control_plane: str, token: str, state_dir: Path, *, dns: str, http_port: int, tls_port: int):
        self.listen_port = free_port()
        self.metrics_port = free_port()
        self.state_dir = state_dir
        self.args = [
            EXE,
            "edge",
            "--control-plane",
            control_plane,
            "--token",
            token,
            "--listen",
            f"127.0.0.1:{self.listen_port}",
            "--state-dir",
            str(state_dir),
            "--metrics",
            f"127.0.0.1:{self.metrics_port}",
            "--dns-server",
            dns,
            "--origin-http-port",
            str(http_port),
            "--origin-tls-port",
            str(tls_port),
            "--node",
            "e2e-edge",
        ]
        self.log = state_dir.parent / f"edge-{self.listen_port}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> tuple[str, int]:
        return ("127.0.0.1", self.listen_port)

    def start(self) -> EdgeProcess:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(self.args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        if not wait_until(lambda: self.metric("prefixgate_edge_haproxy_up") == 1, timeout=30):
            raise RuntimeError(f"the edge did not start: {self.log.read_text()[-3000:]}")
        return self

    def metrics(self) -> str:
        if self.proc is not None and self.proc.poll() is not None:
            raise RuntimeError(f"the edge exited {self.proc.returncode}: {self.log.read_text()[-3000:]}")
        try:
            return httpx.get(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=2).text
        except httpx.HTTPError:
            return ""

    def metric(self, name: str, labels: str = "") -> float | None:
        m = re.search(rf"^{re.escape(name)}{re.escape(labels)} (\S+)$", self.metrics(), re.MULTILINE)
        return float(m.group(1)) if m else None

    def serves(self, revision: int, timeout: float = 10.0) -> bool:
        return wait_until(lambda: (self.metric("prefixgate_edge_revision") or -1) >= revision, timeout=timeout)

    def stop(self) -> None:
        """SIGTERM (the agent stops HAProxy too); whatever is left after 15 s is killed, HAProxy included
        (it runs in a session of its own, named by haproxy.pid)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        pid_file = self.state_dir / "haproxy.pid"
        if pid_file.exists():
            with suppress(ValueError, ProcessLookupError, IndexError):
                os.kill(int(pid_file.read_text().split()[0]), signal.SIGKILL)

    def kill9(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


@dataclass
class Stack:
    db: SqlDatabase
    server: ProcServer
    edge: EdgeProcess
    dns: LoopbackDns
    echo: EchoOrigin
    http: HttpOrigin
    tls: TlsOrigin
    ca: TestCA
    a: str
    b: str
    prefix_id: str
    spectrum_delegation: str
    cdn_delegation: str
    zone_b: str
    app_id: str
    host_id: str
    token: str
    proxy: FeedProxy

    def head(self) -> int:
        """The control plane's newest revision."""
        with self.db.engine.connect() as conn:
            return int(conn.execute(text("SELECT revision FROM edge_head")).scalar_one())


def _scene(db: SqlDatabase, dns: LoopbackDns, echo_port: int) -> dict[str, str]:
    a = identity.create_account(db, CLI, "Account A").id
    b = identity.create_account(db, CLI, "Account B").id
    p = prefixes.create_prefix(db, CLI, a, "1.2.3.0/24", asn=64500)
    prefixes.approve_prefix(db, CLI, p.id)
    bindings.create_binding(db, CLI, a, p.id, "1.2.3.0/24", SPECTRUM.id)
    bindings.create_binding(db, CLI, a, p.id, "1.2.3.128/25", CDN.id)
    to_b = delegations.create_delegation(db, CLI, a, p.id, "1.2.3.4/32", b)
    cdn_to_b = delegations.create_delegation(db, CLI, a, p.id, "1.2.3.128/25", b)
    zone = zones.create_zone(db, CLI, b, "saas-b.example.com")
    app = spectrum.create_app(
        db,
        CLI,
        zone.id,
        spectrum.AppInput(
            protocol="tcp/22",
            dns_type="ADDRESS",
            dns_name="ssh.saas-b.example.com",
            edge_ips_type="static",
            edge_ips=["1.2.3.4"],
            origin_direct=[f"tcp://127.0.0.1:{echo_port}"],
        ),
    )
    hostnames.put_fallback_origin(db, CLI, zone.id, "fallback.saas-b.example.com")
    dns.set("fallback.saas-b.example.com", "A", "127.0.0.1")
    host = hostnames.create_hostname(db, CLI, zone.id, hostnames.HostnameInput(HOSTNAME, hostnames.SslInput()))
    dns.set(HOSTNAME, "A", "1.2.3.200")
    dns.set(ownership_record_name(HOSTNAME), "TXT", host.ownership_token)
    checked = hostname_checks.validate_hostname(db, DnsInspector(dns.address, 5.0), CLI, zone.id, host.id)
    assert checked.status == ACTIVE, checked.verification_errors
    return {
        "a": a,
        "b": b,
        "prefix_id": p.id,
        "spectrum_delegation": to_b.id,
        "cdn_delegation": cdn_to_b.id,
        "zone_b": zone.id,
        "app_id": app.id,
        "host_id": host.id,
    }


def create_edge_token(database_url: str, name: str = "e2e") -> str:
    out = subprocess.run(
        [EXE, "admin", "create-edge-token", "--name", name, "--database-url", database_url],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    token = json.loads(out.stdout)
    assert set(token) >= {"id", "name", "value"} and token["name"] == name
    return str(token["value"])


@contextmanager
def edge_stack(engine: str, tmp: Path, *, keep: int | None = None) -> Iterator[Stack]:
    """The scene served by an edge that reaches the control plane through a FeedProxy (passing by
    default). `keep`: how many revisions the feed keeps (PREFIXGATE_EDGE_FEED_KEEP) in every process."""
    with ExitStack() as stack:
        dns = stack.enter_context(LoopbackDns())
        echo = stack.enter_context(EchoOrigin())
        http = stack.enter_context(HttpOrigin("fallback-origin"))
        ca = TestCA(tmp / "ca")
        cert, key = ca.issue(HOSTNAME)
        tls = stack.enter_context(TlsOrigin(cert, key))
        url = stack.enter_context(fresh_database_url(engine, str(tmp)))
        settings = Settings(database_url=url) if keep is None else Settings(database_url=url, edge_feed_keep=keep)
        db = migrated_database(url, settings)
        stack.callback(db.dispose)
        scene = _scene(db, dns, echo.port)
        token = create_edge_token(url)
        env = None if keep is None else {"PREFIXGATE_EDGE_FEED_KEEP": str(keep)}
        server = ProcServer(url, tmp, env=env).start()
        stack.callback(server.stop)
        proxy = stack.enter_context(FeedProxy(server.base))
        dns_address = f"{dns.address[0]}:{dns.address[1]}"
        edge = EdgeProcess(
            proxy.base, token, tmp / "edge-state", dns=dns_address, http_port=http.port, tls_port=tls.port
        )
        stack.callback(edge.stop)
        edge.start()
        s = Stack(db, server, edge, dns, echo, http, tls, ca, token=token, proxy=proxy, **scene)
        assert edge.serves(s.head()), edge.metrics()
        yield s


def refused_within(connect: object, seconds: float) -> float:
    """Poll `connect()` (True while served) until it is refused; return how long it took."""
    started = time.monotonic()
    assert wait_until(lambda: not connect(), timeout=seconds + 2)  # type: ignore[operator]
    return time.monotonic() - started
