"""`prefixgate edge` restarts and HAProxy serves throughout: SIGUSR1 stops only the agent, and so does
killing the agent's whole process group with SIGKILL; the next agent on the same --state-dir adopts the
same HAProxy. SIGTERM stops both. The control plane is down all along (nothing listens on its port): the
agents serve the table saved in the state dir, and a client connects every 20 ms without one failure.
"""

from __future__ import annotations

import ipaddress
import os
import signal
import socket
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

from prefixgate.domain.bindings import SPECTRUM
from prefixgate.edge.haproxy_process import read_pid_file
from prefixgate.edge.state import AppRow, BindingRow, EdgeState, PrefixRow, ZoneRow
from prefixgate.edge.store import StateStore
from tests.edge.harness import ConnectionStream, Leftovers
from tests.edge.origins import EchoOrigin, wait_until
from tests.procserver import EXE
from tests.support import free_port

BANNER = b"SSH-2.0-origin\r\n"
EDGE_IP = "1.2.3.4"


def save_state(state_dir: Path, origin: EchoOrigin) -> None:
    """A saved table with one Spectrum app, EDGE_IP tcp/22 -> the echo origin."""
    net = ipaddress.ip_network
    rows = [
        PrefixRow("p1", "acct", net("1.2.3.0/24"), True),
        BindingRow("b1", "p1", net("1.2.3.0/24"), SPECTRUM.id),
        ZoneRow("z1", "acct", False),
        AppRow(
            "app1",
            "z1",
            "acct",
            "tcp/22",
            (ipaddress.ip_address(EDGE_IP),),
            (f"tcp://127.0.0.1:{origin.port}",),
            None,
            None,
            "off",
            "direct",
            "active",
            datetime(2024, 1, 1, tzinfo=UTC),
        ),
    ]
    StateStore(state_dir).save(EdgeState.of(7, rows))


class EdgeCli:
    """One `prefixgate edge` process in a session (and process group) of its own."""

    def __init__(self, state_dir: Path, listen_port: int, control_plane_port: int) -> None:
        self.state_dir = state_dir
        self.log = state_dir.parent / f"agent-{time.monotonic_ns()}.log"
        cmd = [
            EXE, "edge", "--control-plane", f"http://127.0.0.1:{control_plane_port}", "--token", "t" * 32,
            "--listen", f"127.0.0.1:{listen_port}", "--state-dir", str(state_dir), "--dns-server", "127.0.0.1:9",
        ]  # fmt: skip
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def logged(self, event: str) -> bool:
        return f'"event": "{event}"' in self.log.read_text()

    def await_started(self) -> None:
        started = wait_until(lambda: self.logged("edge.started") or self.proc.poll() is not None, timeout=30)
        assert started and self.proc.poll() is None, self.log.read_text()[-3000:]

    def stop(self, sig: int, timeout_s: float = 20) -> int:
        self.proc.send_signal(sig)
        return self.proc.wait(timeout_s)

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()


def haproxy_pid(state_dir: Path) -> int:
    record = read_pid_file(state_dir / "haproxy.pid")
    assert record is not None
    return record.pid


def refuses(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def restart_keeps_serving(state_dir: Path, echo_origin: EchoOrigin, leftovers: Leftovers, *, kill: bool) -> None:
    save_state(state_dir, echo_origin)
    port, control_plane = free_port(), free_port()
    first = EdgeCli(state_dir, port, control_plane)
    second: EdgeCli | None = None
    try:
        first.await_started()
        haproxy = leftovers.add(pid := haproxy_pid(state_dir))
        with ConnectionStream(("127.0.0.1", port), (EDGE_IP, 22), BANNER) as stream:
            assert stream.await_served(5)
            if kill:
                first.kill()  # SIGKILL to the agent's whole process group
            else:
                assert first.stop(signal.SIGUSR1) == 0
                assert first.logged("haproxy.detached")
            assert not haproxy.exited()
            assert stream.await_served(10, after=time.monotonic())  # with no agent at all
            second = EdgeCli(state_dir, port, control_plane)
            second.await_started()
            assert second.logged("haproxy.adopted") and not second.logged("haproxy.started")
            assert haproxy_pid(state_dir) == pid
            assert stream.await_served(10, after=time.monotonic())
        assert stream.failures == []
        assert second.stop(signal.SIGTERM) == 0
        assert haproxy.exited(timeout_s=5)
        assert not (state_dir / "haproxy.pid").exists()
        assert refuses(port)
    finally:
        for agent in (first, second):
            if agent is not None:
                agent.kill()


def test_sigusr1_restarts_the_agent_without_dropping_traffic(
    state_dir: Path, echo_origin: EchoOrigin, leftovers: Leftovers
) -> None:
    restart_keeps_serving(state_dir, echo_origin, leftovers, kill=False)


def test_an_agent_killed_with_its_process_group_leaves_haproxy_serving_for_the_next(
    state_dir: Path, echo_origin: EchoOrigin, leftovers: Leftovers
) -> None:
    restart_keeps_serving(state_dir, echo_origin, leftovers, kill=True)


def test_sigterm_stops_the_agent_and_haproxy(state_dir: Path, echo_origin: EchoOrigin, leftovers: Leftovers) -> None:
    save_state(state_dir, echo_origin)
    port = free_port()
    agent = EdgeCli(state_dir, port, free_port())
    try:
        agent.await_started()
        haproxy = leftovers.add(haproxy_pid(state_dir))
        assert agent.stop(signal.SIGTERM) == 0
        assert haproxy.exited(timeout_s=5)
        assert not (state_dir / "haproxy.pid").exists()
        assert refuses(port)
    finally:
        agent.kill()
