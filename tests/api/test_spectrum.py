"""Spectrum apps over real HTTP: the docs' example end to end, the edge-IP rules (11019), port
claims (1803), validation, full-replace PUT, delete and Cloudflare's list paging."""

from __future__ import annotations

from typing import Any

import pytest

from prefixgate.domain.bindings import CDN
from tests.api.helpers import assert_ok, assert_refused
from tests.api.spectrum_helpers import (
    NOT_AUTHORIZED,
    Stage,
    app_body,
    app_url,
    apps_url,
    assert_not_authorized,
    audit_entries,
    create_zone,
    errors_of,
    member_with_role,
    stage,
    zone_name,
)
from tests.support import World


def test_docs_example_end_to_end(world: World) -> None:
    """A owns the /24 (bound to Spectrum) and delegates .4/32 to B: B's app on .4 is served; every
    other claim is refused; revoking the delegation is refused until forced, then blocks B's app."""
    s = stage(world)
    ip4, ip5 = s.ip(4), s.ip(5)
    d = s.delegate(f"{ip4}/32")
    bapp = s.create_app("b", ip4, label="ssh")
    assert bapp["edge_ips"] == {"type": "static", "ips": [ip4]} and bapp["protocol"] == "tcp/22"
    assert bapp["dns"] == {"type": "ADDRESS", "name": f"ssh.{s.zones['b']['name']}"}
    served = s.resolve(ip4, 22)
    assert served["served"] is True and served["reason"] == "served" and served["kind"] == "spectrum_app"
    assert (served["id"], served["account_id"], served["zone_id"]) == (bapp["id"], world.b, s.zones["b"]["id"])
    assert served["origin"] == "tcp://192.0.2.1:22"

    # B was delegated .4 only; C was delegated nothing.
    r = s.post_app("b", ip5)
    assert errors_of(r)[0] == {"code": 11019, "message": NOT_AUTHORIZED}
    assert_not_authorized(r, ip5, "ip_not_usable")
    assert_not_authorized(s.post_app("c", ip4), ip4, "ip_not_usable")

    # A owns .4, but B's app holds tcp/22 there; another port is free.
    assert_refused(s.post_app("a", ip4), 409, 1803, contains=bapp["id"])
    aapp = s.create_app("a", ip4, "tcp/23")
    assert aapp["protocol"] == "tcp/23"

    # Revoking .4 from B would strand B's app.
    del_url = f"{s.delegations_url}/{d['id']}"
    r = s.owner.delete(del_url)
    assert_refused(r, 409, 1900)
    listed = errors_of(r)[1]
    assert listed["code"] == 1900
    for part in (bapp["id"], s.zones["b"]["id"], world.b, ip4):
        assert part in listed["message"], listed
    impact = assert_ok(s.owner.get(f"{del_url}/impact"))
    assert impact["delegation_id"] == d["id"]
    [affected] = impact["affected_apps"]
    assert (affected["id"], affected["zone_id"], affected["account_id"]) == (bapp["id"], s.zones["b"]["id"], world.b)
    assert affected["ips"] == [ip4] and d["id"] in affected["reason"]
    assert s.get_app("b", bapp["id"])["status"] == "active"
    assert [x["id"] for x in assert_ok(s.owner.get(s.delegations_url))] == [d["id"]]
    assert s.resolve(ip4, 22)["served"] is True

    assert assert_ok(s.owner.delete(del_url, params={"force": "true"})) == {"id": d["id"]}
    blocked = s.get_app("b", bapp["id"])
    assert blocked["status"] == "blocked" and d["id"] in blocked["blocked_reason"]
    r4 = s.resolve(ip4, 22)
    assert r4["served"] is False and r4["reason"] == "app_blocked"
    assert (r4["id"], r4["account_id"], r4["zone_id"]) == (bapp["id"], world.b, s.zones["b"]["id"])
    assert s.resolve(ip4, 23)["id"] == aapp["id"]  # A's own app is untouched
    for who in ("a", "b"):
        [entry] = audit_entries(s.client(who), s.account(who), "spectrum_app.blocked")
        assert entry["resource"] == {"id": bapp["id"], "type": "spectrum_app"}
        assert entry["metadata"]["ips"] == [ip4] and entry["metadata"]["zone_id"] == s.zones["b"]["id"]


def test_address_bound_to_cdn_by_a_more_specific_binding_is_wrong_service(world: World) -> None:
    s = stage(world)
    assert_ok(s.bind(s.cidr(8, 29), CDN), 201)
    assert_not_authorized(s.post_app("a", s.ip(9)), s.ip(9), "wrong_service")
    assert "CDN" in errors_of(s.post_app("a", s.ip(9)))[1]["message"]
    s.create_app("a", s.ip(16))  # outside the /29: still Spectrum


