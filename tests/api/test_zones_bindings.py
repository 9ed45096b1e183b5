"""Zones, services and service bindings over real HTTP."""

from __future__ import annotations

import pytest

from prefixgate.domain.bindings import CDN, MAGIC_TRANSIT, SPECTRUM
from tests.api.helpers import NO_ID, assert_ok, assert_refused, create_prefix
from tests.api.spectrum_helpers import (
    app_body,
    app_url,
    apps_url,
    audit_entries,
    bindings_url,
    create_zone,
    stage,
    zone_name,
)
from tests.support import World, unique_v4_prefix, unique_v6_prefix


def test_zone_lifecycle(world: World) -> None:
    alice = world.client(world.alice)
    name = zone_name()
    zone = create_zone(alice, world.a, name.upper() + ".")
    assert zone["name"] == name and zone["status"] == "active" and zone["paused"] is False
    assert zone["account"]["id"] == world.a and zone["type"] == "full"
    url = f"/zones/{zone['id']}"
    assert assert_ok(alice.get(url)) == zone
    listed = alice.get("/zones", params={"name": name}).json()
    assert [z["id"] for z in listed["result"]] == [zone["id"]] and listed["result_info"]["total_count"] == 1
    assert [z["id"] for z in assert_ok(alice.get("/zones", params={"account.id": world.a}))] == [zone["id"]]
    assert assert_ok(alice.get("/zones", params={"account.id": world.b})) == []

    paused = assert_ok(alice.patch(url, json={"paused": True}))
    assert paused["paused"] is True and paused["modified_on"] >= zone["modified_on"]
    assert assert_ok(alice.get(url))["paused"] is True
    assert assert_ok(alice.patch(url, json={}))["paused"] is True
    assert_refused(alice.patch(url, json={"paused": "yes"}), 400, 1001)

    assert assert_ok(alice.delete(url)) == {"id": zone["id"]}
    assert_refused(alice.get(url), 404, 1003)
    assert_refused(alice.delete(url), 404, 1003)
    assert [e["action"]["type"] for e in assert_ok(alice.get(f"/accounts/{world.a}/audit_logs"))][:3] == [
        "zone.deleted",
        "zone.updated",
        "zone.updated",
    ]
    assert create_zone(alice, world.a, name)["id"] != zone["id"]  # the name is free again


def test_zone_names_are_unique_across_accounts(world: World) -> None:
    name = zone_name()
    create_zone(world.client(world.alice), world.a, name)
    for variant in (name, name.upper(), name + "."):
        r = world.client(world.bob).post("/zones", json={"name": variant, "account": {"id": world.b}})
        assert_refused(r, 409, 1701, contains=name)
    assert assert_ok(world.client(world.bob).get("/zones")) == []


@pytest.mark.parametrize(
    "name",
    [
        "",
        "com",
        "-a.example.com",
        "a-.example.com",
        "a..example.com",
        "a_b.example.com",
        "a b.example.com",
        " example.com",
        "exämple.com",
        "*.example.com",
        "a\n.example.com",
        "1.2.3.4",
        f"{'a' * 64}.com",
        ".".join(["abcdefghi"] * 26) + ".com",
    ],
)
def test_invalid_zone_names_are_refused(world: World, name: str) -> None:
    r = world.client(world.alice).post("/zones", json={"name": name, "account": {"id": world.a}})
    assert_refused(r, 400, 1700)  # INVALID_ZONE_NAME


def test_zones_of_other_accounts_do_not_exist_for_you(world: World) -> None:
    zone = create_zone(world.client(world.alice), world.a)
    bob = world.client(world.bob)
    url = f"/zones/{zone['id']}"
    assert_refused(bob.get(url), 404, 1003)
    assert_refused(bob.patch(url, json={"paused": True}), 404, 1003)
    assert_refused(bob.delete(url), 404, 1003)
    assert_refused(bob.get(apps_url(zone["id"])), 404, 1003)
    assert_refused(bob.get(f"/zones/{NO_ID}"), 404, 1003)
    assert_refused(bob.post("/zones", json={"name": zone_name(), "account": {"id": world.a}}), 403, 9109)
    assert zone["id"] not in [z["id"] for z in assert_ok(bob.get("/zones"))]


def test_deleting_a_zone_deletes_its_apps(world: World) -> None:
    s = stage(world)
    zone = s.zones["a"]
    apps = [s.create_app("a", s.ip(1), p) for p in ("tcp/22", "udp/53")]
    assert_ok(s.owner.delete(f"/zones/{zone['id']}"))
    for app in apps:
        assert_refused(s.owner.get(app_url(zone["id"], app["id"])), 404, 1003)
    assert s.resolve(s.ip(1), 22)["reason"] == "no_app"
    assert {e["resource"]["id"] for e in audit_entries(s.owner, world.a, "spectrum_app.deleted")} == {
        a["id"] for a in apps
    }
    other = create_zone(s.owner, world.a)
    assert_ok(s.owner.post(apps_url(other["id"]), json=app_body(other["name"], s.ip(1))))


def test_services_have_stable_ids(world: World) -> None:
    services = assert_ok(world.client(world.reader).get(f"/accounts/{world.a}/addressing/services"))
    assert services == [
        {"id": "d3f1a9c2b7e4f6a8c0d2e4f6a8b0c2d4", "name": "Magic Transit"},
        {"id": "e5b2c8d1f4a7b0c3d6e9f2a5b8c1d4e7", "name": "CDN"},
        {"id": "f7c3d9e2a5b8c1d4e7f0a3b6c9d2e5f8", "name": "Spectrum"},
    ]
    assert [s["id"] for s in services] == [MAGIC_TRANSIT.id, CDN.id, SPECTRUM.id]
    assert_refused(world.client(world.bob).get(f"/accounts/{world.a}/addressing/services"), 403, 9109)


