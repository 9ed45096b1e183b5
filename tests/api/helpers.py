"""Shared by the API tests: envelope checks, an account with real prefixes and delegations,
and snapshots of everything a refused request must leave unchanged."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx

from tests.support import World, unique_v4_prefix, unique_v6_prefix

ENVELOPE_KEYS = {"success", "errors", "messages", "result"}
NO_ID = "0" * 32  # well-formed, but no object has it


def prefixes_url(account_id: str) -> str:
    return f"/accounts/{account_id}/addressing/prefixes"


def prefix_url(account_id: str, prefix_id: str) -> str:
    return f"{prefixes_url(account_id)}/{prefix_id}"


def delegations_url(account_id: str, prefix_id: str) -> str:
    return f"{prefix_url(account_id, prefix_id)}/delegations"


def first_subnet(cidr: str, length: int) -> str:
    return str(next(ipaddress.ip_network(cidr).subnets(new_prefix=length)))


def assert_ok(r: httpx.Response, status: int = 200) -> Any:
    """The response is a successful Cloudflare envelope; return its `result`."""
    assert r.status_code == status, r.text
    body = r.json()
    assert body["success"] is True and body["errors"] == [], body
    return body["result"]


def assert_refused(
    r: httpx.Response, status: int | set[int], code: int | set[int] | None = None, contains: str | None = None
) -> str:
    """The response is a 4xx Cloudflare error envelope (never 5xx); return its first message."""
    statuses = {status} if isinstance(status, int) else status
    assert r.status_code in statuses, f"{r.status_code} not in {statuses}: {r.text}"
    assert 400 <= r.status_code < 500, r.text
    body = r.json()
    assert set(body) == ENVELOPE_KEYS, body
    assert body["success"] is False and body["messages"] == [] and body["result"] is None, body
    assert body["errors"], body
    for err in body["errors"]:
        assert isinstance(err["code"], int) and err["code"] >= 1000, body
        assert isinstance(err["message"], str) and err["message"], body
    first = body["errors"][0]
    if code is not None:
        codes = {code} if isinstance(code, int) else code
        assert first["code"] in codes, body
    if contains is not None:
        assert contains in first["message"], body
    return str(first["message"])


def create_prefix(client: httpx.Client, account_id: str, cidr: str) -> dict[str, Any]:
    result: dict[str, Any] = assert_ok(client.post(prefixes_url(account_id), json={"cidr": cidr, "asn": 13335}), 201)
    return result


def delegate(client: httpx.Client, account_id: str, prefix_id: str, cidr: str, to: str) -> dict[str, Any]:
    body = {"cidr": cidr, "delegated_account_id": to}
    result: dict[str, Any] = assert_ok(client.post(delegations_url(account_id, prefix_id), json=body))
    return result


@dataclass
class Scene:
    """A world where A owns real objects.

    p4: alice's approved IPv4 prefix; d4 delegates its first /26 to B.
    p6: alice's pending IPv6 prefix; d6 delegates its first /56 to B.
    e4: eve's pending IPv4 prefix in C.
    free4 / free6: unique public prefixes nobody onboarded.
    """

    world: World
    p4: dict[str, Any]
    p6: dict[str, Any]
    d4: dict[str, Any]
    d6: dict[str, Any]
    e4: dict[str, Any]
    alice_member_id: str
    alice_token_id: str
    bob_member_id: str
    bob_token_id: str
    free4: str
    free6: str

    @property
    def w(self) -> World:
        return self.world


def member_id(client: httpx.Client, account_id: str, email: str) -> str:
    members = assert_ok(client.get(f"/accounts/{account_id}/members", params={"per_page": 50}))
    return str(next(m["id"] for m in members if m["email"] == email))


def token_id(client: httpx.Client) -> str:
    return str(assert_ok(client.get("/user/tokens/verify"))["id"])


def build_scene(world: World) -> Scene:
    alice, bob, eve = world.client(world.alice), world.client(world.bob), world.client(world.eve)
    p4 = create_prefix(alice, world.a, unique_v4_prefix())
    world.approve(p4["id"])
    p4 = assert_ok(alice.get(prefix_url(world.a, p4["id"])))
    d4 = delegate(alice, world.a, p4["id"], first_subnet(p4["cidr"], 26), world.b)
    p6 = create_prefix(alice, world.a, unique_v6_prefix())
    d6 = delegate(alice, world.a, p6["id"], first_subnet(p6["cidr"], 56), world.b)
    e4 = create_prefix(eve, world.c, unique_v4_prefix())
    return Scene(
        world=world,
        p4=p4,
        p6=p6,
        d4=d4,
        d6=d6,
        e4=e4,
        alice_member_id=member_id(alice, world.a, world.alice.email),
        alice_token_id=token_id(alice),
        bob_member_id=member_id(bob, world.b, world.bob.email),
        bob_token_id=token_id(bob),
        free4=unique_v4_prefix(),
        free6=unique_v6_prefix(),
    )


def account_state(client: httpx.Client, account_id: str) -> dict[str, Any]:
    """Everything an administrator of the account can read about it."""
    base = f"/accounts/{account_id}"
    prefixes = assert_ok(client.get(prefixes_url(account_id)))
    return {
        "prefixes": prefixes,
        "delegations": {p["id"]: assert_ok(client.get(delegations_url(account_id, p["id"]))) for p in prefixes},
        "received": assert_ok(client.get(f"{base}/addressing/received_delegations")),
        "members": assert_ok(client.get(f"{base}/members", params={"per_page": 50})),
        "audit": assert_ok(client.get(f"{base}/audit_logs", params={"per_page": 1000})),
    }


def user_state(client: httpx.Client) -> dict[str, Any]:
    """The caller's tokens (without last_used_on, which reading itself updates) and user audit log."""
    tokens = assert_ok(client.get("/user/tokens", params={"per_page": 50}))
    return {
        "tokens": [{k: v for k, v in t.items() if k != "last_used_on"} for t in tokens],
        "audit": assert_ok(client.get("/user/audit_logs", params={"per_page": 1000})),
    }


def world_state(world: World) -> dict[str, Any]:
    """A snapshot of all three tenants and of alice's and bob's tokens."""
    alice, bob, eve = world.client(world.alice), world.client(world.bob), world.client(world.eve)
    return {
        "a": account_state(alice, world.a),
        "b": account_state(bob, world.b),
        "c": account_state(eve, world.c),
        "alice": user_state(alice),
        "bob": user_state(bob),
    }


T = TypeVar("T")


def present(value: T | None) -> T:
    """The SDK types every field Optional; the value must be there."""
    assert value is not None
    return value
