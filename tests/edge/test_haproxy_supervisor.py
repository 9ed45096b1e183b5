"""The supervisor: HAProxy killed with SIGKILL comes back within 2 s, reprogrammed, and serves again."""

from __future__ import annotations

import os
import signal
import socket
from pathlib import Path

import pytest

from prefixgate.edge.haproxy_config import HaproxySettings
from prefixgate.edge.haproxy_supervisor import HaproxyNotReady, HaproxySupervisor
from tests.edge.harness import start_edge
from tests.edge.origins import EchoOrigin, recv_until, wait_until


def maps_for(origin: EchoOrigin, ip: str) -> dict[str, dict[str, str]]:
    return {
        "spectrum_ip.map": {ip: "1"},
        "spectrum_port.map": {str(65536 + 22): f"app-{ip}|served|127.0.0.1|{origin.port - 22}|off"},
    }


def banner(sock: socket.socket) -> bytes:
    with sock:
        return recv_until(sock, b"\r\n", timeout=2)


def test_haproxy_killed_comes_back_reprogrammed_within_two_seconds(state_dir: Path, echo_origin: EchoOrigin) -> None:
    edge = start_edge(state_dir, maps_for(echo_origin, "1.2.3.4"))
    try:
        edge.apply(maps_for(echo_origin, "1.2.3.5"))  # a change made live, after the map files were written
        first = edge.supervisor.pid
        assert first is not None
        os.kill(first, signal.SIGKILL)
        assert edge.supervisor.wait_for_restarts(1, timeout_s=2.0)
        assert edge.supervisor.pid not in (None, first)
        assert edge.supervisor.restarts == 1
        assert edge.reprogrammed == [edge.supervisor.pid]
        assert banner(edge.connect(("1.2.3.5", 22))) == b"SSH-2.0-origin\r\n"
        assert banner(edge.connect(("1.2.3.4", 22))) == b""  # the revoked app stays revoked
        live = edge.programmer.live_maps()
        assert live["spectrum_ip.map"] == {"1.2.3.5": "1"}
    finally:
        edge.supervisor.stop()


def test_stop_ends_haproxy_and_frees_the_port(state_dir: Path, echo_origin: EchoOrigin) -> None:
    edge = start_edge(state_dir, maps_for(echo_origin, "1.2.3.4"))
    pid = edge.supervisor.pid
    assert pid is not None
    edge.supervisor.stop()
    assert edge.supervisor.pid is None
    assert wait_until(lambda: not os.path.exists(f"/proc/{pid}"), timeout=2)
    with socket.socket() as s:
        assert s.connect_ex(edge.address) != 0
    assert edge.supervisor.restarts == 0


def test_a_start_that_cannot_listen_fails_with_haproxys_reason(state_dir: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        settings = HaproxySettings(state_dir, listen_port=taken.getsockname()[1])
        with pytest.raises(HaproxyNotReady, match="exited"):
            HaproxySupervisor(settings, maps=dict).start()
    assert "cannot bind socket" in (state_dir / "haproxy.out").read_text().lower()
