"""Address-space queries against a real migrated database, checked against brute force in Python.

One dataset per engine, made through the service layer from a seeded generator: clustered, randomly
sized, non-overlapping prefixes (attempted overlaps must be refused), and nested, repeated delegations.
"""

from __future__ import annotations

import ipaddress
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from prefixgate.adapters.db.uow import SqlDatabase
from prefixgate.domain.codes import Code
from prefixgate.domain.errors import Conflict, InvalidInput
from prefixgate.domain.model import Access, Delegation, Page, PageRequest, Prefix
from prefixgate.domain.net import IPAddress, IPNetwork
from prefixgate.service import delegations as delegation_service
from prefixgate.service import identity
from prefixgate.service import prefixes as prefix_service
from prefixgate.service.context import Actor
from tests.support import fresh_database_url, migrated_database

SEED = 20261129
CLI = Actor.cli()
V4_REGION = ipaddress.IPv4Network("20.0.0.0/12")
V6_REGION = ipaddress.IPv6Network("2a0f:1000::/28")
# Extremes of the key space: all-zero and all-one start/end bytes (the lab flag lets them in).
EDGE_PREFIXES = ("0.0.0.0/24", "255.255.255.0/24", "0:0:1::/48", "ffff:ffff:ffff::/48")


@dataclass
class Space:
    db: SqlDatabase
    rng: random.Random
    accounts: list[str]
    prefixes: dict[str, Prefix] = field(default_factory=dict)
    delegations: list[Delegation] = field(default_factory=list)
    refused_overlaps: int = 0
    refused_duplicates: int = 0

    def delegations_of(self, prefix_id: str) -> list[Delegation]:
        return [d for d in self.delegations if d.prefix_id == prefix_id]


def subnet_in(rng: random.Random, region: IPNetwork, length: int) -> IPNetwork:
    addr = int(region.network_address) + rng.randrange(region.num_addresses)
    return type(region)((addr, length), strict=False)


def try_prefix(space: Space, net: IPNetwork) -> None:
    clash = [p for p in space.prefixes.values() if p.cidr.overlaps(net)]
    owner = space.rng.choice(space.accounts)
    if clash:
        with pytest.raises(Conflict) as info:
            prefix_service.create_prefix(space.db, CLI, owner, str(net), asn=65000, allow_non_public=True)
        assert info.value.code == Code.PREFIX_OVERLAP
        space.refused_overlaps += 1
        return
    p = prefix_service.create_prefix(space.db, CLI, owner, str(net), asn=65000, allow_non_public=True)
    if space.rng.random() < 0.5:
        p = prefix_service.approve_prefix(space.db, CLI, p.id)
    space.prefixes[p.id] = p


def try_delegation(space: Space, p: Prefix) -> None:
    rng = space.rng
    others = [a for a in space.accounts if a != p.account_id]
    mine = space.delegations_of(p.id)
    if mine and rng.random() < 0.2:  # the same CIDR again: to the same account conflicts, to another is fine
        cidr, to = rng.choice(mine).cidr, rng.choice(others)
    else:
        cidr = subnet_in(rng, p.cidr, rng.randint(p.cidr.prefixlen, p.cidr.prefixlen + 8))
        to = rng.choice(others)
    duplicate = any(d.cidr == cidr and d.delegated_account_id == to for d in mine)
    create = delegation_service.create_delegation
    if duplicate:
        with pytest.raises(Conflict) as info:
            create(space.db, CLI, p.account_id, p.id, str(cidr), to)
        assert info.value.code == Code.DELEGATION_EXISTS
        space.refused_duplicates += 1
        return
    space.delegations.append(create(space.db, CLI, p.account_id, p.id, str(cidr), to))


@pytest.fixture(scope="module")
def space(engine_name: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Space]:
    with fresh_database_url(engine_name, str(tmp_path_factory.mktemp("repos"))) as url:
        db = migrated_database(url)
        rng = random.Random(SEED)
        accounts = [identity.create_account(db, CLI, f"Tenant {i}").id for i in range(5)]
        s = Space(db, rng, accounts)
        for text in EDGE_PREFIXES:
            try_prefix(s, ipaddress.ip_network(text))
        for _ in range(60):
            try_prefix(s, subnet_in(rng, V4_REGION, rng.choice([13, 15, 16, 18, 20, 21, 22, 23, 24, 24, 24, 24])))
            try_prefix(s, subnet_in(rng, V6_REGION, rng.choice([29, 30, 32, 36, 40, 44, 46, 47, 48, 48, 48])))
        for i, p in enumerate(sorted(s.prefixes.values(), key=lambda p: p.id)):
            for _ in range(25 if i == 0 else rng.randrange(6)):
                try_delegation(s, p)
        yield s
        db.dispose()


