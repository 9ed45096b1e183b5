"""Address maps between tenants, over real HTTP: B cannot see or touch A's maps, and B may put on its
own maps exactly the addresses A delegated to it."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.helpers import assert_ok, assert_refused
from tests.api.map_helpers import (
    account_member_url,
    create_map,
    get_map,
    ip_url,
    ips_of,
    map_url,
    maps_url,
    zone_member_url,
)
from tests.api.spectrum_helpers import stage
from tests.support import World


def attempts(client: httpx.Client, account: str, m: str, ip: str, zone: str, member: str) -> list[httpx.Response]:
    """Every address-map route, against map `m` under `account`'s URLs."""
    return [
        client.get(map_url(account, m)),
        client.patch(map_url(account, m), json={"description": "mine now", "enabled": True}),
        client.delete(map_url(account, m)),
        client.put(ip_url(account, m, ip)),
        client.delete(ip_url(account, m, ip)),
        client.put(zone_member_url(account, m, zone)),
        client.delete(zone_member_url(account, m, zone)),
        client.put(account_member_url(account, m, member)),
        client.delete(account_member_url(account, m, member)),
    ]


def test_b_can_neither_see_nor_touch_as_maps(world: World) -> None:
    s = stage(world, bind=False)
    alice, bob, a, b = s.owner, s.client("b"), world.a, world.b
    zone_a, zone_b = s.zones["a"]["id"], s.zones["b"]["id"]
    m = create_map(alice, a, ips=[s.ip(1)], memberships=[{"kind": "zone", "identifier": zone_a}])
    before = get_map(alice, a, m["id"])
    secrets = [m["id"], zone_a, s.ip(1), s.prefix["id"], s.prefix["cidr"], world.alice.email]

    for r in [bob.get(maps_url(a)), bob.post(maps_url(a), json={}), *attempts(bob, a, m["id"], s.ip(2), zone_a, a)]:
        assert_refused(r, 403, 9109, contains="not a member")  # A's URLs: not a member of A
        assert not [x for x in secrets if x in r.text], r.text
    for r in attempts(bob, b, m["id"], s.ip(2), zone_b, b):  # A's map id under B's own URLs
        assert_refused(r, 404, 1003, contains="address map not found")
        assert not [x for x in secrets if x in r.text], r.text
    assert assert_ok(bob.get(maps_url(b))) == []
    assert get_map(alice, a, m["id"]) == before


def test_b_puts_addresses_delegated_to_it_on_its_own_map(world: World) -> None:
    s = stage(world, bind=False)
    bob, eve, b = s.client("b"), s.client("c"), world.b
    d = s.delegate(s.cidr(0, 26))
    mine = create_map(bob, b, ips=[s.ip(5)], memberships=[{"kind": "zone", "identifier": s.zones["b"]["id"]}])
    assert_ok(bob.put(ip_url(b, mine["id"], s.ip(63))))
    assert ips_of(bob, b, mine["id"]) == [s.ip(5), s.ip(63)]

    # A owns the same addresses and may use them on its own map too.
    owners = create_map(s.owner, world.a, ips=[s.ip(5)])
    assert ips_of(s.owner, world.a, owners["id"]) == [s.ip(5)]

    outside = bob.put(ip_url(b, mine["id"], s.ip(64)))
    message = assert_refused(outside, 400, 2101, contains=f"account {b} neither owns {s.ip(64)}")
    for secret in (world.a, s.prefix["id"], s.prefix["cidr"], d["id"], owners["id"]):
        assert secret not in message
    assert_refused(bob.put(account_member_url(b, mine["id"], world.a)), 400, 2106)
    assert_refused(bob.put(zone_member_url(b, mine["id"], s.zones["a"]["id"])), 404, 1003)

    theirs = create_map(eve, world.c)
    assert_refused(eve.put(ip_url(world.c, theirs["id"], s.ip(5))), 400, 2101)
    assert ips_of(eve, world.c, theirs["id"]) == []


def test_a_delegation_from_a_pending_prefix_cannot_be_used_yet(world: World) -> None:
    pending = stage(world, approve=False, bind=False)
    bob, b = pending.client("b"), world.b
    pending.delegate(pending.cidr(0, 28))
    m: dict[str, Any] = create_map(bob, b)
    assert_refused(bob.put(ip_url(b, m["id"], pending.ip(1))), 400, 2102, contains="pending approval")
    world.approve(pending.pid)
    assert_ok(bob.put(ip_url(b, m["id"], pending.ip(1))))
    assert ips_of(bob, b, m["id"]) == [pending.ip(1)]
