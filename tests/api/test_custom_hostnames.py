"""Custom hostnames over real HTTP, validated against a real DNS server on loopback.

The stage: A owns a /24 bound to CDN and delegates its first /25 to B; every zone has a fallback origin.
"""

from __future__ import annotations

import uuid
from typing import Any

from prefixgate.domain.bindings import SPECTRUM
from tests.api.cdn_helpers import (
    NO_CNAME,
    NO_FALLBACK,
    NOT_OWNED,
    NOT_OWNED_NO_PROOF,
    CdnStage,
    fallback_url,
    hostname_url,
    hostnames_url,
    shop_name,
)
from tests.api.helpers import assert_ok, assert_refused
from tests.api.spectrum_helpers import audit_entries, create_zone, member_with_role


def test_create_answers_cloudflares_shape(cdn: CdnStage) -> None:
    name = shop_name()
    ssl = {"method": "txt", "type": "dv", "settings": {"min_tls_version": "1.2", "http2": "on"}}
    r = cdn.post_hostname("b", name, ssl=ssl, custom_metadata={"customer": "shop-1"})
    host = assert_ok(r)
    assert str(uuid.UUID(host["id"])) == host["id"]
    assert host["hostname"] == name and host["status"] == "pending"
    assert host["ssl"]["status"] == "initializing"  # certificates come later: the request is echoed
    assert host["ssl"]["method"] == "txt" and host["ssl"]["type"] == "dv"
    assert host["ssl"]["settings"] == {"min_tls_version": "1.2", "http2": "on"}
    assert str(uuid.UUID(host["ssl"]["id"])) == host["ssl"]["id"]
    assert host["ownership_verification"]["type"] == "txt"
    assert host["ownership_verification"]["name"] == f"_cf-custom-hostname.{name}"
    token = host["ownership_verification"]["value"]
    assert host["ownership_verification_http"] == {
        "http_url": f"http://{name}/.well-known/cf-custom-hostname-challenge/{host['id']}",
        "http_body": token,
    }
    assert host["custom_metadata"] == {"customer": "shop-1"}
    assert host["verification_errors"] == [] and host["custom_origin_server"] is None
    assert host["created_at"].endswith("Z")
    assert cdn.get("b", host["id"]) == host


def test_list_pages_filters_and_past_the_end(cdn: CdnStage) -> None:
    zone = cdn.zone("a")["id"]
    made = [cdn.create("a", shop_name(f"p{i}")) for i in range(7)]
    client = cdn.client("a")
    first = client.get(hostnames_url(zone), params={"per_page": 5}).json()
    assert [h["id"] for h in first["result"]] == [h["id"] for h in made[:5]]
    assert first["result_info"] == {"page": 1, "per_page": 5, "count": 5, "total_count": 7, "total_pages": 2}
    second = assert_ok(client.get(hostnames_url(zone), params={"per_page": 5, "page": 2}))
    assert [h["id"] for h in second] == [h["id"] for h in made[5:]]
    assert assert_ok(client.get(hostnames_url(zone), params={"per_page": 5, "page": 3})) == []
    newest = assert_ok(client.get(hostnames_url(zone), params={"direction": "desc", "per_page": 2}))
    assert [h["id"] for h in newest] == [made[6]["id"], made[5]["id"]]
    by_name = assert_ok(client.get(hostnames_url(zone), params={"hostname": made[3]["hostname"]}))
    assert [h["id"] for h in by_name] == [made[3]["id"]]
    by_id = assert_ok(client.get(hostnames_url(zone), params={"id": made[2]["id"]}))
    assert [h["id"] for h in by_id] == [made[2]["id"]]
    # No certificate is issued yet, so no hostname has SSL active.
    assert assert_ok(client.get(hostnames_url(zone), params={"ssl": 1})) == []
    both = client.get(hostnames_url(zone), params={"id": made[2]["id"], "hostname": made[2]["hostname"]})
    assert_refused(both, 400)
    for bad in (
        {"per_page": 0},
        {"per_page": 51},
        {"order": "name"},
        {"direction": "up"},
        {"ssl": 2},
        {"hostname_status": "up"},
        {"ssl_status": "issued"},
        {"wildcard": "maybe"},
        {"certificate_authority": "acme"},
        {"hostname.startsWith": "p", "hostname.contain": "p"},
        {"hostname": made[0]["hostname"], "hostname.exact": made[0]["hostname"]},
    ):
        assert_refused(client.get(hostnames_url(zone), params=bad), 400)


