"""Revocation never strands an app (409 1900 unless ?force=true blocks it), and the edge's resolve
answer for every reason, over real HTTP."""

from __future__ import annotations

import pytest

from prefixgate.domain.bindings import CDN, SPECTRUM
from tests.api.helpers import assert_ok, assert_refused, prefix_url
from tests.api.spectrum_helpers import (
    Stage,
    app_body,
    app_url,
    assert_not_authorized,
    audit_entries,
    errors_of,
    stage,
)
from tests.support import World


def _statuses(s: Stage, apps: dict[str, str]) -> dict[str, str]:
    """{app id: status} for apps given as {app id: who}."""
    return {app_id: s.get_app(who, app_id)["status"] for app_id, who in apps.items()}


def test_more_specific_binding_to_another_service_is_refused_unless_forced(world: World) -> None:
    s = stage(world)
    s.delegate(s.cidr(9, 32))
    mine = s.create_app("a", s.ip(8))
    bobs = s.create_app("b", s.ip(9))
    bystander = s.create_app("a", s.ip(12))
    apps = {mine["id"]: "a", bobs["id"]: "b", bystander["id"]: "a"}
    before = s.bindings()

    r = s.bind(s.cidr(8, 30), CDN)
    assert_refused(r, 409, 1900, contains=f"binding {s.cidr(8, 30)} to CDN")
    listed = [e["message"] for e in errors_of(r)[1:]]
    assert len(listed) == 2 and all(e["code"] == 1900 for e in errors_of(r))
    for app, zone, account, ip in ((mine, "a", world.a, s.ip(8)), (bobs, "b", world.b, s.ip(9))):
        line = next(m for m in listed if app["id"] in m)
        assert s.zones[zone]["id"] in line and account in line and line.endswith(f"uses {ip}")
    assert s.bindings() == before
    assert set(_statuses(s, apps).values()) == {"active"}

    # Same service, more specific: nobody loses Spectrum, so no force is needed.
    assert_ok(s.bind(s.cidr(12, 32), SPECTRUM), 201)

    cdn = assert_ok(s.bind(s.cidr(8, 30), CDN, force=True), 201)
    assert cdn["service_name"] == "CDN"
    assert _statuses(s, apps) == {mine["id"]: "blocked", bobs["id"]: "blocked", bystander["id"]: "active"}
    assert f"{s.cidr(8, 30)} to CDN" in s.get_app("b", bobs["id"])["blocked_reason"]
    assert s.resolve(s.ip(8), 22)["reason"] == "app_blocked"
    assert s.resolve(s.ip(12), 22)["reason"] == "served"
    assert {e["resource"]["id"] for e in audit_entries(s.owner, world.a, "spectrum_app.blocked")} == {
        mine["id"],
        bobs["id"],
    }
    assert [e["resource"]["id"] for e in audit_entries(s.client("b"), world.b, "spectrum_app.blocked")] == [bobs["id"]]


def test_deleting_a_binding_apps_depend_on_is_refused_unless_forced(world: World) -> None:
    s = stage(world)
    app = s.create_app("a", s.ip(1))
    whole = next(b for b in s.bindings() if b["cidr"] == s.prefix["cidr"])
    assert_ok(s.bind(s.cidr(64, 26), SPECTRUM), 201)
    survivor = s.create_app("a", s.ip(70))  # bound to Spectrum by the /26 too
    cdn = assert_ok(s.bind(s.cidr(128, 25), CDN), 201)  # no app there: no force needed
    url = f"{s.bindings_url}/{whole['id']}"

    r = s.owner.delete(url)
    assert_refused(r, 409, 1900)
    assert len(errors_of(r)) == 2 and app["id"] in errors_of(r)[1]["message"]
    assert len(s.bindings()) == 3 and s.get_app("a", app["id"])["status"] == "active"

    assert_ok(s.owner.delete(f"{s.bindings_url}/{cdn['id']}"))  # .128/25 falls back to Spectrum: nobody loses
    assert_ok(s.owner.delete(url, params={"force": "true"}))
    assert [b["cidr"] for b in s.bindings()] == [s.cidr(64, 26)]
    assert s.get_app("a", survivor["id"])["status"] == "active" and s.resolve(s.ip(70), 22)["served"] is True
    blocked = s.get_app("a", app["id"])
    assert blocked["status"] == "blocked" and whole["id"] in blocked["blocked_reason"]
    assert s.resolve(s.ip(1), 22)["reason"] == "app_blocked"


def test_deleting_a_more_specific_spectrum_binding_inside_cdn_is_guarded(world: World) -> None:
    s = stage(world, bind=False)
    assert_ok(s.bind(s.prefix["cidr"], CDN), 201)
    spot = assert_ok(s.bind(s.cidr(5, 32), SPECTRUM), 201)
    app = s.create_app("a", s.ip(5))
    assert_not_authorized(s.post_app("a", s.ip(6)), s.ip(6), "wrong_service")
    assert_refused(s.owner.delete(f"{s.bindings_url}/{spot['id']}"), 409, 1900)
    assert s.resolve(s.ip(5), 22)["id"] == app["id"]


