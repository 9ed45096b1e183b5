"""The API driven by the unmodified official Cloudflare SDK (5.x), over real HTTP.

Covers everything ../shared/conformance/sdk_smoke.py checks, plus accounts, members, roles,
API tokens, SDK auto-pagination and IPv6.
"""

from __future__ import annotations

import ipaddress
import itertools
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from cloudflare import APIStatusError

from prefixgate.service import identity
from prefixgate.service.context import Actor
from tests.api.conftest import SdkFor
from tests.api.helpers import present
from tests.support import Member, Server, World, make_member, unique_v4_prefix, unique_v6_prefix

READ_ROLE = "IP Prefixes: Read"


def status_of(fn: Callable[[], object]) -> int:
    """Call fn; it must raise the SDK's APIStatusError. Returns the HTTP status."""
    with pytest.raises(APIStatusError) as info:
        fn()
    return info.value.status_code


def ip_access(world: World, who: Member, account_id: str, ip: object) -> dict[str, Any]:
    r = world.client(who).get(f"/accounts/{account_id}/addressing/ip_access", params={"ip": str(ip)})
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()["result"]
    return result


def received(world: World, who: Member, account_id: str) -> list[dict[str, Any]]:
    r = world.client(who).get(f"/accounts/{account_id}/addressing/received_delegations")
    assert r.status_code == 200, r.text
    assert r.json()["success"] is True
    result: list[dict[str, Any]] = r.json()["result"]
    return result


def host(cidr: str, n: int) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    return ipaddress.ip_network(cidr)[n]


def test_prefix_create_get_list_edit_validate_delete(world: World, sdk: SdkFor) -> None:
    alice = sdk(world.alice)
    prefixes = alice.addressing.prefixes
    cidr = unique_v4_prefix()
    p = present(prefixes.create(account_id=world.a, cidr=cidr, asn=13335, description="docs example"))
    pid = present(p.id)
    assert (p.cidr, p.asn, p.approved, p.account_id, p.description) == (cidr, 13335, "P", world.a, "docs example")
    assert p.created_at is not None

    v = present(prefixes.validate(pid, account_id=world.a))
    assert (v.id, v.approved) == (pid, "P")
    assert (v.irr_validation_state, v.rpki_validation_state, v.ownership_validation_state) == ("pending",) * 3

    ed = present(prefixes.edit(pid, account_id=world.a, description="edited"))
    assert (ed.description, ed.cidr) == ("edited", cidr)
    got = present(prefixes.get(pid, account_id=world.a))
    assert (got.description, got.approved) == ("edited", "P")

    world.approve(pid)
    got = present(prefixes.get(pid, account_id=world.a))
    assert (got.approved, got.ownership_validation_state) == ("V", "valid")
    assert [x.id for x in prefixes.list(account_id=world.a)] == [pid]

    # Approved prefixes cannot be deleted; pending ones without delegations can.
    assert status_of(lambda: prefixes.delete(pid, account_id=world.a)) == 409
    q = present(prefixes.create(account_id=world.a, cidr=unique_v4_prefix(), asn=209242))
    qid = present(q.id)
    assert q.asn == 209242
    assert prefixes.delete(qid, account_id=world.a).success is True
    assert [x.id for x in prefixes.list(account_id=world.a)] == [pid]
    assert status_of(lambda: prefixes.get(qid, account_id=world.a)) == 404


def test_prefix_refusals(world: World, sdk: SdkFor) -> None:
    alice, eve, reader = sdk(world.alice), sdk(world.eve), sdk(world.reader)
    cidr = unique_v4_prefix()
    pid = present(present(alice.addressing.prefixes.create(account_id=world.a, cidr=cidr, asn=13335)).id)
    assert status_of(lambda: eve.addressing.prefixes.create(account_id=world.c, cidr=cidr, asn=64500)) == 409
    wider = str(ipaddress.ip_network(cidr).supernet(new_prefix=16))
    assert status_of(lambda: eve.addressing.prefixes.create(account_id=world.c, cidr=wider, asn=1)) == 409
    too_long = cidr.replace(".0/24", ".0/25")
    assert status_of(lambda: alice.addressing.prefixes.create(account_id=world.a, cidr=too_long, asn=1)) == 400
    assert status_of(lambda: alice.addressing.prefixes.create(account_id=world.a, cidr="10.0.0.0/24", asn=1)) == 400
    # The reader may look but not touch.
    assert [x.id for x in reader.addressing.prefixes.list(account_id=world.a)] == [pid]
    assert status_of(lambda: reader.addressing.prefixes.edit(pid, account_id=world.a, description="no")) == 403
    assert status_of(lambda: reader.addressing.prefixes.delete(pid, account_id=world.a)) == 403
    assert present(alice.addressing.prefixes.get(pid, account_id=world.a)).description == ""