def test_the_generated_space_is_interesting(space: Space) -> None:
    # Guard against a generator that silently stops exercising the queries.
    families = [p.cidr.version for p in space.prefixes.values()]
    assert families.count(4) >= 20 and families.count(6) >= 20
    assert space.refused_overlaps >= 5
    assert len(space.delegations) >= 80
    assert space.refused_duplicates >= 1
    assert any(a is not b and within(a.cidr, b.cidr) for a in space.delegations for b in space.delegations)
    assert {p.approved for p in space.prefixes.values()} == {"P", "V"}


def within(inner: IPNetwork, outer: IPNetwork) -> bool:
    return inner.version == outer.version and inner.subnet_of(outer)  # type: ignore[arg-type]


def around(net: IPNetwork, *extra: int) -> list[IPAddress]:
    """The addresses at and next to both ends of `net` (and any `extra` integers) that exist in its family."""
    first, last = int(net.network_address), int(net.broadcast_address)
    cls = type(net.network_address)
    values = (first - 1, first, first + 1, last - 1, last, last + 1, *extra)
    return [cls(v) for v in values if 0 <= v < 2**net.max_prefixlen]


def probe_addresses(space: Space) -> list[IPAddress]:
    rng = random.Random(SEED + 1)
    probes: list[IPAddress] = []
    for p in space.prefixes.values():
        first, last = int(p.cidr.network_address), int(p.cidr.broadcast_address)
        probes += around(p.cidr, rng.randint(first, last))
        if p.cidr.version == 4:  # the same integers in the other family must never match
            probes += [ipaddress.IPv6Address(first), ipaddress.IPv6Address(last)]
    for region in (V4_REGION, V6_REGION):
        probes += [subnet_in(rng, region, region.max_prefixlen).network_address for _ in range(200)]
    probes += [ipaddress.ip_address(a) for a in ("0.0.0.0", "255.255.255.255", "::", "ffff:ffff:ffff:ffff::1")]
    return probes


def test_containing_agrees_with_brute_force(space: Space) -> None:
    probes = probe_addresses(space)
    hits = 0
    with space.db.read() as uow:
        for ip in probes:
            expected = [p for p in space.prefixes.values() if ip in p.cidr]
            assert len(expected) <= 1
            found = uow.prefixes.containing(ip)
            assert found == (expected[0] if expected else None), ip
            hits += bool(expected)
    assert hits > len(probes) // 4


def probe_networks(space: Space) -> list[IPNetwork]:
    rng = random.Random(SEED + 2)
    nets: list[IPNetwork] = []
    for p in space.prefixes.values():
        nets.append(p.cidr)
        if p.cidr.prefixlen > 0:
            nets.append(p.cidr.supernet())
        nets += list(p.cidr.subnets())
        nets.append(subnet_in(rng, p.cidr, p.cidr.max_prefixlen))
        if p.cidr.version == 4:  # same integers, other family
            nets.append(ipaddress.IPv6Network((int(p.cidr.network_address), 96 + p.cidr.prefixlen)))
    for _ in range(150):
        nets.append(subnet_in(rng, V4_REGION, rng.randint(8, 32)))
        nets.append(subnet_in(rng, V6_REGION, rng.randint(20, 128)))
    nets += [ipaddress.ip_network(n) for n in ("0.0.0.0/0", "::/0", "20.0.0.0/8", "2a0f::/16", "128.0.0.0/1")]
    return nets


def test_overlapping_agrees_with_brute_force(space: Space) -> None:
    sizes = []
    with space.db.read() as uow:
        for net in probe_networks(space):
            expected = sorted(p.id for p in space.prefixes.values() if p.cidr.overlaps(net))
            found = uow.prefixes.overlapping(net)
            assert sorted(p.id for p in found) == expected, net
            assert all(p == space.prefixes[p.id] for p in found)
            sizes.append(len(found))
    assert 0 in sizes and 1 in sizes and max(sizes) >= 20  # misses, single hits, and wide sweeps