def test_another_grant_still_covering_the_ip_means_nothing_is_affected(world: World) -> None:
    s = stage(world)
    whole = s.delegate(s.prefix["cidr"])
    host = s.delegate(s.cidr(4, 32))
    bobs = s.create_app("b", s.ip(4))
    own = s.create_app("a", s.ip(6))
    to_b = s.delegate(s.cidr(6, 32))  # A keeps using .6 as its owner

    host_url = f"{s.delegations_url}/{host['id']}"
    assert assert_ok(s.owner.get(f"{host_url}/impact"))["affected_apps"] == []
    assert assert_ok(s.owner.delete(host_url)) == {"id": host["id"]}
    assert assert_ok(s.owner.delete(f"{s.delegations_url}/{to_b['id']}")) == {"id": to_b["id"]}
    assert _statuses(s, {bobs["id"]: "b", own["id"]: "a"}) == {bobs["id"]: "active", own["id"]: "active"}
    assert s.resolve(s.ip(4), 22)["served"] is True

    # The /24 is now B's only grant for .4: removing it would strand B's app.
    impact = assert_ok(s.owner.get(f"{s.delegations_url}/{whole['id']}/impact"))["affected_apps"]
    assert [(a["id"], a["ips"]) for a in impact] == [(bobs["id"], [s.ip(4)])]
    assert_refused(s.owner.delete(f"{s.delegations_url}/{whole['id']}"), 409, 1900)


def test_deleting_a_prefix_never_strands_apps(world: World) -> None:
    """Only pending prefixes can be deleted, and no app can run on a pending prefix."""
    s = stage(world)
    app = s.create_app("a", s.ip(1))
    for params in ({}, {"force": "true"}):
        assert_refused(s.owner.delete(prefix_url(world.a, s.pid), params=params), 409, 1105)
    assert s.get_app("a", app["id"])["status"] == "active" and len(s.bindings()) == 1

    pending = stage(world, approve=False)
    assert_not_authorized(pending.post_app("a", pending.ip(1)), pending.ip(1), "prefix_not_approved")
    assert_ok(pending.owner.delete(prefix_url(world.a, pending.pid)))
    assert_refused(pending.owner.get(pending.bindings_url), 404, 1003)
    assert audit_entries(s.owner, world.a, "spectrum_app.blocked") == []


def test_a_blocked_app_releases_its_port_and_put_reactivates_it(world: World) -> None:
    s = stage(world)
    ip = s.ip(4)
    d = s.delegate(f"{ip}/32")
    bobs = s.create_app("b", ip)
    assert_ok(s.owner.delete(f"{s.delegations_url}/{d['id']}", params={"force": "true"}))
    url = app_url(s.zones["b"]["id"], bobs["id"])
    body = app_body(s.zones["b"]["name"], ip)

    assert_not_authorized(s.client("b").put(url, json=body), ip, "ip_not_usable")
    assert s.get_app("b", bobs["id"])["status"] == "blocked"
    mine = s.create_app("a", ip)  # the blocked app no longer holds tcp/22 on .4
    assert s.resolve(ip, 22)["id"] == mine["id"]

    s.delegate(f"{ip}/32")
    assert_refused(s.client("b").put(url, json=body), 409, 1803, contains=mine["id"])
    assert_ok(s.owner.delete(app_url(s.zones["a"]["id"], mine["id"])))
    again = assert_ok(s.client("b").put(url, json=body))
    assert again["status"] == "active" and again["blocked_reason"] is None
    assert s.get_app("b", bobs["id"]) == again
    answer = s.resolve(ip, 22)
    assert answer["served"] is True and answer["id"] == bobs["id"]


def test_ipv6_delegated_address_end_to_end(world: World) -> None:
    s = stage(world, v6=True)
    ip4 = s.ip(4)
    d = s.delegate(f"{ip4}/128")
    app = s.create_app("b", ip4)
    assert app["edge_ips"]["ips"] == [ip4]
    assert s.resolve(ip4, 22)["id"] == app["id"]
    assert_not_authorized(s.post_app("b", s.ip(5)), s.ip(5), "ip_not_usable")
    assert_refused(s.post_app("a", ip4), 409, 1803, contains=app["id"])
    assert_refused(s.post_app("b", ip4.upper(), "tcp/23"), 400, 1101, contains=ip4)
    url = f"{s.delegations_url}/{d['id']}"
    assert_refused(s.owner.delete(url), 409, 1900, contains=f"{ip4}/128")
    assert_ok(s.owner.delete(url, params={"force": "true"}))
    assert s.get_app("b", app["id"])["status"] == "blocked"
    assert s.resolve(ip4, 22)["reason"] == "app_blocked"


