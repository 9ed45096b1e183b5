"""Tenant isolation over real HTTP: a stranger's token is refused on every route of the app,
learns nothing about other accounts, and cannot tell a foreign account from a missing one."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass, field
from secrets import token_hex
from typing import Any

import httpx
import pytest

from prefixgate.api.app import API_PREFIX
from prefixgate.domain.roles import ADMINISTRATOR
from tests.api.helpers import (
    NO_ID,
    Scene,
    assert_ok,
    assert_refused,
    build_scene,
    delegations_url,
    first_subnet,
    prefix_url,
    world_state,
)
from tests.support import World


@dataclass(frozen=True)
class Operation:
    method: str
    path: str  # relative to API_PREFIX, with {placeholders}
    path_params: tuple[str, ...]
    query: dict[str, Any]  # the schemas of required query parameters, by name
    body: dict[str, Any] | None  # the JSON schema of the request body
    spec: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def operations(spec: dict[str, Any]) -> list[Operation]:
    """Every operation of the API, from the OpenAPI document the server publishes."""
    ops = []
    for path, methods in spec["paths"].items():
        if not path.startswith(API_PREFIX):
            continue  # /healthz and /readyz answer anyone and know no tenant
        for method, op in methods.items():
            params = op.get("parameters", [])
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            ops.append(
                Operation(
                    method=method.upper(),
                    path=path.removeprefix(API_PREFIX),
                    path_params=tuple(p["name"] for p in params if p["in"] == "path"),
                    query={p["name"]: p["schema"] for p in params if p["in"] == "query" and p.get("required")},
                    body=body,
                    spec=spec,
                )
            )
    return ops


@pytest.fixture
def scene(world: World) -> Scene:
    return build_scene(world)


@pytest.fixture
def ops(scene: Scene) -> list[Operation]:
    spec = assert_ok_json(scene.w.client(scene.w.eve).get("/openapi.json"))
    found = operations(spec)
    assert len(found) >= 24, [f"{o.method} {o.path}" for o in found]
    paths = {o.path for o in found}
    assert "/accounts/{account_id}/addressing/received_delegations" in paths
    assert "/accounts/{account_id}/addressing/ip_access" in paths
    return found


def assert_ok_json(r: httpx.Response) -> dict[str, Any]:
    assert r.status_code == 200, r.text
    spec: dict[str, Any] = r.json()
    return spec


def spectrum_objects(s: Scene) -> dict[str, dict[str, Any]]:
    """Alice's zone (with a fallback origin and a custom hostname), a Spectrum binding of her approved
    prefix, an app on one of its addresses, and an address map."""
    alice, a = s.w.client(s.w.alice), s.w.a
    services = assert_ok(alice.get(f"/accounts/{a}/addressing/services"))
    spectrum = next(x["id"] for x in services if x["name"] == "Spectrum")
    zone = assert_ok(alice.post("/zones", json={"name": f"iso{token_hex(6)}.example.com", "account": {"id": a}}))
    bind = {"cidr": s.p4["cidr"], "service_id": spectrum}
    binding = assert_ok(alice.post(f"{prefix_url(a, s.p4['id'])}/bindings", json=bind), 201)
    app = {
        "protocol": "tcp/22",
        "dns": {"type": "ADDRESS", "name": f"ssh.{zone['name']}"},
        "edge_ips": {"type": "static", "ips": [str(ipaddress.ip_network(s.p4["cidr"])[200])]},
        "origin_direct": ["tcp://192.0.2.1:22"],
    }
    address_map = {
        "description": "alice's map",
        "ips": [str(ipaddress.ip_network(s.p4["cidr"])[201])],
        "memberships": [{"kind": "zone", "identifier": zone["id"]}, {"kind": "account", "identifier": a}],
    }
    fallback = {"origin": f"fallback.{zone['name']}"}
    assert_ok(alice.put(f"/zones/{zone['id']}/custom_hostnames/fallback_origin", json=fallback))
    hostname = {"hostname": f"shop-{token_hex(5)}.example.net", "ssl": {"method": "txt", "type": "dv"}}
    return {
        "zone": zone,
        "binding": binding,
        "hostname": assert_ok(alice.post(f"/zones/{zone['id']}/custom_hostnames", json=hostname)),
        "app": assert_ok(alice.post(f"/zones/{zone['id']}/spectrum/apps", json=app)),
        "address_map": assert_ok(alice.post(f"/accounts/{a}/addressing/address_maps", json=address_map)),
    }


@dataclass(frozen=True)
class Alice:
    ids: dict[str, str]  # real ids of alice's objects, by path parameter name
    secrets: list[str]  # strings that must never reach a stranger


@pytest.fixture
def alice(scene: Scene) -> Alice:
    """Routes without an id of anyone else's (/user, /user/tokens, GET /accounts ...) act on the
    caller's own data: for them only leaks are checked."""
    extra = spectrum_objects(scene)
    ids = {
        "account_id": scene.w.a,
        "prefix_id": scene.p4["id"],
        "delegation_id": scene.d4["id"],
        "member_id": scene.alice_member_id,
        "token_id": scene.alice_token_id,
        "role_id": ADMINISTRATOR.id,
        "zone_id": extra["zone"]["id"],
        "binding_id": extra["binding"]["id"],
        "app_id": extra["app"]["id"],
        "address_map_id": extra["address_map"]["id"],
        "ip_address": extra["address_map"]["ips"][0]["ip"],
        "member_account_id": scene.w.a,
        "custom_hostname_id": extra["hostname"]["id"],
    }
    hostname = extra["hostname"]
    names = [extra["zone"]["name"], extra["app"]["dns"]["name"], *extra["app"]["edge_ips"]["ips"]]
    names += [hostname["hostname"], hostname["ownership_verification"]["value"], f"fallback.{extra['zone']['name']}"]
    own = ("zone_id", "binding_id", "app_id", "address_map_id", "ip_address", "custom_hostname_id")
    return Alice(ids, [*secrets_of_alice(scene), *names, *(ids[k] for k in own)])