def test_unbound_prefix_is_refused(world: World) -> None:
    s = stage(world, bind=False)
    r = s.post_app("a", s.ip(1))
    assert_not_authorized(r, s.ip(1), "wrong_service")
    assert "not bound to any service" in errors_of(r)[1]["message"]


def test_pending_prefix_is_refused_even_when_bound(world: World) -> None:
    s = stage(world, approve=False)
    r = s.post_app("a", s.ip(1))
    assert_not_authorized(r, s.ip(1), "prefix_not_approved")
    assert "pending approval" in errors_of(r)[1]["message"]


def test_every_refused_ip_gets_its_own_error(world: World) -> None:
    s = stage(world)
    s.delegate(s.cidr(4, 32))
    r = s.post_app("b", [s.ip(4), s.ip(5), s.ip(6)])
    assert r.status_code == 400 and errors_of(r)[0]["code"] == 11019
    named = [e["message"].split(":")[0] for e in errors_of(r)[1:]]
    assert named == [s.ip(5), s.ip(6)]
    assert assert_ok(s.client("b").get(apps_url(s.zones["b"]["id"]))) == []


def _post(s: Stage, **changes: Any) -> Any:
    body = app_body(s.zones["a"]["name"], s.ip(1))
    body.update(changes)
    return s.owner.post(apps_url(s.zones["a"]["id"]), json=body)


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        pytest.param({"dns": {"type": "CNAME", "name": "app"}}, 1802, id="static-needs-ADDRESS"),
        pytest.param({"edge_ips": {"type": "dynamic", "connectivity": "all"}}, 1802, id="dynamic-needs-CNAME"),
        pytest.param({"edge_ips": {"type": "static", "ips": []}}, 1802, id="no-ips"),
        pytest.param({"dns": {"type": "ADDRESS", "name": "app.elsewhere.example"}}, 1001, id="dns-outside-zone"),
        pytest.param({"protocol": "tcp/0"}, 1800, id="port-0"),
        pytest.param({"protocol": "icmp/1"}, 1800, id="icmp"),
        pytest.param({"origin_direct": ["udp://192.0.2.1:22"]}, 1801, id="origin-transport"),
        pytest.param({"origin_direct": None}, 1801, id="no-origin"),
        pytest.param({"protocol": "tcp/22\n"}, {1001, 1800}, id="protocol-newline"),
        pytest.param({"origin_direct": ["tcp://192.0.2.1:22\n"]}, {1001, 1801}, id="origin-newline"),
        pytest.param(
            {"origin_direct": None, "origin_dns": {"name": "o.example.net"}, "origin_port": "1-2"},
            1801,
            id="port-sizes",
        ),
        pytest.param(
            {"origin_direct": None, "origin_dns": {"name": "o.example.net"}, "origin_port": "x"}, 1801, id="port-text"
        ),
        pytest.param(
            {"protocol": "udp/53", "origin_direct": ["udp://192.0.2.1:53"], "ip_firewall": True},
            1001,
            id="ip-firewall-udp",
        ),
    ],
)
def test_invalid_apps_are_refused_and_create_nothing(
    world: World, changes: dict[str, Any], code: int | set[int]
) -> None:
    s = stage(world)
    if changes.get("dns", {}).get("name") == "app":  # a name in the zone, made per test (params are shared)
        changes = {**changes, "dns": {"type": "CNAME", "name": f"app.{s.zones['a']['name']}"}}
    assert_refused(_post(s, **changes), 400, code)
    assert assert_ok(s.owner.get(apps_url(s.zones["a"]["id"]))) == []


def test_dns_name_may_be_the_apex_or_a_wildcard_in_the_zone(world: World) -> None:
    s = stage(world)
    zone = s.zones["a"]["name"]
    apex = assert_ok(_post(s, dns={"type": "ADDRESS", "name": zone.upper() + "."}))
    assert apex["dns"]["name"] == zone
    wild = assert_ok(_post(s, dns={"type": "ADDRESS", "name": f"*.{zone}"}, protocol="tcp/23"))
    assert wild["dns"]["name"] == f"*.{zone}"
    assert_refused(_post(s, dns={"type": "ADDRESS", "name": f"x{zone}"}, protocol="tcp/24"), 400, 1001)


