"""The issue's scenario end to end on loopback: a real control plane, a real `prefixgate edge` running
Debian's HAProxy, real sockets. Clients connect through the edge with a PROXY v2 header naming the
destination they asked for (as a layer-4 load balancer in front of an edge sends it).

Each test builds its own stack (tests/edge/stack.py), because each one changes the scene."""

from __future__ import annotations

import json
import os
import signal
import socket
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from prefixgate.domain.bindings import CDN
from prefixgate.edge.haproxy_runtime import RuntimeApi
from prefixgate.service import bindings, delegations
from tests.edge.origins import connect_via_proxy, http_get, is_closed, recv_until, wait_until
from tests.edge.stack import CLI, HOSTNAME, Stack, edge_stack

CLIENT = ("198.51.100.7", 40000)


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    with edge_stack("sqlite", tmp_path) as s:
        yield s


def echoed(s: Stack, dst: tuple[str, int], payload: bytes = b"ping\n") -> bool:
    """Whether a connection to `dst` through the edge gets `payload` echoed."""
    try:
        with connect_via_proxy(s.edge.address, CLIENT, dst, timeout=2) as sock:
            sock.sendall(payload)
            return recv_until(sock, payload, timeout=2) == payload
    except OSError:
        return False


def http_status(s: Stack, host: str, ip: str = "1.2.3.200") -> int | None:
    try:
        with connect_via_proxy(s.edge.address, CLIENT, (ip, 80), timeout=2) as sock:
            return http_get(sock, host, timeout=2)[0]
    except (OSError, ConnectionError):
        return None


def tls_client(s: Stack, ip: str = "1.2.3.200", sni: str = HOSTNAME) -> ssl.SSLSocket:
    raw = connect_via_proxy(s.edge.address, CLIENT, (ip, 443), timeout=3)
    return s.ca.client_context().wrap_socket(raw, server_hostname=sni)


def test_a_delegated_app_is_served_and_stops_at_once_when_the_delegation_is_forced_away(stack: Stack) -> None:
    s = stack
    assert echoed(s, ("1.2.3.4", 22))
    assert not echoed(s, ("1.2.3.5", 22))  # not delegated to B: no app there
    assert not echoed(s, ("1.2.3.4", 23))

    held = connect_via_proxy(s.edge.address, ("198.51.100.8", 41000), ("1.2.3.4", 22))
    held.sendall(b"still here\n")
    assert recv_until(held, b"still here\n") == b"still here\n"

    delegations.delete_delegation(s.db, CLI, s.a, s.prefix_id, s.spectrum_delegation, force=True)
    started = time.monotonic()
    assert wait_until(lambda: not echoed(s, ("1.2.3.4", 22)), timeout=3)
    assert time.monotonic() - started < 1.0
    assert is_closed(held, timeout=1.0)  # the established connection was closed too
    held.close()
    assert s.edge.serves(s.head())
    # The poll that saw the end may have been a served connection closed by the revocation: a new one
    # is refused, and counted with its reason.
    assert not echoed(s, ("1.2.3.4", 22))
    blocked = '{outcome="refused",path="tcp",reason="app_blocked"}'
    assert wait_until(lambda: (s.edge.metric("prefixgate_edge_connections_total", blocked) or 0) >= 1)
    assert (s.edge.metric("prefixgate_edge_connections_closed_total") or 0) >= 1  # the held one, and any poll


def test_a_custom_hostname_is_served_by_host_and_by_sni_and_stops_when_the_delegation_goes(stack: Stack) -> None:
    s = stack
    with connect_via_proxy(s.edge.address, CLIENT, ("1.2.3.200", 80)) as sock:
        status, body = http_get(sock, HOSTNAME)
    assert status == 200 and json.loads(body)["host"] == HOSTNAME and json.loads(body)["origin"] == "fallback-origin"
    assert http_status(s, "other.example.net") == 421  # no such active hostname
    assert http_status(s, HOSTNAME, ip="1.2.3.100") == 421  # an address bound to Spectrum, not CDN

    with tls_client(s) as tls:  # passed through: the origin's own certificate, checked against the test CA
        tls.sendall(b"hello over tls")
        assert recv_until(tls, b"hello over tls") == b"hello over tls"
    assert HOSTNAME in s.tls.snis

    bad = connect_via_proxy(s.edge.address, CLIENT, ("1.2.3.200", 443), timeout=3)
    with pytest.raises((ssl.SSLError, OSError)):
        s.ca.client_context().wrap_socket(bad, server_hostname="other.example.net")
    bad.close()

    held = tls_client(s)
    held.sendall(b"x")
    assert recv_until(held, b"x") == b"x"
    delegations.delete_delegation(s.db, CLI, s.a, s.prefix_id, s.cdn_delegation, force=True)
    started = time.monotonic()
    assert wait_until(lambda: http_status(s, HOSTNAME) == 421, timeout=3)
    assert time.monotonic() - started < 1.0
    assert is_closed(held, timeout=1.0)
    held.close()
    with pytest.raises((ssl.SSLError, OSError)), tls_client(s):
        pass