def secrets_of_alice(s: Scene) -> list[str]:
    """Strings that must never reach a stranger: A's ids, CIDRs and people, and the delegatee."""
    w = s.w
    values = [w.a, w.b, w.alice.email, w.alice.user_id, w.alice.token, w.alice.api_key, w.bob.email]
    values += [w.reader.email, w.writer.email, s.alice_member_id, s.alice_token_id]
    for obj in (s.p4, s.p6, s.d4, s.d6):
        values += [obj["id"], obj["cidr"]]
    return values


@dataclass(frozen=True)
class Filler:
    """Valid values for body fields and query parameters, so that only authorization can refuse a call."""

    spec: dict[str, Any]
    scene: Scene
    op: Operation

    def known(self, name: str) -> Any:
        s = self.scene
        return {
            "cidr": first_subnet(s.p4["cidr"], 28) if "delegations" in self.op.path else s.free4,
            "asn": 13335,
            "delegated_account_id": s.w.c,
            "account": {"id": s.w.a},
            "email": s.w.eve.email,
            "roles": [ADMINISTRATOR.id],
            "description": "changed by a stranger",
            "ip": str(ipaddress.ip_network(s.d4["cidr"])[1]),
            "name": "stranger.example.com",
            "policies": [],
        }.get(name)

    def value(self, name: str, schema: dict[str, Any]) -> Any:
        schema = _resolve(self.spec, schema)
        if self.known(name) is not None:
            return self.known(name)
        if "properties" in schema:
            return self.object(schema)
        if "enum" in schema:
            return schema["enum"][0]
        if schema.get("default") is not None:
            return schema["default"]
        kinds = {"string": "x", "integer": 1, "number": 1, "boolean": False, "array": [], "object": {}}
        if schema.get("type") in kinds:
            return kinds[schema["type"]]
        alternatives = [alt for alt in schema.get("anyOf", []) if alt.get("type") != "null"]
        return self.value(name, alternatives[0]) if alternatives else None

    def object(self, schema: dict[str, Any]) -> dict[str, Any]:
        required = set(schema.get("required", []))
        props = schema.get("properties", {})
        return {n: self.value(n, p) for n, p in props.items() if n in required or n in ("cidr", "asn", "description")}


def owned_by_alice(s: Scene, ids: dict[str, str]) -> list[Any]:
    """Alice's zone, app, bindings, address map, custom hostname and fallback origin, as she reads them (the
    tenant snapshot does not hold them)."""
    alice, zone = s.w.client(s.w.alice), f"/zones/{ids['zone_id']}"
    paths = [zone, f"{zone}/spectrum/apps/{ids['app_id']}", f"{prefix_url(s.w.a, ids['prefix_id'])}/bindings"]
    paths += [f"{zone}/custom_hostnames/{ids['custom_hostname_id']}", f"{zone}/custom_hostnames/fallback_origin"]
    paths.append(f"/accounts/{s.w.a}/addressing/address_maps/{ids['address_map_id']}")
    return [assert_ok(alice.get(p)) for p in paths]


def call(client: httpx.Client, op: Operation, s: Scene, ids: dict[str, str]) -> httpx.Response:
    # A parameter the `alice` fixture does not know yet gets a well-formed id nobody has: the route
    # is still covered (refused, leaks nothing), and the fixture should learn it when it is added.
    path = op.path.format(**{name: ids.get(name, NO_ID) for name in op.path_params})
    fill = Filler(op.spec, s, op)
    params = {name: fill.value(name, schema) for name, schema in op.query.items()}
    body = fill.value("", op.body) if op.body is not None else None
    return client.request(op.method, path, params=params or None, json=body)


def assert_no_leak(r: httpx.Response, secrets: list[str], what: str) -> None:
    text = r.text + "".join(f"{k}: {v}\n" for k, v in r.headers.items())
    leaked = [x for x in secrets if x in text]
    assert not leaked, f"{what} leaked {leaked}: {r.text}"