def test_binding_lifecycle(world: World) -> None:
    alice = world.client(world.alice)
    prefix = create_prefix(alice, world.a, unique_v4_prefix())
    url = bindings_url(world.a, prefix["id"])
    assert assert_ok(alice.get(url)) == []
    body = {"cidr": prefix["cidr"], "service_id": SPECTRUM.id}
    made = assert_ok(alice.post(url, json=body), 201)
    assert made["cidr"] == prefix["cidr"] and made["service_id"] == SPECTRUM.id and made["service_name"] == "Spectrum"
    assert made["provisioning"] == {"state": "provisioning"}
    got = assert_ok(alice.get(f"{url}/{made['id']}"))
    assert got == {**made, "provisioning": {"state": "active"}}
    sub = prefix["cidr"].replace(".0/24", ".64/26")
    cdn = assert_ok(alice.post(url, json={"cidr": sub, "service_id": CDN.id}), 201)
    assert [b["id"] for b in assert_ok(alice.get(url))] == [made["id"], cdn["id"]]
    assert_refused(alice.post(url, json={"cidr": sub, "service_id": SPECTRUM.id}), 409, 1602, contains=cdn["id"])

    assert assert_ok(alice.delete(f"{url}/{cdn['id']}")) is None
    assert_refused(alice.get(f"{url}/{cdn['id']}"), 404, 1003)
    assert_refused(alice.delete(f"{url}/{cdn['id']}"), 404, 1003)
    assert [b["id"] for b in assert_ok(alice.get(url))] == [made["id"]]
    actions = [e["action"]["type"] for e in assert_ok(alice.get(f"/accounts/{world.a}/audit_logs"))]
    assert actions[:3] == ["binding.deleted", "binding.created", "binding.created"]


def test_binding_rules(world: World) -> None:
    alice = world.client(world.alice)
    prefix = create_prefix(alice, world.a, unique_v4_prefix())
    url = bindings_url(world.a, prefix["id"])
    part = prefix["cidr"].replace(".0/24", ".0/25")
    for body, status, code in (
        ({"cidr": part, "service_id": SPECTRUM.id}, 400, 1601),
        ({"cidr": unique_v4_prefix(), "service_id": SPECTRUM.id}, 400, 1600),
        ({"cidr": unique_v6_prefix(), "service_id": SPECTRUM.id}, 400, 1600),
        ({"cidr": prefix["cidr"], "service_id": NO_ID}, 400, 1603),
        ({"cidr": prefix["cidr"].replace(".0/24", ".1/24"), "service_id": SPECTRUM.id}, 400, 1101),
        ({"cidr": prefix["cidr"]}, 400, 1001),
    ):
        assert_refused(alice.post(url, json=body), status, code)
    assert assert_ok(alice.get(url)) == []
    assert_ok(alice.post(url, json={"cidr": prefix["cidr"], "service_id": CDN.id}), 201)
    assert_refused(alice.post(url, json={"cidr": prefix["cidr"], "service_id": SPECTRUM.id}), 409, 1602)
    assert_ok(alice.post(url, json={"cidr": part, "service_id": SPECTRUM.id}), 201)
    assert_refused(alice.post(bindings_url(world.a, NO_ID), json={"cidr": part, "service_id": CDN.id}), 404, 1003)


def test_only_the_owner_manages_bindings_even_for_delegated_addresses(world: World) -> None:
    s = stage(world)
    s.delegate(s.cidr(4, 32))
    whole = s.bindings()[0]
    bob = s.client("b")
    body = {"cidr": s.cidr(4, 32), "service_id": CDN.id}
    assert_refused(bob.get(s.bindings_url), 403, 9109)
    assert_refused(bob.post(s.bindings_url, json=body), 403, 9109)
    assert_refused(bob.get(f"{s.bindings_url}/{whole['id']}"), 403, 9109)
    assert_refused(bob.delete(f"{s.bindings_url}/{whole['id']}"), 403, 9109)
    assert_refused(bob.get(f"/accounts/{world.a}/addressing/services"), 403, 9109)
    own_path = bindings_url(world.b, s.pid)  # A's prefix under B's account does not exist
    assert_refused(bob.get(own_path), 404, 1003)
    assert_refused(bob.post(own_path, json=body), 404, 1003)
    assert_refused(bob.delete(f"{own_path}/{whole['id']}"), 404, 1003)
    assert s.bindings() == [whole]


def test_binding_roles(world: World) -> None:
    alice = world.client(world.alice)
    prefix = create_prefix(alice, world.a, unique_v4_prefix())
    url = bindings_url(world.a, prefix["id"])
    body = {"cidr": prefix["cidr"], "service_id": SPECTRUM.id}
    assert_refused(world.client(world.reader).post(url, json=body), 403, 9109)
    made = assert_ok(world.client(world.writer).post(url, json=body), 201)
    assert [b["id"] for b in assert_ok(world.client(world.reader).get(url))] == [made["id"]]
    assert_refused(world.client(world.reader).delete(f"{url}/{made['id']}"), 403, 9109)
    assert_ok(world.client(world.writer).delete(f"{url}/{made['id']}"))
