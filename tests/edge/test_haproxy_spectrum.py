"""Spectrum through a real HAProxy: served and refused connections, port ranges, PROXY headers."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.edge.harness import CLIENT, Edge, start_edge
from tests.edge.origins import EchoOrigin, consecutive_echo_origins, is_closed, recv_until
from tests.support import free_port


def slot_key(slot: int, start: int, end: int | None = None) -> str:
    return f"{slot * 65536 + start}" + (f":{slot * 65536 + end}" if end is not None else "")


@pytest.fixture(scope="module")
def origins() -> Iterator[dict[str, EchoOrigin]]:
    with ExitStack() as stack:
        found = {
            "ssh": stack.enter_context(EchoOrigin(banner=b"SSH-2.0-origin\r\n")),
            "v1": stack.enter_context(EchoOrigin(proxy=True)),
            "v2": stack.enter_context(EchoOrigin(proxy=True)),
        }
        for i, o in enumerate(consecutive_echo_origins(2)):
            found[f"range{i}"] = stack.enter_context(o)
        yield found


@pytest.fixture
def edge(state_dir: Path, origins: dict[str, EchoOrigin]) -> Iterator[Edge]:
    ssh, v1, v2, r0 = (origins[k].port for k in ("ssh", "v1", "v2", "range0"))
    maps = {
        "spectrum_ip.map": {"1.2.3.4": "1", "1.2.3.6": "2", "2001:db8::4": "3"},
        "spectrum_port.map": {
            slot_key(1, 22): f"app-ssh|served|127.0.0.1|{ssh - 22}|off",
            slot_key(1, 23): "app-blocked|app_blocked|127.0.0.1|0|off",
            slot_key(1, 24): f"app-dead|served|127.0.0.1|{free_port() - 24}|off",  # nothing listens there
            slot_key(1, 443): f"app-443|served|127.0.0.1|{ssh - 443}|off",
            slot_key(1, 2201): f"app-v1|served|127.0.0.1|{v1 - 2201}|v1",
            slot_key(1, 2202): f"app-v2|served|127.0.0.1|{v2 - 2202}|v2",
            slot_key(2, 1000, 1009): f"app-range|served|127.0.0.1|{r0 - 1000}|off",
            slot_key(2, 65000, 65001): f"app-down|served|127.0.0.1|{r0 - 65000}|off",  # a negative offset
            slot_key(3, 22): f"app-ssh6|served|127.0.0.1|{ssh - 22}|off",
        },
    }
    e = start_edge(state_dir, maps)
    yield e
    e.supervisor.stop()


def test_served_app_reaches_its_origin_without_waiting_for_client_data(edge: Edge) -> None:
    with edge.connect(("1.2.3.4", 22)) as s:
        # Server-first: the origin's banner arrives before the client sent a byte.
        assert recv_until(s, b"\r\n") == b"SSH-2.0-origin\r\n"
        s.sendall(b"ping\n")
        assert recv_until(s, b"ping\n") == b"ping\n"
    assert edge.programmer.outcomes() == {"spectrum|served": 1}


def test_a_spectrum_app_on_port_443_wins_and_does_not_wait_for_a_client_hello(edge: Edge) -> None:
    with edge.connect(("1.2.3.4", 443)) as s:
        assert recv_until(s, b"\r\n", timeout=2) == b"SSH-2.0-origin\r\n"  # the inspect-delay is 5 s
    assert edge.programmer.outcomes() == {"spectrum|served": 1}


def test_an_ip_without_an_app_is_closed_at_once(edge: Edge) -> None:
    with edge.connect(("1.2.3.5", 22)) as s:
        assert is_closed(s, timeout=2)
    with edge.connect(("1.2.3.4", 9999)) as s:  # an app's IP, a port without one
        assert is_closed(s, timeout=2)
    assert edge.programmer.outcomes() == {"tcp|no_app": 2}


def test_a_blocked_app_is_closed_and_counted_by_its_reason(edge: Edge, origins: dict[str, EchoOrigin]) -> None:
    before = origins["ssh"].connections
    with edge.connect(("1.2.3.4", 23)) as s:
        assert is_closed(s, timeout=2)
    assert origins["ssh"].connections == before
    assert edge.programmer.outcomes() == {"tcp|app_blocked": 1}


def test_a_served_connection_is_counted_once_even_when_its_origin_refuses(edge: Edge) -> None:
    # Served connections are counted as sessions of the pp_* backends: HAProxy's connect retries to the
    # dead origin must not count again.
    with edge.connect(("1.2.3.4", 24)) as s:
        assert is_closed(s, timeout=5)
    assert edge.programmer.outcomes() == {"spectrum|served": 1}


def test_a_port_range_maps_onto_the_origin_range(edge: Edge) -> None:
    for port, banner in ((1000, b"0\n"), (1001, b"1\n"), (65000, b"0\n"), (65001, b"1\n")):
        with edge.connect(("1.2.3.6", port)) as s:
            assert recv_until(s, b"\n") == banner
            s.sendall(b"x")
            assert recv_until(s, b"x") == b"x"
    with edge.connect(("1.2.3.6", 1010)) as s:  # one past the range
        assert is_closed(s, timeout=2)


def test_an_ipv6_destination_over_an_ipv4_socket_is_served(edge: Edge) -> None:
    with edge.connect(("2001:db8::4", 22), src=("2001:db8:77::1", 5000)) as s:
        assert recv_until(s, b"\r\n") == b"SSH-2.0-origin\r\n"
    tracked = edge.programmer.tracked()
    assert [(t.edge_ip, t.edge_port, t.object_id) for t in tracked] == [("2001:db8::4", 22, "app-ssh6")]


def test_a_connection_without_a_proxy_header_is_closed(edge: Edge, origins: dict[str, EchoOrigin]) -> None:
    before = origins["ssh"].connections
    with socket.create_connection(edge.address, timeout=5) as s:
        s.sendall(b"SSH-2.0-client\r\n")
        assert is_closed(s, timeout=2)
    assert origins["ssh"].connections == before


@pytest.mark.parametrize("version", [1, 2])
def test_proxy_protocol_towards_the_origin(edge: Edge, origins: dict[str, EchoOrigin], version: int) -> None:
    origin = origins[f"v{version}"]
    seen = len(origin.headers)
    with edge.connect(("1.2.3.4", 2200 + version)) as s:
        s.sendall(b"hello")
        assert recv_until(s, b"hello") == b"hello"
    header = origin.headers[seen]
    assert header.version == version
    assert header.src == CLIENT
    # HAProxy 2.6 writes the connection's destination after set-dst: the origin, not the edge IP.
    assert header.dst == ("127.0.0.1", origin.port)


def test_a_silent_connection_is_closed_but_an_idle_proxied_one_is_kept(
    state_dir: Path, origins: dict[str, EchoOrigin]
) -> None:
    ssh = origins["ssh"].port
    maps = {
        "spectrum_ip.map": {"1.2.3.4": "1"},
        "spectrum_port.map": {slot_key(1, 22): f"a|served|127.0.0.1|{ssh - 22}|off"},
    }
    edge = start_edge(state_dir, maps, client_timeout_s=0.3, idle_timeout_s=30)
    try:
        with socket.create_connection(edge.address, timeout=5) as silent, edge.connect(("1.2.3.4", 22)) as idle:
            assert recv_until(idle, b"\r\n") == b"SSH-2.0-origin\r\n"
            assert is_closed(silent, timeout=3)  # no PROXY header within the client timeout
            assert not is_closed(idle, timeout=0.3)  # idle past the client timeout: the tunnel timeout applies
            idle.sendall(b"still")
            assert recv_until(idle, b"still") == b"still"
    finally:
        edge.supervisor.stop()
