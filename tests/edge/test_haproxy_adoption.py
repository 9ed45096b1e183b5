"""An HAProxy left serving by an agent that went away is adopted by the next supervisor on its state dir.

The agent going away is simulated by `detach()` (the supervisor stops watching, HAProxy keeps serving);
tests/edge/test_edge_restart.py does it with real agents and signals. A client connects every 20 ms all
the while and no connection may fail.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import replace
from pathlib import Path

import pytest

from prefixgate.edge.haproxy_config import HaproxySettings, render_config
from prefixgate.edge.haproxy_plane import HaproxyDataPlane
from prefixgate.edge.haproxy_process import PidRecord, config_digest, read_pid_file, write_pid_file
from prefixgate.edge.haproxy_supervisor import HaproxyNotReady, HaproxySupervisor
from tests.edge.harness import ConnectionStream, Edge, Leftovers, edge_on, start_edge
from tests.edge.origins import EchoOrigin, recv_until
from tests.support import free_port

BANNER = b"SSH-2.0-origin\r\n"


def maps_for(origin: EchoOrigin, ip: str) -> dict[str, dict[str, str]]:
    return {
        "spectrum_ip.map": {ip: "1"},
        "spectrum_port.map": {str(65536 + 22): f"app-{ip}|served|127.0.0.1|{origin.port - 22}|off"},
    }


def banner(edge: Edge, ip: str) -> bytes:
    with edge.connect((ip, 22)) as sock:
        return recv_until(sock, b"\r\n", timeout=2)


def abandoned(state_dir: Path, maps: dict[str, dict[str, str]], leftovers: Leftovers) -> Edge:
    """An edge whose supervisor let go of HAProxy, which keeps serving `maps`."""
    edge = start_edge(state_dir, maps)
    proc = leftovers.add(edge.supervisor.pid)
    edge.supervisor.detach()
    assert edge.supervisor.pid is None and not proc.exited()
    return edge


def test_a_new_supervisor_adopts_the_haproxy_left_serving_and_no_connection_fails(
    state_dir: Path, echo_origin: EchoOrigin, leftovers: Leftovers
) -> None:
    first = start_edge(state_dir, maps_for(echo_origin, "1.2.3.4"))
    proc = leftovers.add(pid := first.supervisor.pid)
    with ConnectionStream(first.address, ("1.2.3.4", 22), BANNER) as stream:
        assert stream.await_served(5)
        left = time.monotonic()
        first.supervisor.detach()
        assert not proc.exited()
        second = edge_on(first.settings, first.maps)
        second.supervisor.start()
        adopted = time.monotonic()
        assert stream.await_served(5, after=adopted)
    try:
        assert stream.failures == []
        assert stream.served_between(left, adopted) >= 1  # served while no supervisor watched HAProxy
        assert second.supervisor.adopted and second.supervisor.reloaded_from is None
        assert second.supervisor.pid == pid
        assert read_pid_file(second.settings.pid_path) == PidRecord(pid, config_digest(render_config(second.settings)))
        second.apply(maps_for(echo_origin, "1.2.3.5"))  # a live change through the adopted HAProxy
        assert banner(second, "1.2.3.5") == BANNER
        assert banner(second, "1.2.3.4") == b""
    finally:
        second.supervisor.stop()
    assert proc.exited(timeout_s=2)
    assert not second.settings.pid_path.exists()


def test_an_adopted_haproxy_killed_is_restarted_within_two_seconds(
    state_dir: Path, echo_origin: EchoOrigin, leftovers: Leftovers
) -> None:
    first = abandoned(state_dir, maps_for(echo_origin, "1.2.3.4"), leftovers)
    second = edge_on(first.settings, first.maps)
    second.supervisor.start()
    try:
        pid = second.supervisor.pid
        assert second.supervisor.adopted and pid is not None
        second.apply(maps_for(echo_origin, "1.2.3.5"))
        os.kill(pid, signal.SIGKILL)
        assert second.supervisor.wait_for_restarts(1, timeout_s=2.0)
        restarted = second.supervisor.pid
        assert restarted not in (None, pid)
        assert second.reprogrammed == [restarted]
        assert banner(second, "1.2.3.5") == BANNER
        assert banner(second, "1.2.3.4") == b""
        record = read_pid_file(second.settings.pid_path)
        assert record is not None and record.pid == restarted
    finally:
        second.supervisor.stop()


def test_a_different_configuration_reloads_without_refusing_a_connection(
    state_dir: Path, echo_origin: EchoOrigin, leftovers: Leftovers
) -> None:
    first = start_edge(state_dir, maps_for(echo_origin, "1.2.3.4"), client_timeout_s=30.0)
    old_proc = leftovers.add(old := first.supervisor.pid)
    with ConnectionStream(first.address, ("1.2.3.4", 22), BANNER, interval_s=0.002, clients=4) as stream:
        assert stream.await_served(10)
        first.supervisor.detach()
        second = edge_on(replace(first.settings, client_timeout_s=31.0), first.maps)
        began = time.monotonic()
        second.supervisor.start()
        reloaded = time.monotonic()
        leftovers.add(new := second.supervisor.pid)
        assert old_proc.exited(timeout_s=5)  # the old one handed its listeners over and left
        assert stream.await_served(20, after=time.monotonic())
    try:
        assert stream.failures == []
        assert stream.served_between(began, reloaded) >= 1
        assert not second.supervisor.adopted and second.supervisor.reloaded_from == old and new != old
        assert "timeout client 31000ms" in second.settings.config_path.read_text()
        assert read_pid_file(second.settings.pid_path) == PidRecord(new, config_digest(render_config(second.settings)))
        second.apply(maps_for(echo_origin, "1.2.3.5"))
        assert banner(second, "1.2.3.5") == BANNER
    finally:
        second.supervisor.stop()


def _dead_pid() -> int:
    child = subprocess.Popen(["true"])  # gone, and reaped, once this returns
    child.wait()
    return child.pid


@pytest.mark.parametrize("stale", ["dead pid", "not haproxy", "another haproxy", "garbage"])
def test_a_stale_pid_file_is_removed_and_haproxy_starts(
    stale: str, state_dir: Path, tmp_path: Path, echo_origin: EchoOrigin
) -> None:
    state_dir.mkdir(parents=True)
    bystander: subprocess.Popen[bytes] | None = None
    other: Edge | None = None
    if stale == "dead pid":
        write_pid_file(state_dir / "haproxy.pid", PidRecord(_dead_pid(), "x"))
    elif stale == "not haproxy":
        bystander = subprocess.Popen(["sleep", "30"])
        write_pid_file(state_dir / "haproxy.pid", PidRecord(bystander.pid, "x"))
    elif stale == "another haproxy":  # running, answering, but with another state dir's configuration
        other = start_edge(tmp_path / "other", maps_for(echo_origin, "1.2.3.9"))
        assert other.supervisor.pid is not None
        write_pid_file(state_dir / "haproxy.pid", PidRecord(other.supervisor.pid, "x"))
    else:
        (state_dir / "haproxy.pid").write_text("not a pid\n")
    try:
        edge = start_edge(state_dir, maps_for(echo_origin, "1.2.3.4"))
        try:
            assert not edge.supervisor.adopted and edge.supervisor.reloaded_from is None
            record = read_pid_file(edge.settings.pid_path)
            assert record is not None and record.pid == edge.supervisor.pid
            assert banner(edge, "1.2.3.4") == BANNER
        finally:
            edge.supervisor.stop()
        if bystander is not None:
            assert bystander.poll() is None  # left alone
        if other is not None:
            assert banner(other, "1.2.3.9") == BANNER
    finally:
        if bystander is not None:
            bystander.kill()
            bystander.wait()
        if other is not None:
            other.supervisor.stop()


def test_stopping_after_adoption_stops_the_adopted_haproxy(
    state_dir: Path, echo_origin: EchoOrigin, leftovers: Leftovers
) -> None:
    first = abandoned(state_dir, maps_for(echo_origin, "1.2.3.4"), leftovers)
    second = edge_on(first.settings, first.maps)
    second.supervisor.start()
    proc = leftovers.add(pid := second.supervisor.pid)
    assert second.supervisor.adopted
    second.supervisor.stop()
    assert proc.exited(timeout_s=2)
    assert not second.settings.pid_path.exists()
    assert second.supervisor.restarts == 0
    fresh = HaproxySupervisor(first.settings, maps=dict).start()  # the port was freed
    try:
        assert not fresh.adopted and fresh.pid not in (None, pid)
    finally:
        fresh.stop()


def test_the_data_plane_loads_its_own_maps_into_an_adopted_haproxy(
    state_dir: Path, echo_origin: EchoOrigin, leftovers: Leftovers
) -> None:
    settings = HaproxySettings(state_dir, listen_port=free_port())
    plane = HaproxyDataPlane(settings)
    plane.start(maps_for(echo_origin, "1.2.3.4"), lambda: None)
    proc = leftovers.add(pid := plane.pid)
    plane.detach()
    assert plane.pid is None and not proc.exited()
    later = HaproxyDataPlane(settings)
    later.start(maps_for(echo_origin, "1.2.3.5"), lambda: None)  # the next agent's table differs
    try:
        assert later.pid == pid
        edge = edge_on(settings, maps_for(echo_origin, "1.2.3.5"))
        live = edge.programmer.live_maps()
        assert live["spectrum_ip.map"] == {"1.2.3.5": "1"}
        assert banner(edge, "1.2.3.5") == BANNER
        assert banner(edge, "1.2.3.4") == b""
    finally:
        later.stop()
    assert proc.exited(timeout_s=2)


def test_no_second_haproxy_shares_the_port_with_one_nobody_supervises(
    state_dir: Path, echo_origin: EchoOrigin, leftovers: Leftovers
) -> None:
    """Without its pid file the running HAProxy cannot be adopted; a fresh one must then fail to bind
    rather than split the port's connections with it unseen (`noreuseport`)."""
    first = abandoned(state_dir, maps_for(echo_origin, "1.2.3.4"), leftovers)
    first.settings.pid_path.unlink()
    with pytest.raises(HaproxyNotReady, match="exited"):
        HaproxySupervisor(first.settings, maps=dict).start()
    assert "cannot bind socket" in (state_dir / "haproxy.out").read_text().lower()
    assert banner(first, "1.2.3.4") == BANNER  # the first one serves on, with its maps
