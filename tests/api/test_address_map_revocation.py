"""Taking addresses away never leaves them on an address map whose account may no longer use them:
409 (1902) listing the maps, the delegation impact extension showing them, and ?force=true taking
them off, logged in both accounts. Over real HTTP, on both engines."""

from __future__ import annotations

from prefixgate.domain.address_maps import MapIp
from prefixgate.domain.net import parse_ip
from prefixgate.service.context import utcnow
from tests.api.helpers import assert_ok, assert_refused, prefix_url
from tests.api.map_helpers import create_map, ips_of
from tests.api.spectrum_helpers import audit_entries, errors_of, stage
from tests.support import World


def test_deleting_a_delegation_map_ips_depend_on(world: World) -> None:
    s = stage(world, bind=False)
    alice, bob, a, b = s.owner, s.client("b"), world.a, world.b
    d = s.delegate(s.cidr(0, 26))
    url = f"{s.delegations_url}/{d['id']}"
    bobs = create_map(bob, b, ips=[s.ip(6), s.ip(5)])["id"]
    owners = create_map(alice, a, ips=[s.ip(5)])["id"]  # A owns .5: nothing A's is affected

    impact = assert_ok(alice.get(f"{url}/impact"))
    reason = f"delegation {d['id']} ({d['cidr']}) from account {a} was removed"
    assert impact == {
        "delegation_id": d["id"],
        "affected_apps": [],
        "affected_hostnames": [],
        "affected_address_maps": [{"id": bobs, "account_id": b, "ips": [s.ip(5), s.ip(6)], "reason": reason}],
    }

    r = alice.delete(url)
    assert_refused(r, 409, 1902, contains=f"deleting delegation {d['id']} ({d['cidr']}) would leave IPs on 1")
    assert errors_of(r)[1:] == [
        {"code": 1902, "message": f"address map {bobs} of account {b} holds {s.ip(5)}, {s.ip(6)}"}
    ]
    assert ips_of(bob, b, bobs) == [s.ip(5), s.ip(6)]
    assert [x["id"] for x in assert_ok(alice.get(s.delegations_url))] == [d["id"]]

    assert assert_ok(alice.delete(url, params={"force": "true"})) == {"id": d["id"]}
    assert ips_of(bob, b, bobs) == [] and ips_of(alice, a, owners) == [s.ip(5)]
    for client, account in ((alice, a), (bob, b)):
        [event] = audit_entries(client, account, "address_map.ip_removed")
        assert event["resource"]["id"] == bobs
        assert event["metadata"] == {"reason": reason, "ips": [s.ip(5), s.ip(6)]}
    [copy] = audit_entries(bob, b, "address_map.ip_removed")
    assert copy["actor"]["email"] is None and copy["actor"]["id"] == world.alice.user_id  # no email across tenants


def test_another_grant_still_covering_the_ip_means_nothing_is_affected(world: World) -> None:
    s = stage(world, bind=False)
    alice, bob, b = s.owner, s.client("b"), world.b
    whole = s.delegate(s.prefix["cidr"])
    host = s.delegate(s.cidr(4, 32))
    m = create_map(bob, b, ips=[s.ip(4)])["id"]
    host_url = f"{s.delegations_url}/{host['id']}"
    assert assert_ok(alice.get(f"{host_url}/impact"))["affected_address_maps"] == []
    assert_ok(alice.delete(host_url))
    assert ips_of(bob, b, m) == [s.ip(4)]

    impact = assert_ok(alice.get(f"{s.delegations_url}/{whole['id']}/impact"))["affected_address_maps"]
    assert [(x["id"], x["ips"]) for x in impact] == [(m, [s.ip(4)])]
    assert_refused(alice.delete(f"{s.delegations_url}/{whole['id']}"), 409, 1902)


def test_apps_and_map_ips_are_refused_together_and_forced_together(world: World) -> None:
    s = stage(world)  # bound to Spectrum, so B can run an app on the delegated address
    alice, bob, b = s.owner, s.client("b"), world.b
    d = s.delegate(s.cidr(4, 32))
    app = s.create_app("b", s.ip(4))
    m = create_map(bob, b, ips=[s.ip(4)])["id"]
    url = f"{s.delegations_url}/{d['id']}"
    impact = assert_ok(alice.get(f"{url}/impact"))
    assert [x["id"] for x in impact["affected_apps"]] == [app["id"]]
    assert [x["id"] for x in impact["affected_address_maps"]] == [m]

    r = alice.delete(url)
    assert_refused(r, 409, 1902, contains="1 address map(s) and 1 Spectrum app(s)")
    assert [e["code"] for e in errors_of(r)] == [1902, 1902, 1900]
    assert m in errors_of(r)[1]["message"] and app["id"] in errors_of(r)[2]["message"]
    assert s.get_app("b", app["id"])["status"] == "active" and ips_of(bob, b, m) == [s.ip(4)]

    assert_ok(alice.delete(url, params={"force": "true"}))
    assert s.get_app("b", app["id"])["status"] == "blocked" and ips_of(bob, b, m) == []
    assert len(audit_entries(bob, b, "address_map.ip_removed")) == 1
    assert len(audit_entries(bob, b, "spectrum_app.blocked")) == 1


def test_only_apps_depending_keeps_the_apps_answer(world: World) -> None:
    s = stage(world)
    d = s.delegate(s.cidr(4, 32))
    s.create_app("b", s.ip(4))
    r = s.owner.delete(f"{s.delegations_url}/{d['id']}")
    assert_refused(r, 409, 1900)
    assert [e["code"] for e in errors_of(r)] == [1900, 1900]


def test_deleting_a_prefix_never_leaves_map_ips(world: World) -> None:
    """A pending prefix is the only kind that can be deleted, and no API call puts a pending prefix's
    address on a map. So the test writes one there through the repository, as data from before the
    rule would be, and shows the guard holds anyway."""
    s = stage(world, approve=False, bind=False)
    alice, a = s.owner, world.a
    m = create_map(alice, a)["id"]
    with world.server.db.write() as uow:
        uow.address_maps.add_ips([MapIp(m, a, parse_ip(s.ip(9)), utcnow())])
        uow.commit()
    url = prefix_url(a, s.pid)
    assert_refused(alice.delete(url), 409, 1902, contains=f"deleting prefix {s.prefix['cidr']}")
    assert ips_of(alice, a, m) == [s.ip(9)]
    assert_ok(alice.delete(url, params={"force": "true"}))
    assert ips_of(alice, a, m) == []
    [event] = audit_entries(alice, a, "address_map.ip_removed")
    assert event["metadata"] == {"reason": f"prefix {s.prefix['cidr']} was deleted", "ips": [s.ip(9)]}