def test_edit_changes_ssl_origins_and_metadata(cdn: CdnStage) -> None:
    host = cdn.create("b", shop_name())
    url = hostname_url(cdn.zone("b")["id"], host["id"])
    body = {
        "ssl": {"method": "http", "type": "dv", "settings": {"tls_1_3": "on"}},
        "custom_origin_server": f"origin.{cdn.zone('b')['name']}",
        "custom_origin_sni": ":request_host_header:",
        "custom_metadata": {"plan": "gold"},
    }
    edited = assert_ok(cdn.client("b").patch(url, json=body))
    assert edited["ssl"]["method"] == "http" and edited["ssl"]["settings"] == {"tls_1_3": "on"}
    assert edited["custom_origin_server"] == f"origin.{cdn.zone('b')['name']}"
    assert edited["custom_origin_sni"] == ":request_host_header:"
    assert edited["custom_metadata"] == {"plan": "gold"}
    assert edited["ownership_verification"] == host["ownership_verification"]
    cleared = assert_ok(cdn.client("b").patch(url, json={"custom_origin_server": ""}))
    assert cleared["custom_origin_server"] is None and cleared["custom_metadata"] == {"plan": "gold"}
    assert cdn.get("b", host["id"]) == cleared


def test_delete_returns_the_id_twice_and_forgets_it(cdn: CdnStage) -> None:
    host = cdn.create("b", shop_name())
    url = hostname_url(cdn.zone("b")["id"], host["id"])
    r = cdn.client("b").delete(url)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["success"] is True and body["id"] == host["id"] and body["result"] == {"id": host["id"]}
    assert_refused(cdn.client("b").get(url), 404, 1003)
    assert_refused(cdn.client("b").delete(url), 404, 1003)


def test_fallback_origin_get_put_delete(cdn: CdnStage) -> None:
    zone = cdn.zone("b")
    url = fallback_url(zone["id"])
    got = assert_ok(cdn.client("b").get(url))
    assert got["origin"] == cdn.fallback("b") and got["status"] == "active" and got["errors"] == []
    moved = assert_ok(cdn.client("b").put(url, json={"origin": f"edge.{zone['name']}"}))
    assert moved["origin"] == f"edge.{zone['name']}" and moved["created_at"] == got["created_at"]
    for bad in ("192.0.2.1", "origin.example.org", f"_x.{zone['name']}", f"edge.{zone['name']}.", ""):
        assert_refused(cdn.client("b").put(url, json={"origin": bad}), 400)
    assert assert_ok(cdn.client("b").get(url))["origin"] == f"edge.{zone['name']}"
    assert assert_ok(cdn.client("b").delete(url))["origin"] == f"edge.{zone['name']}"
    assert_refused(cdn.client("b").get(url), 404, 1003)
    assert_refused(cdn.client("b").delete(url), 404, 1003)


def test_without_a_fallback_origin_creation_is_refused(cdn: CdnStage) -> None:
    zone = create_zone(cdn.client("b"), cdn.world.b)
    body = {"hostname": shop_name(), "ssl": {"method": "txt", "type": "dv"}}
    message = assert_refused(cdn.client("b").post(hostnames_url(zone["id"]), json=body), 400, 2002)
    assert message.startswith(NO_FALLBACK)
    assert assert_ok(cdn.client("b").get(hostnames_url(zone["id"]))) == []


def test_removing_the_fallback_origin_sends_hostnames_back_to_pending(cdn: CdnStage) -> None:
    host = cdn.activate("b", shop_name())
    assert_ok(cdn.client("b").delete(fallback_url(cdn.zone("b")["id"])))
    after = cdn.get("b", host["id"])
    assert after["status"] == "pending" and after["verification_errors"] == [NO_FALLBACK]
    again = cdn.validate("b", host["id"])
    assert again["status"] == "pending" and again["verification_errors"] == [NO_FALLBACK]