def test_delegation_scenario(world: World, sdk: SdkFor) -> None:
    """The docs' example, as the shared conformance scenario runs it."""
    alice, bob, eve = sdk(world.alice), sdk(world.bob), sdk(world.eve)
    delegations = alice.addressing.prefixes.delegations
    cidr = unique_v4_prefix()
    pid = present(present(alice.addressing.prefixes.create(account_id=world.a, cidr=cidr, asn=13335)).id)
    world.approve(pid)
    one = f"{host(cidr, 4)}/32"

    d = present(delegations.create(pid, account_id=world.a, cidr=one, delegated_account_id=world.b))
    did = present(d.id)
    assert (d.cidr, d.delegated_account_id, d.parent_prefix_id) == (one, world.b, pid)
    assert [x.id for x in delegations.list(pid, account_id=world.a)] == [did]

    # What B sees: the received delegation with owner and parent CIDR, and access to the address.
    [mine] = received(world, world.bob, world.b)
    assert (mine["id"], mine["owner_account_id"], mine["parent_prefix_cidr"]) == (did, world.a, cidr)
    access = ip_access(world, world.bob, world.b, host(cidr, 4))
    assert (access["access"], access["allowed"]) == ("delegated", True)
    assert [x["id"] for x in access["delegations"]] == [did]
    assert ip_access(world, world.bob, world.b, host(cidr, 5))["access"] == "none"

    # B cannot see or change A's objects; an unrelated account sees nothing.
    assert list(bob.addressing.prefixes.list(account_id=world.b)) == []
    assert status_of(lambda: bob.addressing.prefixes.get(pid, account_id=world.a)) == 403
    assert status_of(lambda: bob.addressing.prefixes.get(pid, account_id=world.b)) == 404
    bob_del = bob.addressing.prefixes.delegations
    assert status_of(lambda: bob_del.create(pid, account_id=world.a, cidr=one, delegated_account_id=world.c)) == 403
    assert status_of(lambda: bob_del.delete(did, account_id=world.a, prefix_id=pid)) == 403
    assert status_of(lambda: bob_del.delete(did, account_id=world.b, prefix_id=pid)) == 404
    assert status_of(lambda: list(eve.addressing.prefixes.delegations.list(pid, account_id=world.a))) == 403

    # Refusals, each a clear 4xx that stores nothing.
    def delegate(to: str, c: str) -> object:
        return delegations.create(pid, account_id=world.a, cidr=c, delegated_account_id=to)

    assert status_of(lambda: delegate(world.b, f"{host(unique_v4_prefix(), 4)}/32")) == 400  # outside
    assert status_of(lambda: delegate(world.b, f"{host(cidr, 4)}/24")) == 400  # not canonical
    assert status_of(lambda: delegate(world.a, f"{host(cidr, 5)}/32")) == 400  # to the owner
    assert status_of(lambda: delegate("0" * 32, f"{host(cidr, 5)}/32")) == 400  # unknown account
    assert status_of(lambda: delegate(world.b, one)) == 409  # identical
    assert len(list(delegations.list(pid, account_id=world.a))) == 1

    # A whole-prefix delegation to C may overlap B's.
    d2 = present(delegations.create(pid, account_id=world.a, cidr=cidr, delegated_account_id=world.c))
    assert d2.cidr == cidr

    # A removes B's delegation: B loses access, C keeps its own.
    assert present(delegations.delete(did, account_id=world.a, prefix_id=pid)).id == did
    assert [x.id for x in delegations.list(pid, account_id=world.a)] == [d2.id]
    assert received(world, world.bob, world.b) == []
    after = ip_access(world, world.bob, world.b, host(cidr, 4))
    assert (after["access"], after["allowed"], after["delegations"]) == ("none", False, [])
    leaked = [s for s in (did, present(d2.id), world.a, pid) if s in json.dumps(after)]
    assert leaked == []  # B's answer names nothing of A's
    never = ip_access(world, world.bob, world.b, host(cidr, 200))  # an address never delegated to B
    same = [json.dumps(x).replace(str(host(cidr, n)), "<ip>") for x, n in ((after, 4), (never, 200))]
    assert same[0] == same[1]
    c_access = ip_access(world, world.eve, world.c, host(cidr, 4))
    assert (c_access["access"], [x["id"] for x in c_access["delegations"]]) == ("delegated", [d2.id])

    # Only an unapproved prefix without delegations can be deleted.
    assert status_of(lambda: alice.addressing.prefixes.delete(pid, account_id=world.a)) == 409


