"""The docs' example over real HTTP, first with plain requests."""

from __future__ import annotations

from tests.support import World, unique_v4_prefix


def test_prefix_lifecycle_and_delegation(world: World) -> None:
    alice = world.client(world.alice)
    cidr = unique_v4_prefix()
    r = alice.post(f"/accounts/{world.a}/addressing/prefixes", json={"cidr": cidr, "asn": 13335})
    assert r.status_code == 201, r.text
    prefix = r.json()["result"]
    assert prefix["approved"] == "P" and prefix["cidr"] == cidr
    world.approve(prefix["id"])
    host = cidr.replace(".0/24", ".4/32")
    r = alice.post(
        f"/accounts/{world.a}/addressing/prefixes/{prefix['id']}/delegations",
        json={"cidr": host, "delegated_account_id": world.b},
    )
    assert r.status_code == 200, r.text
    d = r.json()["result"]
    bob = world.client(world.bob)
    r = bob.get(f"/accounts/{world.b}/addressing/ip_access", params={"ip": host[:-3]})
    body = r.json()["result"]
    assert body["access"] == "delegated" and body["allowed"] is True
    assert body["delegations"][0]["id"] == d["id"]
