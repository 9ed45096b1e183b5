"""Address maps over real HTTP: the map itself, its IPs and its members, on both engines."""

from __future__ import annotations

import ipaddress
import re

from prefixgate.domain.address_maps import MapMembership
from prefixgate.service.context import utcnow
from tests.api.helpers import assert_ok, assert_refused
from tests.api.map_helpers import (
    account_member_url,
    create_map,
    get_map,
    ip_url,
    ips_of,
    managed_map,
    map_url,
    maps_url,
    members_of,
    zone_member_url,
)
from tests.api.spectrum_helpers import audit_entries, stage
from tests.support import World, unique_v4_prefix

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


def test_create_get_list_edit_and_delete_once_disabled(world: World) -> None:
    alice, a = world.client(world.alice), world.a
    m = create_map(alice, a)
    assert re.fullmatch(r"[0-9a-f]{32}", m["id"])
    assert TIMESTAMP.match(m["created_at"]) and m["modified_at"] == m["created_at"]
    assert {k: v for k, v in m.items() if k not in ("id", "created_at", "modified_at")} == {
        "description": None,
        "default_sni": None,
        "enabled": False,  # Cloudflare's default: a map answers nothing until it is enabled
        "can_delete": True,
        "can_modify_ips": True,
        "ips": [],
        "memberships": [],
    }
    assert get_map(alice, a, m["id"]) == m
    listed = alice.get(maps_url(a))
    assert assert_ok(listed) == [{k: v for k, v in m.items() if k not in ("ips", "memberships")}]
    assert listed.json()["result_info"]["total_count"] == 1

    edited = assert_ok(alice.patch(map_url(a, m["id"]), json={"description": "My Ecommerce zones", "enabled": True}))
    assert "ips" not in edited and (edited["description"], edited["enabled"]) == ("My Ecommerce zones", True)
    assert edited["modified_at"] > m["modified_at"] and edited["created_at"] == m["created_at"]
    kept = assert_ok(alice.patch(map_url(a, m["id"]), json={"enabled": None}))  # null leaves it as it is
    assert (kept["description"], kept["enabled"]) == ("My Ecommerce zones", True)

    assert_refused(alice.delete(map_url(a, m["id"])), 409, 2103, contains="disable it")
    assert get_map(alice, a, m["id"])["enabled"] is True
    cleared = assert_ok(alice.patch(map_url(a, m["id"]), json={"enabled": False, "description": None}))
    assert (cleared["description"], cleared["enabled"]) == (None, False)
    assert assert_ok(alice.delete(map_url(a, m["id"]))) is None
    assert_refused(alice.get(map_url(a, m["id"])), 404, 1003)
    assert_refused(alice.delete(map_url(a, m["id"])), 404, 1003)
    assert assert_ok(alice.get(maps_url(a))) == []
    actions = [e["action"]["type"] for e in audit_entries_all(world)]
    assert actions.count("address_map.created") == 1 and actions.count("address_map.updated") == 3
    assert actions.count("address_map.deleted") == 1


def audit_entries_all(world: World) -> list[dict[str, object]]:
    alice = world.client(world.alice)
    log = assert_ok(alice.get(f"/accounts/{world.a}/audit_logs", params={"per_page": 1000}))
    return [e for e in log if e["resource"]["type"] == "address_map"]


def test_create_with_ips_and_members(world: World) -> None:
    s = stage(world, bind=False)  # bindings play no part: a map IP needs access to the address only
    alice, a, zone = s.owner, world.a, s.zones["a"]["id"]
    m = create_map(
        alice,
        a,
        description="shop",
        enabled=True,
        ips=[s.ip(9), s.ip(1), s.ip(9)],
        memberships=[
            {"kind": "zone", "identifier": zone},
            {"kind": "account", "identifier": a},
            {"kind": "zone", "identifier": zone},
        ],
    )
    assert (m["description"], m["enabled"]) == ("shop", True)
    assert [i["ip"] for i in m["ips"]] == [s.ip(1), s.ip(9)]
    assert all(i["created_at"] == m["created_at"] for i in m["ips"])
    assert [(x["kind"], x["identifier"], x["can_delete"]) for x in m["memberships"]] == [
        ("account", a, True),
        ("zone", zone, True),
    ]
    assert get_map(alice, a, m["id"]) == m
    [created] = audit_entries(alice, a, "address_map.created")
    assert created["newValueJson"] == m and created["resource"]["id"] == m["id"]


