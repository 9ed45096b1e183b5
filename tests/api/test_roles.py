"""Roles over real HTTP: "IP Prefixes: Read" reads everything and writes nothing, "IP Prefixes: Write"
manages prefixes and delegations but not members, only operators create accounts, and an account
always keeps an Administrator."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

import httpx
import pytest

from prefixgate.domain.roles import ADMINISTRATOR
from tests.api.helpers import (
    Scene,
    assert_ok,
    assert_refused,
    build_scene,
    create_prefix,
    delegate,
    delegations_url,
    first_subnet,
    member_id,
    prefix_url,
    prefixes_url,
    world_state,
)
from tests.support import World, unique_v4_prefix

Request = Callable[[httpx.Client], httpx.Response]


@pytest.fixture
def scene(world: World) -> Scene:
    return build_scene(world)


def reads(s: Scene) -> dict[str, Request]:
    a, p4 = s.w.a, s.p4["id"]
    ip = str(ipaddress.ip_network(s.d4["cidr"])[1])
    return {
        "account": lambda c: c.get(f"/accounts/{a}"),
        "prefixes": lambda c: c.get(prefixes_url(a)),
        "prefix": lambda c: c.get(prefix_url(a, p4)),
        "delegations": lambda c: c.get(delegations_url(a, p4)),
        "ip_access": lambda c: c.get(f"/accounts/{a}/addressing/ip_access", params={"ip": ip}),
        "received_delegations": lambda c: c.get(f"/accounts/{a}/addressing/received_delegations"),
        "members": lambda c: c.get(f"/accounts/{a}/members"),
        "member": lambda c: c.get(f"/accounts/{a}/members/{s.alice_member_id}"),
        "roles": lambda c: c.get(f"/accounts/{a}/roles"),
        "role": lambda c: c.get(f"/accounts/{a}/roles/{ADMINISTRATOR.id}"),
        "audit_logs": lambda c: c.get(f"/accounts/{a}/audit_logs"),
    }


def addressing_writes(s: Scene, spare_id: str) -> dict[str, Request]:
    """Valid writes on prefixes and delegations: only a missing permission can refuse them."""
    a, p4, p6 = s.w.a, s.p4["id"], s.p6["id"]
    second_26 = str(list(ipaddress.ip_network(s.p4["cidr"]).subnets(new_prefix=26))[1])
    return {
        "create prefix": lambda c: c.post(prefixes_url(a), json={"cidr": s.free4, "asn": 13335}),
        "edit prefix": lambda c: c.patch(prefix_url(a, p4), json={"description": "edited"}),
        "delete prefix": lambda c: c.delete(prefix_url(a, spare_id)),
        "validate prefix": lambda c: c.post(f"{prefix_url(a, p6)}/validate"),
        "create delegation": lambda c: c.post(
            delegations_url(a, p4), json={"cidr": second_26, "delegated_account_id": s.w.c}
        ),
        "delete delegation": lambda c: c.delete(f"{delegations_url(a, p4)}/{s.d4['id']}"),
    }


def member_writes(s: Scene) -> dict[str, Request]:
    writer_member = member_id(s.w.client(s.w.alice), s.w.a, s.w.writer.email)
    return {
        "add member": lambda c: c.post(
            f"/accounts/{s.w.a}/members", json={"email": s.w.eve.email, "roles": [ADMINISTRATOR.id]}
        ),
        "delete member": lambda c: c.delete(f"/accounts/{s.w.a}/members/{writer_member}"),
    }


def spare_prefix(s: Scene) -> str:
    """A pending prefix of A without delegations: deletable by anyone allowed to."""
    return str(create_prefix(s.w.client(s.w.alice), s.w.a, unique_v4_prefix())["id"])


def assert_all_refused(client: httpx.Client, writes: dict[str, Request], world: World) -> None:
    before = world_state(world)
    for name, write in writes.items():
        message = assert_refused(write(client), 403, 9109)
        assert "does not grant" in message, name
    assert world_state(world) == before


@pytest.mark.parametrize("role", ["reader", "writer"])
def test_prefix_roles_read_everything(scene: Scene, role: str) -> None:
    client = scene.w.client(getattr(scene.w, role))
    admin = scene.w.client(scene.w.alice)
    for name, read in reads(scene).items():
        r = read(client)
        assert assert_ok(r) == assert_ok(read(admin)), name


def test_reader_cannot_write_anything(scene: Scene) -> None:
    writes = {**addressing_writes(scene, spare_prefix(scene)), **member_writes(scene)}
    assert_all_refused(scene.w.client(scene.w.reader), writes, scene.w)


def test_writer_cannot_manage_members(scene: Scene) -> None:
    assert_all_refused(scene.w.client(scene.w.writer), member_writes(scene), scene.w)


def test_writer_manages_prefixes_and_delegations(scene: Scene) -> None:
    writer = scene.w.client(scene.w.writer)
    for name, write in addressing_writes(scene, spare_prefix(scene)).items():
        r = write(writer)
        assert r.status_code in (200, 201), f"{name}: {r.text}"
        assert r.json()["success"] is True, name
    a = scene.w.a
    cidrs = {p["cidr"] for p in assert_ok(writer.get(prefixes_url(a)))}
    assert scene.free4 in cidrs
    assert assert_ok(writer.get(prefix_url(a, scene.p4["id"])))["description"] == "edited"
    delegated = assert_ok(writer.get(delegations_url(a, scene.p4["id"])))
    assert [d["delegated_account_id"] for d in delegated] == [scene.w.c]
    actors = {e["actor"]["email"] for e in assert_ok(writer.get(f"/accounts/{a}/audit_logs"))}
    assert scene.w.writer.email in actors


def test_writer_can_undo_its_own_work(world: World) -> None:
    writer = world.client(world.writer)
    prefix = create_prefix(writer, world.a, unique_v4_prefix())
    d = delegate(writer, world.a, prefix["id"], first_subnet(prefix["cidr"], 25), world.b)
    assert_ok(writer.delete(f"{delegations_url(world.a, prefix['id'])}/{d['id']}"))
    assert_ok(writer.delete(prefix_url(world.a, prefix["id"])))
    assert assert_ok(writer.get(prefixes_url(world.a))) == []


@pytest.mark.parametrize("who", ["alice", "bob", "reader", "writer"])
def test_only_operators_create_accounts(world: World, who: str) -> None:
    client = world.client(getattr(world, who))
    before = assert_ok(client.get("/accounts"))
    assert_refused(client.post("/accounts", json={"name": "Mine"}), 403, 9109, "operators")
    assert assert_ok(client.get("/accounts")) == before


def test_operator_creates_an_account_and_administers_it(world: World) -> None:
    operator = world.client(world.operator)
    account = assert_ok(operator.post("/accounts", json={"name": "Operated"}))
    assert account["name"] == "Operated" and len(account["id"]) == 32
    assert account["id"] in {a["id"] for a in assert_ok(operator.get("/accounts"))}
    members = assert_ok(operator.get(f"/accounts/{account['id']}/members"))
    assert [(m["email"], [r["name"] for r in m["roles"]]) for m in members] == [
        (world.operator.email, ["Administrator"])
    ]
    assert_refused(world.client(world.alice).get(f"/accounts/{account['id']}"), 403, 9109)


def test_the_last_administrator_cannot_be_removed(world: World) -> None:
    alice = world.client(world.alice)
    members_url = f"/accounts/{world.a}/members"
    me = member_id(alice, world.a, world.alice.email)
    before = world_state(world)
    assert_refused(alice.delete(f"{members_url}/{me}"), 409, 1303, "last Administrator")
    assert world_state(world) == before
    # With a second Administrator either may go, but the one who stays is the last again.
    assert_ok(alice.post(members_url, json={"email": world.bob.email, "roles": ["Administrator"]}))
    assert_ok(alice.delete(f"{members_url}/{me}"))
    bob = world.client(world.bob)
    bobs = member_id(bob, world.a, world.bob.email)
    assert_refused(bob.delete(f"{members_url}/{bobs}"), 409, 1303)
    remaining = {m["email"] for m in assert_ok(bob.get(members_url))}
    assert remaining == {world.bob.email, world.reader.email, world.writer.email}
    assert_refused(alice.get(members_url), 403, 9109)
