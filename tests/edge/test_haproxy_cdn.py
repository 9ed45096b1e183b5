"""Custom hostnames through a real HAProxy: HTTP routed by Host (421 when not served), TLS passed
through by SNI to a TLS origin the client verifies end to end."""

from __future__ import annotations

import json
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.edge.harness import CLIENT, Edge, start_edge
from tests.edge.origins import HttpOrigin, TestCA, TlsOrigin, http_get, is_closed, recv_until

SHOP = "shop.example.net"
MAPS = {
    # A blocked Spectrum app on the CDN address's ports 80 and 443 must not stop the CDN lookup.
    "spectrum_ip.map": {"1.2.3.200": "1"},
    "spectrum_port.map": {
        f"{65536 + 80}": "app-x|app_blocked|127.0.0.1|0|off",
        f"{65536 + 443}": "app-x|app_blocked|127.0.0.1|0|off",
    },
    "cdn_ip.map": {"1.2.3.128/25": "1", "2001:db8:cd::/48": "2"},
    "cdn_grant.map": {"1|acct-b": "1", "2|acct-b": "1"},
    "hostname.map": {
        SHOP: "h-shop|acct-b|served|127.0.0.1",
        "paused.example.net": "h-paused|acct-b|zone_paused|127.0.0.1",
        "elsewhere.example.net": "h-else|acct-c|served|127.0.0.1",  # acct-c may not serve on these blocks
    },
}


@pytest.fixture
def edge(state_dir: Path, http_origin: HttpOrigin, tls_origin: TlsOrigin) -> Iterator[Edge]:
    e = start_edge(state_dir, MAPS, origin_http_port=http_origin.port, origin_tls_port=tls_origin.port)
    yield e
    e.supervisor.stop()


def get(edge: Edge, host: str, dst: str = "1.2.3.200") -> tuple[int, bytes]:
    with edge.connect((dst, 80)) as s:
        return http_get(s, host)


def test_http_is_routed_by_host_to_the_origin(edge: Edge) -> None:
    status, body = get(edge, "Shop.Example.NET:80")
    assert status == 200
    answer = json.loads(body)
    assert answer["host"] == "Shop.Example.NET:80"
    assert answer["x_forwarded_for"] == CLIENT[0]
    status, body = get(edge, SHOP, dst="2001:db8:cd::1")
    assert (status, json.loads(body)["host"]) == (200, SHOP)


def test_http_that_is_not_served_answers_421(edge: Edge) -> None:
    assert get(edge, "unknown.example.net")[0] == 421
    assert get(edge, "paused.example.net")[0] == 421
    assert get(edge, "elsewhere.example.net")[0] == 421  # active, but not on an address its account may use
    assert get(edge, SHOP, dst="1.2.3.4")[0] == 421  # outside every CDN block
    assert get(edge, SHOP)[0] == 200
    assert edge.programmer.outcomes() == {
        "http|hostname_not_active": 1,
        "http|zone_paused": 1,
        "http|ip_not_usable": 2,
        "http|served": 1,
    }


def test_each_request_of_a_keep_alive_connection_is_routed_by_its_own_host(edge: Edge) -> None:
    with edge.connect(("1.2.3.200", 80)) as s:
        assert http_get(s, SHOP)[0] == 200
        assert http_get(s, "unknown.example.net")[0] == 421
        status, body = http_get(s, SHOP, "/again")
        assert (status, json.loads(body)["path"]) == (200, "/again")


def test_tls_is_passed_through_by_sni_and_verified_end_to_end(
    edge: Edge, test_ca: TestCA, tls_origin: TlsOrigin
) -> None:
    seen = len(tls_origin.snis)
    raw = edge.connect(("1.2.3.200", 443))
    with test_ca.client_context().wrap_socket(raw, server_hostname=SHOP) as tls:
        assert tls.getpeercert() is not None  # verified against the test CA, name checked
        tls.sendall(b"over tls")
        assert recv_until(tls, b"over tls") == b"over tls"
    assert tls_origin.snis[seen:] == [SHOP]
    assert edge.programmer.outcomes() == {"tls|served": 1}
    assert [(t.object_id, t.hostname, t.edge_port) for t in edge.programmer.tracked()] == [("h-shop", SHOP, 443)]


def test_tls_that_is_not_served_is_closed(edge: Edge, test_ca: TestCA, tls_origin: TlsOrigin) -> None:
    seen = len(tls_origin.snis)
    for name in ("unknown.example.net", "elsewhere.example.net"):
        raw = edge.connect(("1.2.3.200", 443))
        with pytest.raises((ssl.SSLError, OSError)):
            test_ca.client_context().wrap_socket(raw, server_hostname=name)
        raw.close()
    with edge.connect(("1.2.3.200", 443)) as s:  # not TLS at all
        s.sendall(b"GET / HTTP/1.1\r\nHost: shop.example.net\r\n\r\n")
        assert is_closed(s, timeout=2)
    assert tls_origin.snis[seen:] == []
    assert edge.programmer.outcomes() == {"tls|hostname_not_active": 1, "tls|ip_not_usable": 1, "tls|no_sni": 1}


def test_other_ports_of_a_cdn_address_are_closed(edge: Edge) -> None:
    with edge.connect(("1.2.3.200", 8080)) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: shop.example.net\r\n\r\n")
        assert is_closed(s, timeout=2)
    assert edge.programmer.outcomes() == {"tcp|no_app": 1}
