"""Zones, services, service bindings and Spectrum apps driven by the unmodified official
Cloudflare SDK (5.x) over real HTTP, plus a strict check of our wire shapes against its models."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from cloudflare import APIStatusError, BadRequestError, ConflictError, NotFoundError
from cloudflare.types.addressing.prefixes import ServiceBinding
from cloudflare.types.addressing.service_list_response import ServiceListResponse
from cloudflare.types.spectrum.app_get_response import SpectrumConfigAppConfig
from cloudflare.types.zones import Zone
from pydantic import BaseModel

from prefixgate.domain.bindings import CDN, SPECTRUM
from prefixgate.service import identity
from prefixgate.service.context import Actor
from tests.api.conftest import SdkFor
from tests.api.helpers import assert_ok, create_prefix, present
from tests.api.spectrum_helpers import (
    NOT_AUTHORIZED,
    Stage,
    app_body,
    app_url,
    apps_url,
    bindings_url,
    stage,
    zone_name,
)
from tests.support import World, unique_v4_prefix


def refused(fn: Callable[[], object], error: type[APIStatusError]) -> list[dict[str, Any]]:
    """Call fn; the SDK must raise `error`. Returns the envelope's errors."""
    with pytest.raises(error) as info:
        fn()
    body = info.value.body
    assert isinstance(body, dict)
    errors: list[dict[str, Any]] = body["errors"]
    return errors


def ssh(s: Stage, who: str, ip: str, port: int = 22, label: str = "ssh") -> dict[str, Any]:
    """Keyword arguments for spectrum.apps.create/update."""
    zone = s.zones[who]
    return {
        "zone_id": zone["id"],
        "protocol": f"tcp/{port}",
        "traffic_type": "direct",
        "dns": {"type": "ADDRESS", "name": f"{label}.{zone['name']}"},
        "edge_ips": {"type": "static", "ips": [ip]},
        "origin_direct": [f"tcp://192.0.2.1:{port}"],
    }


def test_sdk_zone_lifecycle(world: World, sdk: SdkFor) -> None:
    zones = sdk(world.alice).zones
    name = zone_name()
    zone = present(zones.create(account={"id": world.a}, name=name, type="full"))
    assert isinstance(zone, Zone) and zone.name == name and zone.status == "active" and zone.paused is False
    assert zone.account.id == world.a and isinstance(zone.created_on, datetime)
    got = present(zones.get(zone_id=zone.id))
    assert (got.id, got.name) == (zone.id, name)
    assert [z.id for z in zones.list(name=name.upper())] == [zone.id]
    assert [z.id for z in sdk(world.bob).zones.list()] == []
    bobs = present(sdk(world.bob).zones.create(account={"id": world.b}, name=zone_name()))
    identity.add_member(world.server.db, Actor.cli(), world.b, world.alice.email, ["Spectrum: Read"])
    assert [z.id for z in zones.list(account={"id": world.a})] == [zone.id]
    assert [z.id for z in zones.list(account={"id": world.b})] == [bobs.id]
    assert {z.id for z in zones.list()} == {zone.id, bobs.id}
    assert present(zones.edit(zone_id=zone.id, paused=True)).paused is True
    assert present(zones.get(zone_id=zone.id)).paused is True

    [dup] = refused(lambda: zones.create(account={"id": world.a}, name=name), ConflictError)
    assert dup["code"] == 1701
    refused(lambda: sdk(world.bob).zones.get(zone_id=zone.id), NotFoundError)
    assert present(zones.delete(zone_id=zone.id)).id == zone.id
    refused(lambda: zones.get(zone_id=zone.id), NotFoundError)


def test_sdk_services_and_service_bindings(world: World, sdk: SdkFor) -> None:
    cf = sdk(world.alice)
    services = {s.name: s.id for s in cf.addressing.services.list(account_id=world.a)}
    assert services == {"Magic Transit": services["Magic Transit"], "CDN": CDN.id, "Spectrum": SPECTRUM.id}

    prefix = create_prefix(world.client(world.alice), world.a, unique_v4_prefix())
    bindings = cf.addressing.prefixes.service_bindings
    made = present(bindings.create(prefix["id"], account_id=world.a, cidr=prefix["cidr"], service_id=SPECTRUM.id))
    assert isinstance(made, ServiceBinding)
    assert (made.cidr, made.service_id, made.service_name) == (prefix["cidr"], SPECTRUM.id, "Spectrum")
    assert present(made.provisioning).state == "provisioning"
    mid = present(made.id)
    got = present(bindings.get(mid, account_id=world.a, prefix_id=prefix["id"]))
    assert got.id == mid and present(got.provisioning).state == "active"
    sub = prefix["cidr"].replace(".0/24", ".0/25")
    cdn = present(bindings.create(prefix["id"], account_id=world.a, cidr=sub, service_id=CDN.id))
    assert [b.id for b in bindings.list(prefix["id"], account_id=world.a)] == [mid, cdn.id]

    [first] = refused(
        lambda: bindings.create(prefix["id"], account_id=world.a, cidr=sub, service_id=CDN.id), ConflictError
    )
    assert first["code"] == 1602
    deleted = bindings.delete(present(cdn.id), account_id=world.a, prefix_id=prefix["id"])
    assert deleted.success is True and deleted.errors == []
    refused(lambda: bindings.get(present(cdn.id), account_id=world.a, prefix_id=prefix["id"]), NotFoundError)
    assert [b.id for b in bindings.list(prefix["id"], account_id=world.a)] == [mid]


