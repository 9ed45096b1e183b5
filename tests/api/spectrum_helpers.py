"""Shared by the zone, binding and Spectrum API tests: a /24 of A bound to Spectrum, one zone in
each of A, B and C, builders for apps, and the operator's edge resolve answer."""

from __future__ import annotations

import ipaddress
import secrets
from dataclasses import dataclass
from typing import Any

import httpx

from prefixgate.domain.bindings import SPECTRUM, Service
from prefixgate.service import identity
from prefixgate.service.context import Actor
from tests.api.helpers import assert_ok, create_prefix, delegate, delegations_url, prefix_url
from tests.support import Member, World, make_member, unique_v4_prefix, unique_v6_prefix

NOT_AUTHORIZED = "The authenticated account is not authorized to use the provided edge_ips."


def zone_name(label: str = "z") -> str:
    """A zone name no other test uses (the database is shared across the session)."""
    return f"{label}{secrets.token_hex(6)}.example.com"


def apps_url(zone_id: str) -> str:
    return f"/zones/{zone_id}/spectrum/apps"


def app_url(zone_id: str, app_id: str) -> str:
    return f"{apps_url(zone_id)}/{app_id}"


def bindings_url(account_id: str, prefix_id: str) -> str:
    return f"{prefix_url(account_id, prefix_id)}/bindings"


def create_zone(client: httpx.Client, account_id: str, name: str | None = None) -> dict[str, Any]:
    body = {"name": name or zone_name(), "account": {"id": account_id}}
    result: dict[str, Any] = assert_ok(client.post("/zones", json=body))
    return result


def app_body(zone_name: str, ip: str | list[str], protocol: str = "tcp/22", label: str = "app") -> dict[str, Any]:
    """A static-IP app with a direct origin: the shape the docs' example uses."""
    transport = protocol.partition("/")[0]
    return {
        "protocol": protocol,
        "dns": {"type": "ADDRESS", "name": f"{label}.{zone_name}"},
        "edge_ips": {"type": "static", "ips": [ip] if isinstance(ip, str) else ip},
        "origin_direct": [f"{transport}://192.0.2.1:22"],
    }


def errors_of(r: httpx.Response) -> list[dict[str, Any]]:
    errors: list[dict[str, Any]] = r.json()["errors"]
    return errors


def assert_not_authorized(r: httpx.Response, ip: str, reason: str) -> None:
    """Cloudflare's 11019 refusal, then one error naming `ip` and the reason."""
    assert r.status_code == 400, r.text
    errors = errors_of(r)
    assert errors[0] == {"code": 11019, "message": NOT_AUTHORIZED}
    assert len(errors) == 2, errors
    assert errors[1]["code"] == 11019
    assert errors[1]["message"].startswith(f"{ip}: {reason}: "), errors[1]


def audit_entries(client: httpx.Client, account_id: str, action: str) -> list[dict[str, Any]]:
    log = assert_ok(client.get(f"/accounts/{account_id}/audit_logs", params={"per_page": 1000}))
    return [e for e in log if e["action"]["type"] == action]


def member_with_role(world: World, account_id: str, role: str) -> Member:
    member = make_member(world.server.db, role.split(":")[0].lower().replace(" ", "-"))
    identity.add_member(world.server.db, Actor.cli(), account_id, member.email, [role])
    return member


@dataclass
class Stage:
    """A's /24 (approved unless asked otherwise, bound whole to Spectrum unless asked otherwise)
    and one zone in each of A, B and C. `who` is "a", "b" or "c" throughout."""

    world: World
    prefix: dict[str, Any]
    zones: dict[str, dict[str, Any]]

    @property
    def pid(self) -> str:
        return str(self.prefix["id"])

    @property
    def bindings_url(self) -> str:
        return bindings_url(self.world.a, self.pid)

    @property
    def delegations_url(self) -> str:
        return delegations_url(self.world.a, self.pid)

    @property
    def owner(self) -> httpx.Client:
        return self.client("a")

    def ip(self, host: int) -> str:
        return str(ipaddress.ip_network(self.prefix["cidr"])[host])

    def cidr(self, host: int, length: int) -> str:
        return str(ipaddress.ip_network(f"{self.ip(host)}/{length}", strict=False))

    def client(self, who: str) -> httpx.Client:
        w = self.world
        return w.client({"a": w.alice, "b": w.bob, "c": w.eve}[who])

    def account(self, who: str) -> str:
        w = self.world
        return {"a": w.a, "b": w.b, "c": w.c}[who]

    def post_app(self, who: str, ip: str | list[str], protocol: str = "tcp/22", label: str = "app") -> httpx.Response:
        zone = self.zones[who]
        return self.client(who).post(apps_url(zone["id"]), json=app_body(zone["name"], ip, protocol, label))

    def create_app(self, who: str, ip: str | list[str], protocol: str = "tcp/22", label: str = "app") -> dict[str, Any]:
        result: dict[str, Any] = assert_ok(self.post_app(who, ip, protocol, label))
        assert result["status"] == "active" and result["blocked_reason"] is None, result
        return result

    def get_app(self, who: str, app_id: str) -> dict[str, Any]:
        result: dict[str, Any] = assert_ok(self.client(who).get(app_url(self.zones[who]["id"], app_id)))
        return result

    def delegate(self, cidr: str, to: str = "b") -> dict[str, Any]:
        return delegate(self.owner, self.world.a, self.pid, cidr, self.account(to))

    def bind(self, cidr: str, service: Service, *, force: bool = False) -> httpx.Response:
        params = {"force": "true"} if force else {}
        return self.owner.post(self.bindings_url, json={"cidr": cidr, "service_id": service.id}, params=params)

    def bindings(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = assert_ok(self.owner.get(self.bindings_url))
        return result

    def resolve(self, ip: str, port: int, protocol: str = "tcp") -> dict[str, Any]:
        op = self.world.client(self.world.operator)
        result: dict[str, Any] = assert_ok(
            op.get("/edge/resolve", params={"ip": ip, "protocol": protocol, "port": port})
        )
        return result


def stage(world: World, *, approve: bool = True, bind: bool = True, v6: bool = False) -> Stage:
    alice = world.client(world.alice)
    prefix = create_prefix(alice, world.a, unique_v6_prefix() if v6 else unique_v4_prefix())
    if approve:
        world.approve(prefix["id"])
    s = Stage(world, prefix, {})
    if bind:
        assert_ok(s.bind(prefix["cidr"], SPECTRUM), 201)
    s.zones = {who: create_zone(s.client(who), s.account(who)) for who in ("a", "b", "c")}
    return s
