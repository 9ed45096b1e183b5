"""Address maps driven by the unmodified official Cloudflare SDK (5.x) over real HTTP, plus a strict
check of our wire shapes against its models.

The SDK's `addressing.address_maps` has `.accounts` and `.ips` but no `.zones` in 5.x; zone
memberships go through the same client's generic `put`/`delete`, on the path its older releases used.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from cloudflare import BadRequestError, ConflictError, NotFoundError
from cloudflare.types.addressing import AddressMap, AddressMapCreateResponse, AddressMapGetResponse

from tests.api.conftest import SdkFor
from tests.api.helpers import assert_ok, present
from tests.api.map_helpers import create_map, map_url, maps_url
from tests.api.spectrum_helpers import stage
from tests.support import World


def test_sdk_address_map_lifecycle(world: World, sdk: SdkFor) -> None:
    s = stage(world, bind=False)
    s6 = stage(world, bind=False, v6=True)
    maps = sdk(world.alice).addressing.address_maps
    a, zone = world.a, s.zones["a"]["id"]

    created = present(
        maps.create(
            account_id=a,
            description="My Ecommerce zones",
            ips=[s.ip(1)],
            memberships=[{"kind": "zone", "identifier": zone}],
        )
    )
    map_id = present(created.id)
    assert (created.description, created.enabled, created.can_delete, created.can_modify_ips) == (
        "My Ecommerce zones",
        False,
        True,
        True,
    )
    assert [i.ip for i in present(created.ips)] == [s.ip(1)]
    assert [(m.kind, m.identifier) for m in present(created.memberships)] == [("zone", zone)]
    assert created.created_at is not None and created.modified_at is not None

    assert [m.id for m in maps.list(account_id=a)] == [map_id]
    edited = present(maps.edit(map_id, account_id=a, enabled=True, default_sni=f"*.{s.zones['a']['name']}"))
    assert (edited.enabled, edited.default_sni) == (True, f"*.{s.zones['a']['name']}")

    maps.ips.update(s6.ip(1), account_id=a, address_map_id=map_id)
    maps.ips.update(s.ip(2), account_id=a, address_map_id=map_id)
    maps.accounts.update(a, account_id=a, address_map_id=map_id)
    got = present(maps.get(map_id, account_id=a))
    assert [i.ip for i in present(got.ips)] == [s.ip(1), s.ip(2), s6.ip(1)]
    assert [(m.kind, m.identifier) for m in present(got.memberships)] == [("account", a), ("zone", zone)]

    assert maps.ips.delete(s.ip(1), account_id=a, address_map_id=map_id).success is True
    assert maps.accounts.delete(a, account_id=a, address_map_id=map_id).success is True
    client = sdk(world.alice)
    zone_path = f"/accounts/{a}/addressing/address_maps/{map_id}/zones/{zone}"
    assert client.delete(zone_path, cast_to=httpx.Response).status_code == 200
    assert client.put(zone_path, cast_to=httpx.Response).status_code == 200
    got = present(maps.get(map_id, account_id=a))
    assert [i.ip for i in present(got.ips)] == [s.ip(2), s6.ip(1)]
    assert [(m.kind, m.identifier) for m in present(got.memberships)] == [("zone", zone)]

    with pytest.raises(ConflictError) as conflict:
        maps.delete(map_id, account_id=a)
    assert conflict.value.status_code == 409 and "disable it" in str(conflict.value)
    maps.edit(map_id, account_id=a, enabled=False)
    assert maps.delete(map_id, account_id=a).success is True
    with pytest.raises(NotFoundError):
        maps.get(map_id, account_id=a)


def test_sdk_sees_refusals_as_its_errors(world: World, sdk: SdkFor) -> None:
    s = stage(world, bind=False)
    maps = sdk(world.bob).addressing.address_maps
    b = world.b
    map_id = present(present(maps.create(account_id=b)).id)
    with pytest.raises(BadRequestError) as refused:
        maps.ips.update(s.ip(1), account_id=b, address_map_id=map_id)  # A's, not delegated to B
    body: Any = refused.value.body
    assert body["errors"][0]["code"] == 2101
    with pytest.raises(BadRequestError):
        maps.accounts.update(world.a, account_id=b, address_map_id=map_id)
    s.delegate(s.cidr(0, 30))
    maps.ips.update(s.ip(1), account_id=b, address_map_id=map_id)
    assert [i.ip for i in present(present(maps.get(map_id, account_id=b)).ips)] == [s.ip(1)]


def test_wire_shapes_validate_strictly_against_the_sdk_models(world: World) -> None:
    """The SDK builds its objects without validation; validate our JSON with its models instead."""
    s = stage(world, bind=False)
    alice, a = s.owner, world.a
    created = create_map(
        alice, a, ips=[s.ip(1)], memberships=[{"kind": "account", "identifier": a}], description="shop"
    )
    AddressMapCreateResponse.model_validate(created)
    full = assert_ok(alice.get(map_url(a, created["id"])))
    AddressMapGetResponse.model_validate(full)
    for item in assert_ok(alice.get(maps_url(a))):
        AddressMap.model_validate(item)
    AddressMap.model_validate(assert_ok(alice.patch(map_url(a, created["id"]), json={"enabled": True})))
    assert set(full) == set(AddressMapGetResponse.model_fields)
