"""Programming a running HAProxy: diffs and full swaps without a reload, closing revoked connections."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from prefixgate.edge.haproxy_maps import MAP_NAMES
from tests.edge.harness import Edge, start_edge
from tests.edge.origins import (
    EchoOrigin,
    HttpOrigin,
    TestCA,
    TlsOrigin,
    http_get,
    is_closed,
    recv_until,
)

SHOP = "shop.example.net"


def spectrum(origin: EchoOrigin, apps: dict[str, tuple[int, str]]) -> dict[str, dict[str, str]]:
    """Maps serving app id -> (slot, edge ip) on port 22 to `origin`."""
    return {
        "spectrum_ip.map": {ip: str(slot) for slot, ip in apps.values()},
        "spectrum_port.map": {
            str(slot * 65536 + 22): f"{app}|served|127.0.0.1|{origin.port - 22}|off" for app, (slot, _) in apps.items()
        },
    }


def cdn(hostnames: dict[str, str]) -> dict[str, dict[str, str]]:
    return {
        "cdn_ip.map": {"1.2.3.128/25": "1"},
        "cdn_grant.map": {"1|acct-b": "1"},
        "hostname.map": {name: f"{hid}|acct-b|served|127.0.0.1" for name, hid in hostnames.items()},
    }


@pytest.fixture
def edge(state_dir: Path, echo_origin: EchoOrigin, http_origin: HttpOrigin, tls_origin: TlsOrigin) -> Iterator[Edge]:
    maps = spectrum(echo_origin, {"app-a": (1, "1.2.3.4"), "app-b": (2, "1.2.3.6")}) | cdn({SHOP: "h-shop"})
    e = start_edge(state_dir, maps, origin_http_port=http_origin.port, origin_tls_port=tls_origin.port)
    yield e
    e.supervisor.stop()


def served(edge: Edge, ip: str) -> bool:
    with edge.connect((ip, 22)) as s:
        return recv_until(s, b"\r\n", timeout=2) == b"SSH-2.0-origin\r\n"


def test_a_diff_is_applied_live_without_a_reload(edge: Edge, echo_origin: EchoOrigin) -> None:
    pid = edge.supervisor.pid
    # app-a leaves; app-c takes slot 1 on another IP (a renumbered pointer); app-b stays.
    new = spectrum(echo_origin, {"app-b": (2, "1.2.3.6"), "app-c": (1, "1.2.3.5")}) | cdn({"new.example.net": "h-n"})
    assert edge.apply(new) > 0
    assert not served(edge, "1.2.3.4")
    assert served(edge, "1.2.3.5")
    assert served(edge, "1.2.3.6")
    with edge.connect(("1.2.3.200", 80)) as s:
        assert http_get(s, SHOP)[0] == 421
        assert http_get(s, "new.example.net")[0] == 200
    assert edge.programmer.live_maps() == {name: new.get(name, {}) for name in MAP_NAMES}
    assert edge.supervisor.pid == pid
    assert edge.apply(new) == 0  # nothing left to change


def test_a_full_apply_swaps_every_map(edge: Edge, echo_origin: EchoOrigin) -> None:
    pid = edge.supervisor.pid
    new = spectrum(echo_origin, {"app-b": (1, "1.2.3.7")})  # no CDN at all; app-b renumbered and moved
    edge.apply_full(new)
    assert edge.programmer.live_maps() == {name: new.get(name, {}) for name in MAP_NAMES}
    assert served(edge, "1.2.3.7")
    assert not served(edge, "1.2.3.6")
    assert edge.supervisor.pid == pid


def test_revocation_closes_exactly_the_revoked_connections(
    edge: Edge, echo_origin: EchoOrigin, test_ca: TestCA
) -> None:
    a1 = edge.connect(("1.2.3.4", 22), src=("198.51.100.1", 1111))
    a2 = edge.connect(("1.2.3.4", 22), src=("198.51.100.2", 2222))
    b = edge.connect(("1.2.3.6", 22), src=("198.51.100.1", 3333))
    tls = test_ca.client_context().wrap_socket(edge.connect(("1.2.3.200", 443)), server_hostname=SHOP)
    for s in (a1, a2, b):
        assert recv_until(s, b"\r\n") == b"SSH-2.0-origin\r\n"
    assert {t.object_id for t in edge.programmer.tracked()} == {"app-a", "app-b", "h-shop"}

    new = spectrum(echo_origin, {"app-b": (2, "1.2.3.6")}) | cdn({})
    edge.apply(new)
    closed = edge.programmer.close_revoked(lambda t: t.object_id in ("app-a", "h-shop"))
    assert closed == 3
    assert is_closed(a1) and is_closed(a2) and is_closed(tls)
    b.sendall(b"still here")
    assert recv_until(b, b"still here") == b"still here"
    assert {t.object_id for t in edge.programmer.tracked()} == {"app-b"}
    for s in (a1, a2, b, tls):
        s.close()


def test_a_keep_alive_request_after_a_revocation_is_refused(edge: Edge, echo_origin: EchoOrigin) -> None:
    with edge.connect(("1.2.3.200", 80)) as s:
        status, body = http_get(s, SHOP)
        assert (status, json.loads(body)["host"]) == (200, SHOP)
        edge.apply(spectrum(echo_origin, {}) | cdn({}))
        assert http_get(s, SHOP)[0] == 421


def test_a_hundred_thousand_entries_load_in_batches(edge: Edge) -> None:
    names = {f"h{i}.example.org": f"h-{i}|acct-b|served|127.0.0.1" for i in range(100_000)}
    started = time.monotonic()
    edge.apply_full(cdn({}) | {"hostname.map": names})
    loaded = time.monotonic() - started
    assert loaded < 20, f"100k entries took {loaded:.1f}s"
    assert len(edge.runtime.show_map(edge.settings.map_path("hostname.map"))) == 100_000
    with edge.connect(("1.2.3.200", 80)) as s:
        assert http_get(s, "h99999.example.org")[0] == 200
    changed = dict(names)
    for i in range(0, 100_000, 10):
        del changed[f"h{i}.example.org"]
    started = time.monotonic()
    assert edge.apply(cdn({}) | {"hostname.map": changed}) == 10_000
    assert time.monotonic() - started < 20
    with edge.connect(("1.2.3.200", 80)) as s:
        assert http_get(s, "h99990.example.org")[0] == 421
        assert http_get(s, "h99999.example.org")[0] == 200


def test_a_diff_limited_to_named_keys_sends_only_those_and_swaps_long_runs_correctly(
    edge: Edge, echo_origin: EchoOrigin
) -> None:
    """`apply_diff(..., keys)` (what the agent passes after `update_maps`): the named keys are planned, a
    run of over 50 dels on one map becomes a swap that keeps what earlier steps did, and keys not named
    are left as HAProxy holds them."""
    many = {f"10.0.{i // 250}.{i % 250 + 1}": str(100 + i) for i in range(120)}
    grown = dict(edge.maps)
    grown["spectrum_ip.map"] = {**edge.maps["spectrum_ip.map"], **many}
    edge.apply(grown)
    new = {k: dict(v) for k, v in grown.items()}
    for key in many:
        del new["spectrum_ip.map"][key]  # a run of 120 dels: sent as one swap
    new["spectrum_ip.map"]["1.2.3.5"] = "3"
    new["spectrum_port.map"][str(3 * 65536 + 22)] = f"app-c|served|127.0.0.1|{echo_origin.port - 22}|off"
    keys = {"spectrum_ip.map": [*many, "1.2.3.5"], "spectrum_port.map": [str(3 * 65536 + 22)]}
    steps = edge.programmer.apply_diff(edge.maps, new, keys)
    assert steps == 122
    edge.maps = new
    assert edge.programmer.live_maps() == {name: new.get(name, {}) for name in MAP_NAMES}
    assert served(edge, "1.2.3.5") and served(edge, "1.2.3.4")
    # One del, then a run of 60 sets on the same map: the swap for the sets must keep the del.
    names = {f"n{i}.example.net": f"h{i}|acct-b|served|127.0.0.1" for i in range(60)}
    with_names = {k: dict(v) for k, v in new.items()}
    with_names["hostname.map"] |= names
    edge.apply(with_names)
    renamed = {k: dict(v) for k, v in with_names.items()}
    del renamed["hostname.map"][SHOP]
    renamed["hostname.map"] |= {name: value.replace("served", "zone_paused") for name, value in names.items()}
    assert edge.programmer.apply_diff(with_names, renamed, {"hostname.map": [SHOP, *names]}) == 61
    edge.maps = new = renamed
    assert edge.programmer.live_maps() == {name: new.get(name, {}) for name in MAP_NAMES}
    # A key left out of `keys` is not looked at, even if it differs: the caller vouches for the rest.
    stale = {k: dict(v) for k, v in new.items()}
    stale["spectrum_ip.map"]["1.2.3.9"] = "9"
    assert edge.programmer.apply_diff(new, stale, {"spectrum_ip.map": ["1.2.3.5"]}) == 0
    assert "1.2.3.9" not in edge.programmer.live_maps()["spectrum_ip.map"]
