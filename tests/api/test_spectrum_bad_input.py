"""The bad-input matrix for zones, bindings, Spectrum apps and resolve: every case is a clear 4xx in
the Cloudflare envelope, and nothing is stored (apps, bindings, zones and the audit log are unchanged)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from prefixgate.domain.bindings import CDN
from tests.api.helpers import assert_refused
from tests.api.spectrum_helpers import Stage, app_body, app_url, apps_url, stage
from tests.support import Server, make_world


@pytest.fixture(scope="module")
def scene(server: Server) -> Iterator[Stage]:
    """One staged world for the whole matrix, with one app at .1 tcp/22 (each case checks it stored nothing)."""
    world = make_world(server)
    s = stage(world)
    s.create_app("a", s.ip(1), "tcp/22")
    yield s
    world.close()


def the_app(s: Stage) -> str:
    apps = s.owner.get(apps_url(s.zones["a"]["id"])).json()["result"]
    return str(apps[0]["id"])


def snapshot(s: Stage) -> tuple[Any, ...]:
    owner = s.owner
    zone = s.zones["a"]["id"]
    return (
        owner.get(apps_url(zone), params={"per_page": 100}).json()["result"],
        owner.get(s.bindings_url).json()["result"],
        owner.get("/zones", params={"per_page": 50}).json()["result"],
        owner.get(f"/accounts/{s.world.a}/audit_logs", params={"per_page": 5}).json()["result"],
    )


def body(s: Stage, **changes: Any) -> dict[str, Any]:
    out = app_body(s.zones["a"]["name"], s.ip(2), "tcp/80", label="bad")
    out.update(changes)
    return out


Case = Callable[[Stage], httpx.Response]


def post_app(**changes: Any) -> Case:
    return lambda s: s.owner.post(apps_url(s.zones["a"]["id"]), json=body(s, **changes))


def put_app(**changes: Any) -> Case:
    return lambda s: s.owner.put(app_url(s.zones["a"]["id"], the_app(s)), json=body(s, **changes))


def raw(method: str, path: Callable[[Stage], str], content: bytes) -> Case:
    return lambda s: s.owner.request(method, path(s), content=content, headers={"Content-Type": "application/json"})


def static(*ips: Any) -> dict[str, Any]:
    return {"type": "static", "ips": list(ips)}


CASES: list[Any] = [
    # protocol
    *(
        pytest.param(post_app(protocol=p), 400, 1800, id=f"protocol-{p}")
        for p in ("tcp/0", "tcp/70000", "tcp/5-1", "icmp/1", "tcp", "tcp/", "tcp/22-", "sctp/22", "tcp/022")
    ),
    pytest.param(post_app(protocol=22), 400, 1001, id="protocol-int"),
    # edge IPs
    pytest.param(post_app(edge_ips=static("not-an-ip")), 400, 1500, id="edge-ip-garbage"),
    pytest.param(post_app(edge_ips=static("1.2.3.4/32")), 400, {1100, 1500}, id="edge-ip-cidr"),
    pytest.param(post_app(edge_ips=static(7)), 400, 1001, id="edge-ip-int"),
    pytest.param(lambda s: post_app(edge_ips=static(s.ip(2), s.ip(2)))(s), 400, 1802, id="edge-ip-duplicate"),
    pytest.param(post_app(edge_ips=static()), 400, 1802, id="edge-ip-empty"),
    pytest.param(post_app(edge_ips={"type": "static"}), 400, 1802, id="edge-ip-missing"),
    pytest.param(post_app(edge_ips={"type": "anycast", "ips": []}), 400, 1001, id="edge-ip-type"),
    pytest.param(post_app(edge_ips=static("::ffff:1.2.3.4")), 400, 1100, id="edge-ip-mapped"),
    pytest.param(post_app(edge_ips=static("192.0.2.1")), 400, 11019, id="edge-ip-not-ours"),
    # origin
    pytest.param(post_app(origin_direct=["192.0.2.1:22"]), 400, 1801, id="origin-no-scheme"),
    pytest.param(post_app(origin_direct=[]), 400, 1801, id="origin-empty"),
    pytest.param(post_app(origin_direct=None, origin_dns={"name": "o.example.net"}), 400, 1801, id="origin-no-port"),
    pytest.param(
        post_app(origin_direct=None, origin_dns={"name": "o.example.net"}, origin_port=70000),
        400,
        1801,
        id="origin-port-big",
    ),
    pytest.param(post_app(origin_dns={"name": "o.example.net"}, origin_port=80), 400, 1801, id="origin-both"),
    # other fields and shapes
    pytest.param(post_app(dns={"type": "A", "name": "x.example.com"}), 400, 1001, id="dns-type"),
    pytest.param(post_app(dns="x"), 400, 1001, id="dns-string"),
    pytest.param(post_app(tls="maybe"), 400, 1001, id="tls"),
    pytest.param(post_app(proxy_protocol=True), 400, 1001, id="proxy-protocol-bool"),
    pytest.param(post_app(traffic_type="quic"), 400, 1001, id="traffic-type"),
    pytest.param(raw("POST", lambda s: apps_url(s.zones["a"]["id"]), b"{"), 400, 1000, id="app-not-json"),
    pytest.param(raw("POST", lambda s: apps_url(s.zones["a"]["id"]), b"[]"), 400, {1000, 1001}, id="app-array"),
    pytest.param(put_app(protocol="tcp/5-1"), 400, 1800, id="put-bad-protocol"),
    pytest.param(put_app(edge_ips=static("not-an-ip")), 400, 1500, id="put-bad-ip"),
    pytest.param(lambda s: s.owner.get(app_url(s.zones["a"]["id"], "0" * 32)), 404, 1003, id="app-unknown"),
    pytest.param(lambda s: s.owner.get(apps_url("0" * 32)), 404, 1003, id="zone-unknown"),
    pytest.param(
        lambda s: s.owner.get(apps_url(s.zones["a"]["id"]), params={"per_page": 101}),
        400,
        {1001, 1005},
        id="per-page-101",
    ),
    pytest.param(
        lambda s: s.owner.get(apps_url(s.zones["a"]["id"]), params={"order": "ip"}), 400, 1001, id="order-unknown"
    ),
    # bindings
    pytest.param(lambda s: s.bind(s.cidr(0, 25).replace(".0/", ".1/"), CDN), 400, 1101, id="binding-noncanonical"),
    pytest.param(lambda s: s.bind("192.0.2.0/25", CDN), 400, 1600, id="binding-outside"),
    pytest.param(
        lambda s: s.owner.post(s.bindings_url, json={"cidr": s.cidr(0, 25), "service_id": "f" * 32}),
        400,
        1603,
        id="binding-service",
    ),
    pytest.param(lambda s: s.bind(s.prefix["cidr"], CDN), 409, 1602, id="binding-duplicate"),
    pytest.param(
        lambda s: s.owner.post(s.bindings_url, json={"cidr": 5, "service_id": CDN.id}), 400, 1001, id="binding-cidr-int"
    ),
    # zones
    pytest.param(
        lambda s: s.owner.post("/zones", json={"name": "bad_name.com", "account": {"id": s.world.a}}),
        400,
        1700,
        id="zone-name",
    ),
    pytest.param(
        lambda s: s.owner.post("/zones", json={"name": s.zones["b"]["name"], "account": {"id": s.world.a}}),
        409,
        1701,
        id="zone-taken",
    ),
    pytest.param(lambda s: s.owner.post("/zones", json={"name": "ok.example.com"}), 400, 1001, id="zone-no-account"),
    pytest.param(
        lambda s: s.owner.patch(f"/zones/{s.zones['a']['id']}", json={"paused": "yes"}),
        400,
        1001,
        id="zone-paused-string",
    ),
    # resolve
    pytest.param(
        lambda s: s.world.client(s.world.operator).get("/edge/resolve", params={"ip": "x", "port": 22}),
        400,
        1500,
        id="resolve-ip",
    ),
    pytest.param(
        lambda s: s.world.client(s.world.operator).get("/edge/resolve", params={"ip": s.ip(1), "port": 0}),
        400,
        1001,
        id="resolve-port-0",
    ),
    pytest.param(
        lambda s: s.world.client(s.world.operator).get(
            "/edge/resolve", params={"ip": s.ip(1), "port": 22, "protocol": "icmp"}
        ),
        400,
        1001,
        id="resolve-icmp",
    ),
]


@pytest.mark.parametrize(("case", "status", "code"), CASES)
def test_refused_cleanly_and_nothing_stored(scene: Stage, case: Case, status: int, code: int | set[int]) -> None:
    before = snapshot(scene)
    assert_refused(case(scene), status, code)
    assert snapshot(scene) == before