def test_refused_creates_store_nothing(world: World) -> None:
    s = stage(world, bind=False)
    alice, a = s.owner, world.a
    nobodys = str(ipaddress.ip_network(unique_v4_prefix())[1])
    cases = [
        ({"ips": [s.ip(1), "1.2.3"]}, 400, 1500, "ips[1] '1.2.3' is not a valid IP address"),
        ({"ips": ["2A0F::1"]}, 400, 1101, "write it as 2a0f::1"),
        ({"ips": [nobodys]}, 400, 2101, f"{nobodys} cannot be put on address map"),
        ({"ips": [s.ip(1), {"ip": s.ip(2)}]}, 400, 1001, None),
        ({"memberships": [{"kind": "account", "identifier": world.b}]}, 400, 2106, "only the map's own account"),
        ({"memberships": [{"kind": "zone", "identifier": s.zones["b"]["id"]}]}, 404, 1003, "not found"),
        ({"memberships": [{"kind": "user", "identifier": a}]}, 400, 1001, "kind"),
        ({"description": "x" * 1001}, 400, 1001, "description"),
        ({"enabled": "yes"}, 400, 1001, "enabled"),
    ]
    for body, status, code, text in cases:
        assert_refused(alice.post(maps_url(a), json=body), status, code, text)
    assert assert_ok(alice.get(maps_url(a))) == [] and audit_entries_all(world) == []


def test_every_refused_ip_is_named(world: World) -> None:
    s = stage(world, bind=False)
    pending = stage(world, approve=False, bind=False)
    nobodys = str(ipaddress.ip_network(unique_v4_prefix())[7])
    r = s.owner.post(maps_url(world.a), json={"ips": [s.ip(1), nobodys, pending.ip(3)]})
    assert_refused(r, 400, 2101)
    errors = r.json()["errors"]
    assert [e["code"] for e in errors] == [2101, 2102]
    assert nobodys in errors[0]["message"] and "neither owns" in errors[0]["message"]
    assert pending.ip(3) in errors[1]["message"] and "pending approval" in errors[1]["message"]


def test_ips_are_put_and_removed(world: World) -> None:
    s, s6 = stage(world, bind=False), stage(world, bind=False, v6=True)
    alice, a = s.owner, world.a
    m = create_map(alice, a)["id"]
    for ip in (s.ip(4), s6.ip(1), s.ip(4)):  # a second PUT changes nothing
        assert assert_ok(alice.put(ip_url(a, m, ip))) is None
    assert ips_of(alice, a, m) == [s.ip(4), s6.ip(1)]
    assert len(audit_entries(alice, a, "address_map.ip_added")) == 2
    assert [e["metadata"] for e in audit_entries(alice, a, "address_map.ip_added")] == [
        {"ips": [s6.ip(1)]},
        {"ips": [s.ip(4)]},
    ]

    assert assert_ok(alice.delete(ip_url(a, m, s6.ip(1)))) is None
    assert_refused(alice.delete(ip_url(a, m, s6.ip(1))), 404, 1003, contains=f"{s6.ip(1)} is not on address map")
    assert_refused(alice.delete(ip_url(a, m, s.ip(5))), 404, 1003)
    assert ips_of(alice, a, m) == [s.ip(4)]
    [removed] = audit_entries(alice, a, "address_map.ip_removed")
    assert removed["metadata"] == {"ips": [s6.ip(1)]}


def test_ips_the_account_may_not_use_are_refused(world: World) -> None:
    s = stage(world, bind=False)
    pending = stage(world, approve=False, bind=False)
    alice, a = s.owner, world.a
    m = create_map(alice, a)["id"]
    nobodys = str(ipaddress.ip_network(unique_v4_prefix())[1])
    cases = [
        (nobodys, 2101, f"account {a} neither owns {nobodys} nor was delegated it"),
        (pending.ip(1), 2102, "pending approval"),
        ("not-an-ip", 1500, "is not a valid IP address"),
        ("0" + s.ip(1), 1500, None),
        ("fe80::1%25eth0", 1100, "zone id"),
        ("::ffff:" + s.ip(1), 1100, "IPv4-mapped"),
        ("2a0f:0:0::1", 1101, "not canonical"),
    ]
    for ip, code, text in cases:
        assert_refused(alice.put(ip_url(a, m, ip)), 400, code, text)
        assert_refused(alice.delete(ip_url(a, m, ip)), {400, 404})
    assert_refused(alice.put(ip_url(a, m, s.cidr(0, 30).replace("/", "%2F"))), 404, 7000)  # a CIDR routes nowhere
    assert ips_of(alice, a, m) == [] and audit_entries(alice, a, "address_map.ip_added") == []