def test_a_stranger_is_refused_on_every_route(scene: Scene, alice: Alice, ops: list[Operation]) -> None:
    eve, secrets, ids = scene.w.client(scene.w.eve), alice.secrets, alice.ids
    before = world_state(scene.w), owned_by_alice(scene, ids)
    for op in ops:
        what = f"eve: {op.method} {op.path}"
        r = call(eve, op, scene, ids)
        assert r.status_code < 500, f"{what}: {r.text}"
        if (op.method, op.path) == ("POST", "/accounts"):
            assert_refused(r, 403, 9109)
        elif op.path_params:
            assert r.status_code in (403, 404), f"{what}: {r.status_code} {r.text}"
            assert_refused(r, {403, 404})
        assert_no_leak(r, secrets, what)
    after = world_state(scene.w)
    assert after["a"] == before[0]["a"] and after["b"] == before[0]["b"] and after["alice"] == before[0]["alice"]
    assert owned_by_alice(scene, ids) == before[1]


def test_a_stranger_cannot_tell_foreign_from_missing_accounts(scene: Scene, alice: Alice, ops: list[Operation]) -> None:
    eve, ids = scene.w.client(scene.w.eve), alice.ids
    malformed = ["not-an-id", "x" * 300, scene.w.a.upper(), "%00", "%27%20OR%20%271%27%3D%271", NO_ID]
    for op in (o for o in ops if "account_id" in o.path_params):
        foreign = call(eve, op, scene, ids)
        assert_refused(foreign, 403, 9109)
        for account_id in malformed:
            other = call(eve, op, scene, {**ids, "account_id": account_id})
            answer = (other.status_code, other.json())
            assert answer == (foreign.status_code, foreign.json()), f"{op.method} {op.path} with {account_id!r}"


def test_the_delegatee_cannot_touch_the_owners_prefix(scene: Scene) -> None:
    w, s = scene.w, scene
    bob = w.client(w.bob)
    before = world_state(w)
    p4 = s.p4["id"]
    for account in (w.a, w.b):  # A's own URLs, and A's ids smuggled under B's URLs
        attempts = [
            bob.get(prefix_url(account, p4)),
            bob.patch(prefix_url(account, p4), json={"description": "mine now"}),
            bob.delete(prefix_url(account, p4)),
            bob.post(f"{prefix_url(account, p4)}/validate"),
            bob.get(delegations_url(account, p4)),
            bob.post(delegations_url(account, p4), json={"cidr": s.p4["cidr"], "delegated_account_id": w.c}),
            bob.delete(f"{delegations_url(account, p4)}/{s.d4['id']}"),
        ]
        for r in attempts:
            assert_refused(r, 403 if account == w.a else 404)
    assert world_state(w) == before


def test_the_delegatee_sees_what_it_received(scene: Scene) -> None:
    w, s = scene.w, scene
    bob = w.client(w.bob)
    received = assert_ok(bob.get(f"/accounts/{w.b}/addressing/received_delegations"))
    by_id = {d["id"]: d for d in received}
    assert set(by_id) == {s.d4["id"], s.d6["id"]}
    for d, parent in ((s.d4, s.p4), (s.d6, s.p6)):
        got = by_id[d["id"]]
        assert got["owner_account_id"] == w.a and got["delegated_account_id"] == w.b
        assert got["cidr"] == d["cidr"] and got["parent_prefix_cidr"] == parent["cidr"]
    access = f"/accounts/{w.b}/addressing/ip_access"
    inside = assert_ok(bob.get(access, params={"ip": str(ipaddress.ip_network(s.d4["cidr"])[7])}))
    assert inside["access"] == "delegated" and inside["allowed"] is True and inside["prefix"] is None
    pending = assert_ok(bob.get(access, params={"ip": str(ipaddress.ip_network(s.d6["cidr"])[7])}))
    assert pending["access"] == "delegated" and pending["allowed"] is False
    outside = assert_ok(bob.get(access, params={"ip": str(ipaddress.ip_network(s.p4["cidr"])[-2])}))
    assert outside["access"] == "none" and outside["allowed"] is False


def addresses_of_alice(s: Scene) -> Iterator[str]:
    for cidr in (s.d4["cidr"], s.p4["cidr"], s.d6["cidr"], s.p6["cidr"]):
        net = ipaddress.ip_network(cidr)
        yield from (str(net[1]), str(net[-2]))


def test_a_strangers_ip_access_says_none_and_leaks_nothing(scene: Scene) -> None:
    w = scene.w
    eve, secrets = w.client(w.eve), secrets_of_alice(scene)
    for ip in addresses_of_alice(scene):
        r = eve.get(f"/accounts/{w.c}/addressing/ip_access", params={"ip": ip})
        result = assert_ok(r)
        assert result == {
            "ip": ip,
            "account_id": w.c,
            "access": "none",
            "allowed": False,
            "message": result["message"],
            "prefix": None,
            "delegations": [],
        }
        assert_no_leak(r, secrets, f"ip_access({ip})")
        refused = eve.get(f"/accounts/{w.a}/addressing/ip_access", params={"ip": ip})
        assert_refused(refused, 403, 9109)
        assert_no_leak(refused, secrets, f"ip_access({ip}) on A")