def test_dynamic_cname_app_needs_no_static_ips(world: World) -> None:
    s = stage(world)
    app = assert_ok(
        _post(
            s,
            dns={"type": "CNAME", "name": f"dyn.{s.zones['a']['name']}"},
            edge_ips={"type": "dynamic", "connectivity": "ipv4"},
        )
    )
    assert app["edge_ips"] == {"type": "dynamic", "connectivity": "ipv4"}
    # ips belong to static edge IPs only: a dynamic app listing some is refused, not silently trimmed
    with_ips = _post(
        s,
        dns={"type": "CNAME", "name": f"dyn2.{s.zones['a']['name']}"},
        edge_ips={"type": "dynamic", "connectivity": "all", "ips": [s.ip(1)]},
    )
    assert_refused(with_ips, 400, 1802)


def test_overlapping_port_ranges_collide_and_transports_do_not(world: World) -> None:
    s = stage(world)
    ip = s.ip(10)
    ranged = s.create_app("a", ip, "tcp/1000-2000")
    for clash in ("tcp/1500", "tcp/2000", "tcp/1000", "tcp/900-1000", "tcp/1-65535"):
        assert_refused(s.post_app("a", ip, clash), 409, 1803, contains=ranged["id"])
    for free in ("tcp/2001", "tcp/999"):
        s.create_app("a", ip, free)
    udp = s.create_app("a", ip, "udp/1000-2000")
    s.create_app("a", s.ip(11), "tcp/1500")  # another address
    hit = s.resolve(ip, 1500)
    assert hit["served"] is True and hit["id"] == ranged["id"]
    assert s.resolve(ip, 1500, "udp")["id"] == udp["id"]


def test_tcp_and_udp_on_the_same_port_do_not_conflict(world: World) -> None:
    s = stage(world)
    tcp = s.create_app("a", s.ip(53), "tcp/53")
    udp = s.create_app("a", s.ip(53), "udp/53")
    assert s.resolve(s.ip(53), 53, "tcp")["id"] == tcp["id"]
    assert s.resolve(s.ip(53), 53, "udp")["id"] == udp["id"]


def test_put_replaces_the_app_whole_and_revalidates(world: World) -> None:
    s = stage(world)
    zone = s.zones["a"]
    body = app_body(zone["name"], s.ip(20))
    del body["origin_direct"]
    body |= {"origin_dns": {"name": "origin.example.net"}, "origin_port": 22}
    first = assert_ok(s.owner.post(apps_url(zone["id"]), json=body))
    assert first["origin_dns"]["name"] == "origin.example.net" and first["origin_port"] == 22
    url = app_url(zone["id"], first["id"])

    new = app_body(zone["name"], [s.ip(21), s.ip(22)], "udp/53", label="dns")
    put = assert_ok(s.owner.put(url, json=new))
    got = s.get_app("a", first["id"])
    assert put == got
    assert got["protocol"] == "udp/53" and got["edge_ips"]["ips"] == [s.ip(21), s.ip(22)]
    assert got["origin_direct"] == ["udp://192.0.2.1:22"] and got["origin_dns"] is None and got["origin_port"] is None
    assert got["created_on"] == first["created_on"] and got["dns"]["name"] == f"dns.{zone['name']}"
    assert s.resolve(s.ip(20), 22)["reason"] == "no_app"
    other = s.create_app("a", s.ip(20))  # tcp/22 on .20 was released

    assert_refused(s.owner.put(url, json=app_body(zone["name"], s.ip(20))), 409, 1803, contains=other["id"])
    outside = "192.0.2.10"  # nobody's address
    assert_not_authorized(s.owner.put(url, json=app_body(zone["name"], outside)), outside, "ip_not_usable")
    assert_refused(s.owner.put(url, json={**new, "protocol": "udp/0"}), 400, 1800)
    assert s.get_app("a", first["id"]) == got
    assert_refused(s.owner.put(app_url(zone["id"], "0" * 32), json=new), 404, 1003)


def test_delete_returns_the_id_and_releases_the_claim(world: World) -> None:
    s = stage(world)
    app = s.create_app("a", s.ip(30))
    url = app_url(s.zones["a"]["id"], app["id"])
    assert assert_ok(s.owner.delete(url)) == {"id": app["id"]}
    assert_refused(s.owner.get(url), 404, 1003)
    assert_refused(s.owner.delete(url), 404, 1003)
    assert s.resolve(s.ip(30), 22)["reason"] == "no_app"
    s.create_app("a", s.ip(30))
    [entry] = audit_entries(s.owner, world.a, "spectrum_app.deleted")
    assert entry["resource"]["id"] == app["id"]