def test_a_binding_stays_provisioning_until_the_edge_serves_it(stack: Stack) -> None:
    s = stack
    binding = bindings.create_binding(s.db, CLI, s.a, s.prefix_id, "1.2.3.64/26", CDN.id)
    assert binding.state == "provisioning"
    assert wait_until(
        lambda: bindings.get_binding(s.db, CLI, s.a, s.prefix_id, binding.id).state == "active", timeout=5
    )
    assert (s.edge.metric("prefixgate_edge_revision") or 0) >= s.head() - 1


def test_the_edge_keeps_serving_without_the_control_plane_and_follows_it_again(stack: Stack) -> None:
    s = stack
    s.server.kill9()
    assert wait_until(lambda: s.edge.metric("prefixgate_edge_control_plane_up") == 0, timeout=35)
    assert echoed(s, ("1.2.3.4", 22))
    assert http_status(s, HOSTNAME) == 200
    delegations.delete_delegation(s.db, CLI, s.a, s.prefix_id, s.spectrum_delegation, force=True)
    assert echoed(s, ("1.2.3.4", 22))  # nobody tells the edge yet: it serves what it was given
    s.server.start()
    assert wait_until(lambda: not echoed(s, ("1.2.3.4", 22)), timeout=10)
    assert s.edge.serves(s.head())
    assert s.edge.metric("prefixgate_edge_control_plane_up") == 1


def test_haproxy_killed_is_back_and_serving_within_two_seconds(stack: Stack) -> None:
    s = stack
    os.kill(_haproxy_pid(s), signal.SIGKILL)
    started = time.monotonic()
    assert wait_until(lambda: echoed(s, ("1.2.3.4", 22)), timeout=5)
    assert time.monotonic() - started < 2.0
    assert wait_until(lambda: s.edge.metric("prefixgate_edge_haproxy_restarts_total") == 1, timeout=5)
    assert http_status(s, HOSTNAME) == 200


def _haproxy_pid(s: Stack) -> int:
    return int(RuntimeApi(s.edge.state_dir / "haproxy.sock").show_info()["Pid"])


def test_a_plain_connection_without_a_proxy_header_is_refused(stack: Stack) -> None:
    s = stack
    with socket.create_connection(s.edge.address, timeout=3) as sock:
        sock.sendall(b"SSH-2.0-client\r\n" + b"x" * 64)
        assert is_closed(sock, timeout=3)


def test_a_corrupted_snapshot_is_refused_and_the_old_table_stays(stack: Stack) -> None:
    s = stack
    delegations.delete_delegation(s.db, CLI, s.a, s.prefix_id, s.spectrum_delegation, force=True)
    assert wait_until(lambda: not echoed(s, ("1.2.3.4", 22)), timeout=3)
    loaded = s.edge.metric("prefixgate_edge_snapshots_loaded_total")
    s.proxy.mode, s.proxy.gone = "corrupt", 1  # the next long poll says 410; the snapshot it fetches is damaged
    # A change elsewhere ends the long poll already waiting (its answer becomes the 410).
    delegations.create_delegation(s.db, CLI, s.a, s.prefix_id, "1.2.3.10/32", s.b)
    assert wait_until(lambda: (s.edge.metric("prefixgate_edge_snapshots_refused_total") or 0) >= 1, timeout=10)
    assert s.edge.metric("prefixgate_edge_snapshots_loaded_total") == loaded
    assert http_status(s, HOSTNAME) == 200 and not echoed(s, ("1.2.3.4", 22))  # the old table still serves
    s.proxy.mode = "pass"
    assert wait_until(lambda: s.edge.metric("prefixgate_edge_snapshots_loaded_total") == (loaded or 0) + 1, timeout=10)
    assert s.edge.serves(s.head()) and http_status(s, HOSTNAME) == 200


@pytest.fixture
def short_feed(tmp_path: Path) -> Iterator[Stack]:
    with edge_stack("sqlite", tmp_path, keep=3) as s:
        yield s


def test_a_since_too_old_answers_410_and_the_edge_reloads_the_snapshot(short_feed: Stack) -> None:
    s = short_feed
    s.proxy.mode = "down"
    assert wait_until(lambda: s.edge.metric("prefixgate_edge_control_plane_up") == 0, timeout=35)
    served = int(s.edge.metric("prefixgate_edge_revision") or 0)
    delegations.delete_delegation(s.db, CLI, s.a, s.prefix_id, s.spectrum_delegation, force=True)
    for n in range(8):  # more revisions than the feed keeps
        bindings.create_binding(s.db, CLI, s.a, s.prefix_id, f"1.2.3.{16 + n * 4}/30", CDN.id)
    with s.db.engine.connect() as conn:
        oldest = int(conn.execute(text("SELECT oldest FROM edge_head")).scalar_one())
    assert oldest > served + 1  # what the edge serves is no longer followable
    loaded = s.edge.metric("prefixgate_edge_snapshots_loaded_total") or 0
    s.proxy.mode = "pass"
    assert wait_until(lambda: s.edge.metric("prefixgate_edge_snapshots_loaded_total") == loaded + 1, timeout=10)
    assert s.edge.serves(s.head()) and not echoed(s, ("1.2.3.4", 22))