def test_apex_path_on_a_delegated_address_activates(cdn: CdnStage) -> None:
    """B's hostname resolves to an address of the /25 delegated to B and carries the TXT token."""
    host = cdn.create("b", shop_name())
    cdn.publish(host, cdn.ip(10))
    active = cdn.validate("b", host["id"])
    assert active["status"] == "active" and active["verification_errors"] == []
    served = cdn.resolve(cdn.ip(10), host["hostname"])
    assert served["served"] is True and served["reason"] == "served"
    assert served["kind"] == "custom_hostname" and served["id"] == host["id"]
    assert served["account_id"] == cdn.world.b and served["zone_id"] == cdn.zone("b")["id"]
    assert served["origin"] == cdn.fallback("b")


def test_both_accounts_share_the_delegated_addresses(cdn: CdnStage) -> None:
    a = cdn.activate("a", shop_name("a"), ip_host=10)
    b = cdn.activate("b", shop_name("b"), ip_host=10)
    assert cdn.resolve(cdn.ip(10), a["hostname"])["account_id"] == cdn.world.a
    assert cdn.resolve(cdn.ip(10), b["hostname"])["account_id"] == cdn.world.b


def test_an_address_outside_the_delegation_stays_pending_and_says_why(cdn: CdnStage) -> None:
    host = cdn.create("b", shop_name())
    cdn.publish(host, cdn.ip(200))
    pending = cdn.validate("b", host["id"])
    assert pending["status"] == "pending"
    assert pending["verification_errors"][0] == NOT_OWNED
    assert pending["verification_errors"][1].startswith(f"{cdn.ip(200)}: ip_not_usable: ")
    cdn.publish(host, cdn.ip(200), token=False)
    no_token = cdn.validate("b", host["id"])
    assert no_token["verification_errors"][0] == NOT_OWNED_NO_PROOF
    # One good and one bad address is not enough: every A/AAAA record must be usable.
    cdn.publish(host, cdn.ip(10), cdn.ip(200))
    mixed = cdn.validate("b", host["id"])
    assert mixed["status"] == "pending" and mixed["verification_errors"][0] == NOT_OWNED
    assert [e for e in mixed["verification_errors"] if e.startswith(cdn.ip(10))] == []
    resolved = cdn.resolve(cdn.ip(10), host["hostname"])
    assert resolved == {**resolved, "served": False, "reason": "hostname_not_active"}


def test_an_address_bound_to_spectrum_is_the_wrong_service(cdn: CdnStage) -> None:
    assert_ok(cdn.base.bind(cdn.base.cidr(32, 27), SPECTRUM), 201)
    host = cdn.create("b", shop_name())
    cdn.publish(host, cdn.ip(40))
    pending = cdn.validate("b", host["id"])
    assert pending["status"] == "pending"
    assert pending["verification_errors"][1].startswith(f"{cdn.ip(40)}: wrong_service: ")
    assert "not to CDN" in pending["verification_errors"][1]


def test_a_pending_prefix_is_named_as_the_reason(cdn: CdnStage, session_dns: Any) -> None:
    from tests.api.cdn_helpers import cdn_stage

    pending = cdn_stage(cdn.world, session_dns, approve=False)
    host = pending.create("a", shop_name())
    pending.publish(host, pending.ip(7))
    checked = pending.validate("a", host["id"])
    assert checked["status"] == "pending"
    assert checked["verification_errors"][1].startswith(f"{pending.ip(7)}: prefix_not_approved: ")


def test_cname_path_to_the_fallback_origin_activates(cdn: CdnStage) -> None:
    host = cdn.create("b", shop_name())
    cdn.publish(host)  # the TXT token only
    cdn.dns.set(host["hostname"], "CNAME", "customers.example.org")
    cdn.dns.set("customers.example.org", "CNAME", cdn.fallback("b"))
    cdn.dns.set(cdn.fallback("b"), "A", "192.0.2.80")
    active = cdn.validate("b", host["id"])
    assert active["status"] == "active", active
    # Served on any address B may use for CDN; the CNAME path does not pin addresses.
    assert cdn.resolve(cdn.ip(20), host["hostname"])["served"] is True