def test_an_app_is_reachable_only_through_its_own_zone(world: World) -> None:
    s = stage(world)
    app = s.create_app("a", s.ip(2))
    second = create_zone(s.owner, world.a)
    body = app_body(second["name"], s.ip(3))
    for client, zone in ((s.owner, second["id"]), (s.client("b"), s.zones["b"]["id"])):
        url = app_url(zone, app["id"])
        assert_refused(client.get(url), 404, 1003)
        assert_refused(client.put(url, json=body), 404, 1003)
        assert_refused(client.delete(url), 404, 1003)
    assert_refused(s.client("b").get(app_url(s.zones["a"]["id"], app["id"])), 404, 1003)
    assert s.get_app("a", app["id"]) == app


def test_list_pages_exactly_like_cloudflare(world: World) -> None:
    s = stage(world)
    url = apps_url(s.zones["a"]["id"])
    made = [s.create_app("a", s.ip(40), f"tcp/{1000 + i}", label=f"p{i}") for i in (3, 1, 4, 0, 2)]
    seen: list[str] = []
    for page, count in ((1, 2), (2, 2), (3, 1)):
        body = s.owner.get(url, params={"page": page, "per_page": 2}).json()
        info = {"page": page, "per_page": 2, "count": count, "total_count": 5, "total_pages": 3}
        assert body["result_info"] == info
        seen += [a["id"] for a in body["result"]]
    assert seen == [a["id"] for a in sorted(made, key=lambda a: a["dns"]["name"])]
    past = s.owner.get(url, params={"page": 4, "per_page": 2}).json()
    assert past["result"] == [] and past["result_info"]["count"] == 0 and past["result_info"]["total_count"] == 5

    desc = assert_ok(s.owner.get(url, params={"order": "protocol", "direction": "desc"}))
    assert [a["protocol"] for a in desc] == [f"tcp/{1004 - i}" for i in range(5)]
    by_id = assert_ok(s.owner.get(url, params={"order": "app_id", "per_page": 100}))
    assert [a["id"] for a in by_id] == sorted(a["id"] for a in made)
    assert s.owner.get(url).json()["result_info"]["per_page"] == 20
    for bad in ({"per_page": 101}, {"per_page": 0}, {"page": 0}):
        assert_refused(s.owner.get(url, params=bad), 400, {1001, 1005})  # 1005: invalid pagination
    for bad in ({"order": "name"}, {"direction": "up"}):
        assert_refused(s.owner.get(url, params=bad), 400, 1001)


def test_spectrum_read_member_reads_apps_but_cannot_change_them(world: World) -> None:
    s = stage(world)
    zone = s.zones["a"]
    app = s.create_app("a", s.ip(50))
    viewer = world.client(member_with_role(world, world.a, "Spectrum: Read"))
    url = app_url(zone["id"], app["id"])
    assert [a["id"] for a in assert_ok(viewer.get(apps_url(zone["id"])))] == [app["id"]]
    assert assert_ok(viewer.get(url)) == app
    assert assert_ok(viewer.get(f"/zones/{zone['id']}"))["name"] == zone["name"]
    body = app_body(zone["name"], s.ip(51))
    assert_refused(viewer.post(apps_url(zone["id"]), json=body), 403, 9109)
    assert_refused(viewer.put(url, json=body), 403, 9109)
    assert_refused(viewer.delete(url), 403, 9109)
    assert_refused(viewer.post("/zones", json={"name": zone_name(), "account": {"id": world.a}}), 403, 9109)
    assert assert_ok(s.owner.get(apps_url(zone["id"]))) == [app]


def test_spectrum_write_and_zone_write_split_the_work(world: World) -> None:
    s = stage(world)
    zone = s.zones["a"]
    spectrum = world.client(member_with_role(world, world.a, "Spectrum: Write"))
    zones = world.client(member_with_role(world, world.a, "Zone: Write"))
    made = assert_ok(spectrum.post(apps_url(zone["id"]), json=app_body(zone["name"], s.ip(60))))
    assert_refused(spectrum.post("/zones", json={"name": zone_name(), "account": {"id": world.a}}), 403, 9109)
    assert_refused(zones.post(apps_url(zone["id"]), json=app_body(zone["name"], s.ip(61))), 403, 9109)
    assert assert_ok(zones.get(app_url(zone["id"], made["id"])))["id"] == made["id"]
    assert create_zone(zones, world.a)["account"]["id"] == world.a


def test_ip_prefixes_reader_cannot_create_zones_or_read_apps(world: World) -> None:
    s = stage(world)
    reader = world.client(world.reader)
    assert_refused(reader.post("/zones", json={"name": zone_name(), "account": {"id": world.a}}), 403, 9109)
    assert assert_ok(reader.get("/zones")) == []
    assert_refused(reader.get(apps_url(s.zones["a"]["id"])), 403, 9109)
    assert_refused(
        world.client(world.writer).post("/zones", json={"name": zone_name(), "account": {"id": world.a}}), 403
    )