def test_covering_agrees_with_brute_force(space: Space) -> None:
    rng = random.Random(SEED + 3)
    delegated = [p for p in space.prefixes.values() if space.delegations_of(p.id)]
    checked = multiple = 0
    with space.db.read() as uow:
        for p in delegated:
            mine = space.delegations_of(p.id)
            ips = {p.cidr.network_address, p.cidr.broadcast_address}
            for d in mine:
                ips |= {d.cidr.network_address, d.cidr.broadcast_address}
                ips |= {a for a in around(d.cidr) if a in p.cidr}
            ips |= {subnet_in(rng, p.cidr, p.cidr.max_prefixlen).network_address for _ in range(5)}
            for ip in sorted(ips):
                for account in space.accounts:
                    expected = [d for d in mine if d.delegated_account_id == account and ip in d.cidr]
                    # most specific first: latest start, then earliest end
                    expected.sort(key=lambda d: (-int(d.cidr.network_address), int(d.cidr.broadcast_address), d.id))
                    found = uow.delegations.covering(p, account, ip)
                    assert [r.delegation for r in found] == expected, (p.cidr, account, ip)
                    assert all(r.parent_cidr == p.cidr for r in found)
                    checked += bool(expected)
                    multiple += len(expected) > 1
    assert checked >= 50 and multiple >= 1


def test_overlapping_delegations_agree_with_brute_force(space: Space) -> None:
    """What revocation reads to know which other delegations still grant an address: every delegation of
    the account that contains the network or lies inside it, at any nesting."""
    rng = random.Random(SEED + 5)
    delegated = [p for p in space.prefixes.values() if space.delegations_of(p.id)]
    checked = wider = narrower = 0
    with space.db.read() as uow:
        for p in delegated:
            mine = space.delegations_of(p.id)
            nets = {
                p.cidr,
                *(subnet_in(rng, p.cidr, rng.randint(p.cidr.prefixlen, p.cidr.max_prefixlen)) for _ in range(4)),
            }
            for d in mine:
                nets.add(d.cidr)
                if d.cidr.prefixlen > p.cidr.prefixlen:
                    nets.add(d.cidr.supernet())
                if d.cidr.prefixlen < d.cidr.max_prefixlen:
                    nets |= set(d.cidr.subnets())
            for net in sorted(nets, key=lambda n: (int(n.network_address), n.prefixlen)):
                for account in space.accounts:
                    expected = sorted(
                        (d for d in mine if d.delegated_account_id == account and d.cidr.overlaps(net)),
                        key=lambda d: d.id,
                    )
                    assert uow.delegations.overlapping(p, account, net) == expected, (p.cidr, account, net)
                    checked += bool(expected)
                    wider += any(d.cidr.prefixlen < net.prefixlen for d in expected)
                    narrower += any(d.cidr.prefixlen > net.prefixlen for d in expected)
    assert checked >= 50 and wider >= 10 and narrower >= 10


def test_ip_access_agrees_with_brute_force(space: Space) -> None:
    rng = random.Random(SEED + 4)
    probes = rng.sample(probe_addresses(space), 150) + [d.cidr.network_address for d in space.delegations[:60]]
    kinds = set()
    for ip in probes:
        account = rng.choice(space.accounts)
        result = delegation_service.ip_access(space.db, CLI, account, str(ip))
        holder = next((p for p in space.prefixes.values() if ip in p.cidr), None)
        grants = [d for d in space.delegations if d.delegated_account_id == account and ip in d.cidr]
        if holder is not None and holder.account_id == account:
            assert result.access is Access.OWNED and result.prefix == holder
        elif holder is not None and grants:
            assert result.access is Access.DELEGATED
            assert {r.delegation.id for r in result.delegations} == {d.id for d in grants}
        else:
            assert result.access is Access.NONE
        assert result.allowed is (result.access is not Access.NONE and holder is not None and holder.is_approved)
        kinds.add(result.access)
    assert kinds == set(Access)