def test_losing_one_of_several_addresses_blocks_the_whole_app(world: World) -> None:
    s = stage(world)
    s.delegate(s.cidr(4, 32))
    five = s.delegate(s.cidr(5, 32))
    app = s.create_app("b", [s.ip(4), s.ip(5)])
    url = f"{s.delegations_url}/{five['id']}"
    r = s.owner.delete(url)
    assert_refused(r, 409, 1900)
    assert errors_of(r)[1]["message"].endswith(f"uses {s.ip(5)}")
    [affected] = assert_ok(s.owner.get(f"{url}/impact"))["affected_apps"]
    assert (affected["id"], affected["ips"]) == (app["id"], [s.ip(5)])
    assert_ok(s.owner.delete(url, params={"force": "true"}))
    assert s.resolve(s.ip(4), 22)["reason"] == "app_blocked"  # not served anywhere: it is one app


def test_put_of_an_unchanged_app_does_not_collide_with_itself(world: World) -> None:
    s = stage(world)
    app = s.create_app("a", s.ip(3), "tcp/1000-1010")
    body = app_body(s.zones["a"]["name"], s.ip(3), "tcp/1000-1010")
    again = assert_ok(s.owner.put(app_url(s.zones["a"]["id"], app["id"]), json=body))
    assert {k: v for k, v in again.items() if k != "modified_on"} == {
        k: v for k, v in app.items() if k != "modified_on"
    }
    assert again["modified_on"] >= app["modified_on"]
    assert s.resolve(s.ip(3), 1005)["id"] == app["id"]


def test_resolve_reasons_no_app_and_served(world: World) -> None:
    s = stage(world)
    app = s.create_app("a", s.ip(7), "udp/53")
    served = s.resolve(s.ip(7), 53, "udp")
    assert served["served"] is True and served["reason"] == "served" and served["id"] == app["id"]
    for ip, port, protocol in (
        (s.ip(7), 53, "tcp"),
        (s.ip(7), 54, "udp"),
        (s.ip(8), 53, "udp"),
        ("192.0.2.1", 53, "udp"),
    ):
        answer = s.resolve(ip, port, protocol)
        assert answer == {
            "served": False,
            "kind": None,
            "id": None,
            "account_id": None,
            "zone_id": None,
            "origin": None,
            "reason": "no_app",
            "message": f"no Spectrum app listens on {protocol}/{port} on {ip}",
        }


def test_resolve_decides_now_even_if_state_drifted_behind_the_api(world: World) -> None:
    """The API never lets a change strand an active app; resolve must not rely on that. Remove a
    delegation and a binding with raw repository writes and the edge stops serving at once."""
    s = stage(world)
    d = s.delegate(s.cidr(4, 32))
    bobs = s.create_app("b", s.ip(4))
    spot = assert_ok(s.bind(s.cidr(5, 32), SPECTRUM), 201)
    assert_ok(s.bind(s.cidr(0, 29), SPECTRUM), 201)
    mine = s.create_app("a", s.ip(5))
    with world.server.db.write() as uow:
        uow.delegations.delete(d["id"])
        uow.bindings.delete(spot["id"])
        uow.commit()
    assert s.resolve(s.ip(5), 22)["served"] is True  # the /29 still binds .5 to Spectrum
    lost = s.resolve(s.ip(4), 22)
    assert (lost["served"], lost["reason"], lost["id"], lost["account_id"]) == (
        False,
        "ip_not_usable",
        bobs["id"],
        world.b,
    )
    assert "neither owns" in lost["message"]
    with world.server.db.write() as uow:
        for b in uow.bindings.for_prefix(s.pid):
            uow.bindings.delete(b.id)
        uow.commit()
    wrong = s.resolve(s.ip(5), 22)
    assert (wrong["served"], wrong["reason"], wrong["id"]) == (False, "wrong_service", mine["id"])


@pytest.mark.parametrize("who", ["alice", "bob", "reader"])
def test_resolve_is_for_operators_only(world: World, who: str) -> None:
    client = world.client(getattr(world, who))
    assert_refused(client.get("/edge/resolve", params={"ip": "192.0.2.1", "port": 22}), 403, 9109)


def test_resolve_refuses_bad_questions(world: World) -> None:
    op = world.client(world.operator)
    for params, code in (
        ({"ip": "1.2.3", "port": 22}, 1500),
        ({"ip": "192.0.2.01", "port": 22}, 1500),
        ({"ip": "192.0.2.1", "port": 0}, 1001),
        ({"ip": "192.0.2.1", "port": 65536}, 1001),
        ({"ip": "192.0.2.1", "port": 22, "protocol": "icmp"}, 1001),
        ({"port": 22}, 1001),
    ):
        assert_refused(op.get("/edge/resolve", params=params), 400, code)


def test_resolve_does_not_serve_apps_of_a_paused_zone(world: World) -> None:
    s = stage(world)
    app = s.create_app("a", s.ip(9), "tcp/2222")
    zone_id = s.zones["a"]["id"]
    assert_ok(s.owner.patch(f"/zones/{zone_id}", json={"paused": True}))
    paused = s.resolve(s.ip(9), 2222)
    assert (paused["served"], paused["reason"], paused["id"], paused["zone_id"]) == (
        False,
        "zone_paused",
        app["id"],
        zone_id,
    )
    assert_ok(s.owner.patch(f"/zones/{zone_id}", json={"paused": False}))
    assert s.resolve(s.ip(9), 2222)["reason"] == "served"