def test_ipv6_prefix_and_slash64_delegation(world: World, sdk: SdkFor) -> None:
    alice = sdk(world.alice)
    delegations = alice.addressing.prefixes.delegations
    cidr = unique_v6_prefix()
    p = present(alice.addressing.prefixes.create(account_id=world.a, cidr=cidr, asn=13335))
    pid = present(p.id)
    assert (p.cidr, p.approved) == (cidr, "P")
    world.approve(pid)
    net = ipaddress.IPv6Network(cidr)
    sub = ipaddress.IPv6Network((int(net.network_address) + (7 << 64), 64))
    d = present(delegations.create(pid, account_id=world.a, cidr=str(sub), delegated_account_id=world.b))
    did = present(d.id)
    assert (d.cidr, d.parent_prefix_id) == (str(sub), pid)

    inside, outside = sub[12345], net[5]
    access = ip_access(world, world.bob, world.b, inside)
    assert (access["access"], access["allowed"]) == ("delegated", True)
    assert ip_access(world, world.bob, world.b, outside)["access"] == "none"
    assert ip_access(world, world.alice, world.a, outside)["access"] == "owned"
    [r] = received(world, world.bob, world.b)
    assert (r["cidr"], r["parent_prefix_cidr"]) == (str(sub), cidr)

    # An IPv4 delegation inside an IPv6 prefix, or a non-canonical /64, is refused.
    def delegate(c: str) -> object:
        return delegations.create(pid, account_id=world.a, cidr=c, delegated_account_id=world.b)

    assert status_of(lambda: delegate("5.0.0.0/32")) == 400
    assert status_of(lambda: delegate(f"{sub[1]}/64")) == 400

    assert present(delegations.delete(did, account_id=world.a, prefix_id=pid)).id == did
    assert ip_access(world, world.bob, world.b, inside)["access"] == "none"


def test_accounts_list_and_get(world: World, sdk: SdkFor) -> None:
    alice = sdk(world.alice)
    assert [(a.id, a.name) for a in alice.accounts.list()] == [(world.a, "Account A")]
    acct = present(alice.accounts.get(account_id=world.a))
    assert (acct.id, acct.name) == (world.a, "Account A")
    assert status_of(lambda: alice.accounts.get(account_id=world.b)) == 403
    assert [a.id for a in sdk(world.reader).accounts.list()] == [world.a]