def test_sdk_spectrum_app_lifecycle(world: World, sdk: SdkFor) -> None:
    s = stage(world)
    s.delegate(s.cidr(4, 32))
    apps = sdk(world.bob).spectrum.apps
    zid = s.zones["b"]["id"]
    app = present(apps.create(**ssh(s, "b", s.ip(4))))
    assert app.protocol == "tcp/22" and app.dns.name == f"ssh.{s.zones['b']['name']}"
    assert isinstance(app.created_on, datetime) and app.origin_direct == ["tcp://192.0.2.1:22"]
    got = present(apps.get(app.id, zone_id=zid))
    assert got.id == app.id and got.protocol == "tcp/22"

    updated = present(apps.update(app.id, **ssh(s, "b", s.ip(4), port=2222, label="alt")))
    assert updated.id == app.id and updated.protocol == "tcp/2222"
    assert present(apps.get(app.id, zone_id=zid)).dns.name == f"alt.{s.zones['b']['name']}"
    assert [a.id for a in apps.list(zone_id=zid)] == [app.id]

    errors = refused(lambda: apps.create(**ssh(s, "b", s.ip(5), label="x")), BadRequestError)
    assert errors[0] == {"code": 11019, "message": NOT_AUTHORIZED} and errors[1]["message"].startswith(s.ip(5))
    errors = refused(lambda: sdk(world.alice).spectrum.apps.create(**ssh(s, "a", s.ip(4), 2222)), ConflictError)
    assert errors[0]["code"] == 1803 and app.id in errors[0]["message"]

    assert present(apps.delete(app.id, zone_id=zid)).id == app.id
    refused(lambda: apps.get(app.id, zone_id=zid), NotFoundError)


def test_sdk_list_iterates_every_page(world: World, sdk: SdkFor) -> None:
    s = stage(world)
    made = {s.create_app("a", s.ip(1), f"tcp/{2000 + i}", label=f"n{i}")["id"] for i in range(7)}
    apps = sdk(world.alice).spectrum.apps
    zid = s.zones["a"]["id"]
    first = apps.list(zone_id=zid, per_page=3)
    info = present(first.result_info)
    assert len(first.result) == 3 and (info.page, info.per_page) == (1, 3) and first.has_next_page()
    listed = [a.id for a in apps.list(zone_id=zid, per_page=3)]
    assert len(listed) == 7 and set(listed) == made
    desc = [a.protocol for a in apps.list(zone_id=zid, per_page=3, order="protocol", direction="desc")]
    assert desc == [f"tcp/{2006 - i}" for i in range(7)]


@pytest.mark.parametrize(
    ("model", "path"),
    [
        pytest.param(Zone, "zone", id="zone"),
        pytest.param(ServiceBinding, "binding", id="binding"),
        pytest.param(ServiceListResponse, "service", id="service"),
        pytest.param(SpectrumConfigAppConfig, "app", id="app"),
    ],
)
def test_wire_shapes_validate_strictly_against_the_sdk_models(world: World, model: type[BaseModel], path: str) -> None:
    """The SDK builds its objects without validation; validate our JSON with its models instead."""
    s = stage(world)
    app = s.create_app("a", s.ip(1))
    alice = s.owner
    zone = s.zones["a"]
    variants = (
        {"origin_direct": None, "origin_dns": {"name": "origin.example.net", "ttl": 60}, "origin_port": "3000-3010"},
        {
            "dns": {"type": "CNAME", "name": f"dyn.{zone['name']}"},
            "edge_ips": {"type": "dynamic", "connectivity": "all"},
        },
    )
    for extra in variants:  # the list below must validate these shapes too
        assert_ok(alice.post(apps_url(zone["id"]), json={**app_body(zone["name"], s.ip(2), "tcp/1000-1010"), **extra}))
    raw = {
        "zone": lambda: assert_ok(alice.get(f"/zones/{s.zones['a']['id']}")),
        "binding": lambda: s.bindings()[0],
        "service": lambda: assert_ok(alice.get(f"/accounts/{world.a}/addressing/services"))[0],
        "app": lambda: assert_ok(alice.get(app_url(s.zones["a"]["id"], app["id"]))),
    }[path]()
    model.model_validate(raw)
    listed = {
        "zone": lambda: assert_ok(alice.get("/zones", params={"account.id": world.a})),
        "binding": lambda: assert_ok(alice.get(bindings_url(world.a, s.pid))),
        "service": lambda: assert_ok(alice.get(f"/accounts/{world.a}/addressing/services")),
        "app": lambda: assert_ok(alice.get(apps_url(s.zones["a"]["id"]))),
    }[path]()
    assert len(listed) == {"zone": 1, "binding": 1, "service": 3, "app": 3}[path]
    for item in listed:
        model.model_validate(item)
