"""Cached credentials never outlive a change made through this server: a deleted token, a removed
membership and a changed role are refused on the very next request (both engines). Members' roles are
changed with Cloudflare's Update Member (PUT, role objects), also through the official SDK."""

from __future__ import annotations

import httpx
from cloudflare import Cloudflare

from prefixgate.domain.roles import ADMINISTRATOR, role_by_name
from tests.api.conftest import SdkFor
from tests.api.helpers import assert_ok, assert_refused, prefixes_url
from tests.support import World, make_member

READ = role_by_name("IP Prefixes: Read")
WRITE = role_by_name("IP Prefixes: Write")
assert READ is not None and WRITE is not None


def _member_id(world: World, email: str) -> str:
    members = assert_ok(world.client(world.alice).get(f"/accounts/{world.a}/members"))
    return next(m["id"] for m in members if m["email"] == email)


def _warm(client: httpx.Client, url: str, times: int = 5) -> None:
    """Use a credential several times, so any cache holds it."""
    for _ in range(times):
        assert_ok(client.get(url))


def test_a_deleted_token_is_refused_on_the_next_request(world: World) -> None:
    member = make_member(world.server.db, "cached")
    with httpx.Client(base_url=world.server.api, headers=member.headers, timeout=30) as c:
        _warm(c, "/user")
        token_id = assert_ok(c.get("/user/tokens/verify"))["id"]
        assert_ok(c.delete(f"/user/tokens/{token_id}"))
        assert_refused(c.get("/user"), 401, 9109)
        assert_refused(c.get("/user/tokens"), 401, 9109)


def test_a_removed_member_is_refused_on_the_next_request(world: World) -> None:
    reader = world.client(world.reader)
    _warm(reader, prefixes_url(world.a))
    assert_ok(world.client(world.alice).delete(f"/accounts/{world.a}/members/{_member_id(world, world.reader.email)}"))
    assert_refused(reader.get(prefixes_url(world.a)), 403, 9109)
    assert world.a not in {a["id"] for a in assert_ok(reader.get("/accounts"))}


def test_a_changed_role_takes_effect_on_the_next_request(world: World) -> None:
    writer, alice = world.client(world.writer), world.client(world.alice)
    member_url = f"/accounts/{world.a}/members/{_member_id(world, world.writer.email)}"
    body = {"cidr": "10.0.0.0/24", "asn": 64500}  # private space: refused, but only after the role check
    assert_refused(writer.post(prefixes_url(world.a), json=body), 400, 1102)
    _warm(writer, prefixes_url(world.a))

    updated = assert_ok(alice.put(member_url, json={"roles": [{"id": READ.id}]}))
    assert [r["id"] for r in updated["roles"]] == [READ.id]
    assert_refused(writer.post(prefixes_url(world.a), json=body), 403, 9109)
    assert_ok(writer.get(prefixes_url(world.a)))  # reading is still allowed

    assert_ok(alice.put(member_url, json={"roles": [WRITE.id]}))  # role ids as strings work too
    assert_refused(writer.post(prefixes_url(world.a), json=body), 400, 1102)

    # A role granted to the caller itself counts at once as well: Account B's admin joins A as reader.
    bob = world.client(world.bob)
    assert_refused(bob.get(prefixes_url(world.a)), 403, 9109)
    assert_ok(alice.post(f"/accounts/{world.a}/members", json={"email": world.bob.email, "roles": [READ.id]}))
    assert_ok(bob.get(prefixes_url(world.a)))


def test_update_member_refusals_change_nothing(world: World) -> None:
    alice = world.client(world.alice)
    members_url = f"/accounts/{world.a}/members"
    mine = f"{members_url}/{_member_id(world, world.alice.email)}"
    before = assert_ok(alice.get(members_url))
    assert_refused(alice.put(mine, json={"roles": [{"id": READ.id}]}), 409, 1303, "last Administrator")
    assert_refused(alice.put(mine, json={"roles": [{"id": "f" * 32}]}), 400, 1302)
    assert_refused(alice.put(mine, json={"roles": []}), 400, 1001)
    assert_refused(alice.put(mine, json={"roles": [{"name": "Administrator"}]}), 400, 1001)
    assert_refused(alice.put(f"{members_url}/{'0' * 32}", json={"roles": [READ.id]}), 404, 1003)
    assert_refused(world.client(world.writer).put(mine, json={"roles": [READ.id]}), 403, 9109)
    assert_refused(world.client(world.eve).put(mine, json={"roles": [READ.id]}), 403, 9109)
    assert assert_ok(alice.get(members_url)) == before
    assert assert_ok(alice.get(prefixes_url(world.a))) is not None  # alice is still Administrator


def test_the_sdk_updates_a_members_roles(world: World, sdk: SdkFor) -> None:
    cf: Cloudflare = sdk(world.alice)
    member_id = _member_id(world, world.reader.email)
    updated = cf.accounts.members.update(member_id, account_id=world.a, roles=[{"id": ADMINISTRATOR.id}])
    assert updated is not None
    assert [r.id for r in updated.roles or []] == [ADMINISTRATOR.id]
    # The promoted reader may now manage members.
    assert_ok(world.client(world.reader).get(f"/accounts/{world.a}/members"))
    assert_ok(
        world.client(world.reader).put(
            f"/accounts/{world.a}/members/{_member_id(world, world.writer.email)}", json={"roles": [READ.id]}
        )
    )
    log = assert_ok(world.client(world.alice).get(f"/accounts/{world.a}/audit_logs"))
    updates = [e for e in log if e["action"]["type"] == "member.updated"]
    assert [(e["resource"]["id"], e["actor"]["id"]) for e in updates] == [
        (_member_id(world, world.writer.email), world.reader.user_id),
        (member_id, world.alice.user_id),
    ]
    assert [r["id"] for r in updates[1]["newValueJson"]["roles"]] == [ADMINISTRATOR.id]