def check_pages(
    fetch: Callable[[PageRequest], Page[Any]],
    expected: list[str],
    per_page: int,
    ident: Callable[[Any], str] = lambda x: str(x.id),
) -> None:
    """Every page holds its slice; the total is right on each; pages past the end are empty."""
    last = max(1, -(-len(expected) // per_page))
    for page in range(1, last + 2):
        result = fetch(PageRequest(page=page, per_page=per_page))
        start = (page - 1) * per_page
        assert [ident(x) for x in result.items] == expected[start : start + per_page], (page, per_page)
        assert result.total == len(expected), (page, per_page)
        assert result.request == PageRequest(page=page, per_page=per_page)
    beyond = fetch(PageRequest(page=last + 5, per_page=per_page))
    assert beyond.items == [] and beyond.total == len(expected)


def test_prefix_pages(space: Space) -> None:
    for account in space.accounts:
        owned = [p for p in space.prefixes.values() if p.account_id == account]
        owned.sort(key=lambda p: (p.cidr.version, int(p.cidr.network_address)))
        expected = [p.id for p in owned]
        assert expected
        for per_page in (1, 3, len(expected), 50):
            check_pages(lambda r, a=account: prefix_service.list_prefixes(space.db, CLI, a, r), expected, per_page)


def test_delegation_pages_are_ordered_by_address(space: Space) -> None:
    busiest = max(space.prefixes.values(), key=lambda p: len(space.delegations_of(p.id)))
    mine = space.delegations_of(busiest.id)
    assert len(mine) >= 15
    by_address = sorted(mine, key=lambda d: (int(d.cidr.network_address), int(d.cidr.broadcast_address), d.id))
    expected = [d.id for d in by_address]
    assert expected != [d.id for d in mine]  # creation order differs, so the ordering is really tested
    for per_page in (1, 4, 7, len(expected), 100):
        check_pages(
            lambda r: delegation_service.list_delegations(space.db, CLI, busiest.account_id, busiest.id, r),
            expected,
            per_page,
        )
    whole = delegation_service.list_delegations(space.db, CLI, busiest.account_id, busiest.id, PageRequest(1, 100))
    assert whole.items == by_address


def test_received_pages(space: Space) -> None:
    for account in space.accounts:
        got = [d for d in space.delegations if d.delegated_account_id == account]
        got.sort(key=lambda d: (d.created_at, d.id))
        assert got
        for per_page in (2, 5, 100):
            check_pages(
                lambda r, a=account: delegation_service.list_received_delegations(space.db, CLI, a, r),
                [d.id for d in got],
                per_page,
                ident=lambda x: str(x.delegation.id),
            )
        page = delegation_service.list_received_delegations(space.db, CLI, account, PageRequest(1, 100))
        assert [r.delegation for r in page.items] == got
        assert all(r.parent_cidr == space.prefixes[r.delegation.prefix_id].cidr for r in page.items)


def test_an_account_without_prefixes_gets_an_empty_first_page(space: Space) -> None:
    empty = identity.create_account(space.db, CLI, "Nobody").id
    page = prefix_service.list_prefixes(space.db, CLI, empty, PageRequest(1, 20))
    assert page.items == [] and page.total == 0
    received = delegation_service.list_received_delegations(space.db, CLI, empty, PageRequest(2, 20))
    assert received.items == [] and received.total == 0


def test_refusals_leave_the_space_unchanged(space: Space) -> None:
    p = next(iter(space.prefixes.values()))
    before = prefix_service.list_prefixes(space.db, CLI, p.account_id, PageRequest(1, 1000)).total
    with pytest.raises(Conflict):
        prefix_service.create_prefix(space.db, CLI, space.accounts[0], str(p.cidr), asn=1, allow_non_public=True)
    with pytest.raises(InvalidInput) as info:
        delegation_service.create_delegation(space.db, CLI, p.account_id, p.id, str(p.cidr), p.account_id)
    assert info.value.code == Code.DELEGATION_TO_OWNER
    other = next(a for a in space.accounts if a != p.account_id)
    with pytest.raises(InvalidInput) as info:
        delegation_service.create_delegation(space.db, CLI, p.account_id, p.id, str(p.cidr.supernet()), other)
    assert info.value.code == Code.DELEGATION_OUTSIDE_PREFIX
    assert prefix_service.list_prefixes(space.db, CLI, p.account_id, PageRequest(1, 1000)).total == before
    count = len(space.delegations_of(p.id))
    assert delegation_service.list_delegations(space.db, CLI, p.account_id, p.id, PageRequest(1, 1)).total == count