def test_members_are_added_once_and_removed(world: World) -> None:
    s = stage(world, bind=False)
    alice, a, zone = s.owner, world.a, s.zones["a"]["id"]
    m = create_map(alice, a)["id"]
    for url in (account_member_url(a, m, a), zone_member_url(a, m, zone)) * 2:
        assert assert_ok(alice.put(url)) is None
    assert members_of(alice, a, m) == [("account", a), ("zone", zone)]
    assert len(audit_entries(alice, a, "address_map.member_added")) == 2

    assert_refused(alice.put(account_member_url(a, m, world.b)), 400, 2106)
    assert_refused(alice.put(account_member_url(a, m, "0" * 32)), 400, 2106)
    foreign = alice.put(zone_member_url(a, m, s.zones["b"]["id"]))
    missing = alice.put(zone_member_url(a, m, "0" * 32))
    assert_refused(foreign, 404, 1003) and assert_refused(missing, 404, 1003)
    assert (
        foreign.json()["errors"][0]["message"].replace(s.zones["b"]["id"], "0" * 32)
        == (missing.json()["errors"][0]["message"])
    )

    assert assert_ok(alice.delete(zone_member_url(a, m, zone))) is None
    assert_refused(alice.delete(zone_member_url(a, m, zone)), 404, 1003)
    assert assert_ok(alice.delete(account_member_url(a, m, a))) is None
    assert_refused(alice.delete(account_member_url(a, m, a)), 404, 1003)
    assert_refused(alice.delete(account_member_url(a, m, world.b)), 404, 1003)
    assert members_of(alice, a, m) == []
    assert len(audit_entries(alice, a, "address_map.member_removed")) == 2


def test_a_deleted_zone_leaves_its_maps(world: World) -> None:
    s = stage(world, bind=False)
    alice, a, zone = s.owner, world.a, s.zones["a"]
    m = create_map(alice, a, memberships=[{"kind": "zone", "identifier": zone["id"]}])["id"]
    assert_ok(alice.delete(f"/zones/{zone['id']}"))
    assert members_of(alice, a, m) == []
    [removed] = audit_entries(alice, a, "address_map.member_removed")
    assert removed["resource"]["id"] == m and zone["name"] in str(removed["metadata"]["reason"])


def test_default_sni_is_a_name_in_one_of_the_accounts_zones(world: World) -> None:
    s = stage(world, bind=False)
    alice, a = s.owner, world.a
    mine, theirs = s.zones["a"]["name"], s.zones["b"]["name"]
    m = create_map(alice, a)["id"]
    for given, stored in ((f"*.{mine}", f"*.{mine}"), (f"WWW.{mine}.", f"www.{mine}"), (mine, mine)):
        assert assert_ok(alice.patch(map_url(a, m), json={"default_sni": given}))["default_sni"] == stored
    for bad in (theirs, f"www.{theirs}", "example.com", "not a name", "", f"x.*.{mine}"):
        assert_refused(alice.patch(map_url(a, m), json={"default_sni": bad}), 400, 2100)
    assert get_map(alice, a, m)["default_sni"] == mine
    assert assert_ok(alice.patch(map_url(a, m), json={"default_sni": None}))["default_sni"] is None


def test_readers_read_and_writers_write(world: World) -> None:
    s = stage(world, bind=False)
    alice, reader, writer, a = s.owner, world.client(world.reader), world.client(world.writer), world.a
    m = create_map(alice, a, ips=[s.ip(1)])
    assert get_map(reader, a, m["id"]) == m and len(assert_ok(reader.get(maps_url(a)))) == 1
    writes = [
        reader.post(maps_url(a), json={}),
        reader.patch(map_url(a, m["id"]), json={"description": "x"}),
        reader.delete(map_url(a, m["id"])),
        reader.put(ip_url(a, m["id"], s.ip(2))),
        reader.delete(ip_url(a, m["id"], s.ip(1))),
        reader.put(account_member_url(a, m["id"], a)),
        reader.put(zone_member_url(a, m["id"], s.zones["a"]["id"])),
    ]
    for r in writes:
        assert_refused(r, 403, 9109, contains="addressing.write")
    assert get_map(alice, a, m["id"]) == m
    assert_ok(writer.put(ip_url(a, m["id"], s.ip(2))))  # "IP Prefixes: Write" may
    assert ips_of(alice, a, m["id"]) == [s.ip(1), s.ip(2)]


def test_managed_maps_keep_their_ips_and_stay(world: World) -> None:
    s = stage(world, bind=False)
    alice, a = s.owner, world.a
    m = managed_map(world.server.db, a)
    got = get_map(alice, a, m)
    assert (got["can_delete"], got["can_modify_ips"], got["enabled"]) == (False, False, False)
    assert_refused(alice.delete(map_url(a, m)), 409, 2104)
    assert_refused(alice.put(ip_url(a, m, s.ip(1))), 409, 2105)
    assert_refused(alice.delete(ip_url(a, m, s.ip(1))), 409, 2105)
    assert_ok(alice.patch(map_url(a, m), json={"description": "still editable"}))

    with world.server.db.write() as uow:  # a membership the platform made, which the API may not remove
        uow.address_maps.add_memberships([MapMembership(m, "account", a, utcnow(), can_delete=False)])
        uow.commit()
    assert get_map(alice, a, m)["memberships"][0]["can_delete"] is False
    assert_refused(alice.delete(account_member_url(a, m, a)), 409, 2107)
    assert members_of(alice, a, m) == [("account", a)]