def test_cname_elsewhere_is_refused_in_cloudflares_words(cdn: CdnStage) -> None:
    host = cdn.create("b", shop_name())
    cdn.publish(host)
    cdn.dns.set(host["hostname"], "CNAME", f"fallback.{cdn.zone('a')['name']}")  # A's zone, not B's
    pending = cdn.validate("b", host["id"])
    assert pending["status"] == "pending" and pending["verification_errors"][0] == NO_CNAME


def test_a_name_without_records_does_not_cname_here(cdn: CdnStage) -> None:
    host = cdn.create("b", shop_name())
    pending = cdn.validate("b", host["id"])
    assert pending["status"] == "pending" and pending["verification_errors"][0] == NO_CNAME


def test_a_failing_resolver_changes_no_status(cdn: CdnStage) -> None:
    host = cdn.activate("b", shop_name())
    for fail in (cdn.dns.servfail, cdn.dns.drop):
        fail(host["hostname"])
        try:
            checked = cdn.validate("b", host["id"])
        finally:
            cdn.dns.heal()
        assert checked["status"] == "active", checked
        assert checked["verification_errors"][0].startswith("DNS lookup failed, status unchanged: "), checked
        assert cdn.resolve(cdn.ip(10), host["hostname"])["served"] is True
    assert cdn.validate("b", host["id"])["verification_errors"] == []


def test_a_hostname_is_active_in_one_zone_only(cdn: CdnStage) -> None:
    name = shop_name()
    in_a = cdn.create("a", name)
    in_b = cdn.create("b", name)  # duplicates that are all pending are allowed
    cdn.publish(in_b, cdn.ip(10))
    assert cdn.validate("b", in_b["id"])["status"] == "active"
    cdn.publish(in_a, cdn.ip(10))  # A's token now; B's is gone from DNS
    lost = cdn.validate("a", in_a["id"])
    assert lost["status"] == "pending"
    assert lost["verification_errors"] == ["This hostname is in use elsewhere: it is already active in another zone."]
    message = assert_refused(cdn.post_hostname("c", name), 409, 2004)
    assert cdn.world.b not in message and cdn.zone("b")["id"] not in message
    assert_refused(cdn.post_hostname("b", name), 409, 2003)
    assert cdn.resolve(cdn.ip(10), name)["account_id"] == cdn.world.b


def test_resolve_says_why_nothing_serves(cdn: CdnStage) -> None:
    host = cdn.activate("b", shop_name())
    name = host["hostname"]
    assert cdn.resolve(cdn.ip(10), f"other-{name}")["reason"] == "hostname_not_active"
    outside = cdn.resolve(cdn.ip(200), name)  # A's address, never delegated to B
    assert outside["served"] is False and outside["reason"] == "ip_not_usable" and outside["id"] == host["id"]
    assert_ok(cdn.base.bind(cdn.base.cidr(64, 26), SPECTRUM), 201)
    wrong = cdn.resolve(cdn.ip(70), name)
    assert wrong["served"] is False and wrong["reason"] == "wrong_service"
    op = cdn.world.client(cdn.world.operator)
    bad = {"ip": cdn.ip(10), "port": 443, "protocol": "udp", "sni": name}
    assert_refused(op.get("/edge/resolve", params=bad), 400)
    assert_refused(op.get("/edge/resolve", params={**bad, "protocol": "tcp", "sni": "bad_name.example"}), 400)
    assert_refused(cdn.client("b").get("/edge/resolve", params={**bad, "protocol": "tcp"}), 403)