@pytest.mark.parametrize("n_accounts", [6, 7])
def test_accounts_auto_pagination(server: Server, sdk: SdkFor, n_accounts: int) -> None:
    """Iterating accounts.list follows pages until the server answers [] past the last one."""
    user = make_member(server.db, "pager")
    made = {
        identity.create_account(server.db, Actor.cli(), f"Pager {i}", owner_email=user.email).id
        for i in range(n_accounts)
    }
    client = sdk(user)
    # Bounded, so a server that repeats its last page fails the test instead of hanging it.
    pages = itertools.islice(client.accounts.list(per_page=3).iter_pages(), 10)
    sizes = [len(page.result) for page in pages]
    assert sizes == [3] * (n_accounts // 3) + ([n_accounts % 3] if n_accounts % 3 else []) + [0]
    seen = [a.id for a in itertools.islice(client.accounts.list(per_page=3), 30)]
    assert len(seen) == n_accounts
    assert set(seen) == made
    past = httpx.get(f"{server.api}/accounts", params={"page": 9, "per_page": 3}, headers=user.headers)
    assert past.status_code == 200
    assert (past.json()["success"], past.json()["result"]) == (True, [])
    assert past.json()["result_info"]["total_count"] == n_accounts


def test_members_and_roles(world: World, sdk: SdkFor) -> None:
    alice, bob, reader = sdk(world.alice), sdk(world.bob), sdk(world.reader)
    members = alice.accounts.members
    with pytest.deprecated_call(match="permission_groups"):  # SDK 5.x marks roles.list deprecated
        roles = {r.name: r.id for r in alice.accounts.roles.list(account_id=world.a)}
    assert {"Administrator", "IP Prefixes: Write", READ_ROLE} <= set(roles)
    read_role = present(roles[READ_ROLE])
    emails = {m.email for m in members.list(account_id=world.a)}
    assert emails == {world.alice.email, world.reader.email, world.writer.email}

    m = present(members.create(account_id=world.a, email=world.bob.email, roles=[read_role]))
    mid = present(m.id)
    assert m.email == world.bob.email
    assert [r.name for r in present(m.roles)] == [READ_ROLE]
    assert {a.id for a in bob.accounts.list()} == {world.a, world.b}
    assert list(bob.addressing.prefixes.list(account_id=world.a)) == []  # may read A now
    cidr = unique_v4_prefix()
    assert status_of(lambda: bob.addressing.prefixes.create(account_id=world.a, cidr=cidr, asn=1)) == 403

    # Refusals: a duplicate, an unknown role, an unknown user, a member without the right.
    assert status_of(lambda: members.create(account_id=world.a, email=world.bob.email, roles=[read_role])) == 409
    assert status_of(lambda: members.create(account_id=world.a, email=world.eve.email, roles=["f" * 32])) == 400
    nobody = "nobody-at-all@example.com"
    assert status_of(lambda: members.create(account_id=world.a, email=nobody, roles=[read_role])) == 400
    by_reader = reader.accounts.members
    assert status_of(lambda: by_reader.create(account_id=world.a, email=world.eve.email, roles=[read_role])) == 403
    assert status_of(lambda: by_reader.delete(mid, account_id=world.a)) == 403

    assert present(members.delete(mid, account_id=world.a)).id == mid
    assert [a.id for a in bob.accounts.list()] == [world.b]
    assert status_of(lambda: bob.addressing.prefixes.list(account_id=world.a)) == 403
    [me] = [x for x in members.list(account_id=world.a) if x.email == world.alice.email]
    assert status_of(lambda: members.delete(present(me.id), account_id=world.a)) == 409  # last Administrator


def test_user_tokens(world: World, sdk: SdkFor, server: Server) -> None:
    alice = sdk(world.alice)
    me = present(alice.user.get())
    assert (me.id, me.email) == (world.alice.user_id, world.alice.email)
    assert present(alice.user.tokens.verify()).status == "active"

    created = present(alice.user.tokens.create(name="ci deploy", policies=[]))
    tid, value = present(created.id), present(created.value)
    assert (created.name, created.status) == ("ci deploy", "active")
    assert len(value) >= 32
    assert tid in {t.id for t in alice.user.tokens.list()}
    assert tid not in {t.id for t in sdk(world.bob).user.tokens.list()}
    assert present(alice.user.tokens.get(tid)).name == "ci deploy"

    fresh = sdk(Member(world.alice.email, world.alice.user_id, value, world.alice.api_key))
    v = present(fresh.user.tokens.verify())
    assert (v.id, v.status) == (tid, "active")
    assert [a.id for a in fresh.accounts.list()] == [world.a]

    # Bob cannot delete Alice's token; scoped policies are refused.
    assert status_of(lambda: sdk(world.bob).user.tokens.delete(tid)) == 404
    policy: Any = {"effect": "allow", "permission_groups": [{"id": "x"}], "resources": {"x": "*"}}
    assert status_of(lambda: alice.user.tokens.create(name="scoped", policies=[policy])) == 400

    assert present(alice.user.tokens.delete(tid)).id == tid
    assert tid not in {t.id for t in alice.user.tokens.list()}
    assert status_of(fresh.user.tokens.verify) == 401
    assert status_of(lambda: list(fresh.accounts.list())) == 401
    r = httpx.get(f"{server.api}/user/tokens/verify", headers={"Authorization": f"Bearer {value}"})
    assert r.status_code == 401
    assert r.json()["success"] is False