def test_deleting_the_delegation_is_refused_then_forced_back_to_pending(cdn: CdnStage) -> None:
    host = cdn.activate("b", shop_name())
    delegation = assert_ok(cdn.base.owner.get(cdn.base.delegations_url))[0]
    url = f"{cdn.base.delegations_url}/{delegation['id']}"
    refused = cdn.base.owner.delete(url)
    assert_refused(refused, 409, 1901)
    assert any(host["id"] in e["message"] and cdn.ip(10) in e["message"] for e in refused.json()["errors"][1:])
    impact = assert_ok(cdn.base.owner.get(f"{url}/impact"))
    assert impact["affected_apps"] == []
    assert [(h["id"], h["hostname"], h["ips"]) for h in impact["affected_hostnames"]] == [
        (host["id"], host["hostname"], [cdn.ip(10)])
    ]
    assert cdn.get("b", host["id"])["status"] == "active"
    assert_ok(cdn.base.owner.delete(url, params={"force": "true"}))
    after = cdn.get("b", host["id"])
    assert after["status"] == "pending"
    assert delegation["id"] in after["verification_errors"][0]
    resolved = cdn.resolve(cdn.ip(10), host["hostname"])
    assert resolved["served"] is False and resolved["reason"] == "hostname_not_active"
    for who, account in (("a", cdn.world.a), ("b", cdn.world.b)):
        events = audit_entries(cdn.client(who), account, "custom_hostname.deactivated")
        assert [e["resource"]["id"] for e in events] == [host["id"]], events


def test_rebinding_to_spectrum_is_refused_then_forced(cdn: CdnStage) -> None:
    host = cdn.activate("a", shop_name("a"), ip_host=150)
    assert_refused(cdn.base.bind(cdn.base.cidr(128, 25), SPECTRUM), 409, 1901)
    assert cdn.get("a", host["id"])["status"] == "active"
    assert_ok(cdn.base.bind(cdn.base.cidr(128, 25), SPECTRUM, force=True), 201)
    after = cdn.get("a", host["id"])
    assert after["status"] == "pending" and "binding" in after["verification_errors"][0]


def test_roles_follow_the_ssl_permissions(cdn: CdnStage) -> None:
    host = cdn.create("a", shop_name())
    zone = cdn.zone("a")["id"]
    reader = cdn.world.client(member_with_role(cdn.world, cdn.world.a, "SSL and Certificates: Read"))
    assert assert_ok(reader.get(hostname_url(zone, host["id"])))["id"] == host["id"]
    assert_ok(reader.get(fallback_url(zone)))
    assert_refused(reader.post(hostnames_url(zone), json={"hostname": shop_name(), "ssl": {}}), 403, 9109)
    assert_refused(reader.delete(hostname_url(zone, host["id"])), 403, 9109)
    writer = cdn.world.client(member_with_role(cdn.world, cdn.world.a, "SSL and Certificates: Write"))
    made = assert_ok(writer.post(hostnames_url(zone), json={"hostname": shop_name(), "ssl": {"method": "txt"}}))
    assert_ok(writer.delete(hostname_url(zone, made["id"])))
    spectrum = cdn.world.client(member_with_role(cdn.world, cdn.world.a, "Spectrum: Write"))
    assert_refused(spectrum.get(hostnames_url(zone)), 403, 9109)


def test_other_tenants_see_nothing(cdn: CdnStage) -> None:
    host = cdn.create("a", shop_name())
    zone = cdn.zone("a")["id"]
    eve = cdn.client("c")
    for r in (
        eve.get(hostnames_url(zone)),
        eve.get(hostname_url(zone, host["id"])),
        eve.patch(hostname_url(zone, host["id"]), json={"custom_metadata": {"x": "y"}}),
        eve.delete(hostname_url(zone, host["id"])),
        eve.post(f"{hostname_url(zone, host['id'])}/validate"),
        eve.get(fallback_url(zone)),
        eve.put(fallback_url(zone), json={"origin": f"x.{cdn.zone('a')['name']}"}),
        eve.delete(fallback_url(zone)),
    ):
        assert_refused(r, 404, 1003)
    # A's hostname id under C's own zone is not found either.
    assert_refused(eve.get(hostname_url(cdn.zone("c")["id"], host["id"])), 404, 1003)
    assert cdn.get("a", host["id"]) == host
