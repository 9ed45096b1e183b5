"""Putting an IP on address maps races deleting the delegation that grants it, against a real
`prefixgate serve` with several worker processes, on both engines (PostgreSQL 4 workers, SQLite 2).

Per address, one DELETE of its only delegation (no force) against 4 PUTs of the address onto 4 maps of
the delegatee; 10 addresses, all 50 requests released together by a barrier. Either side may win, never
both: an IP on a map ⇔ the delete refused (409, 1902); the delete done ⇔ every PUT refused (400, 2101).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from prefixgate.adapters.db.tables import address_map_ips
from prefixgate.adapters.db.uow import SqlDatabase
from prefixgate.service import address_maps, delegations, identity, prefixes
from prefixgate.service.context import Actor
from tests.procserver import RACE_ENV, ProcServer
from tests.support import Member, fresh_database_url, make_member, migrated_database

ROUNDS = 10
MAPS_PER_TENANT = 4
PREFIX = "9.8.6.0/24"


@dataclass
class Tenant:
    account_id: str
    member: Member
    map_ids: list[str]


@dataclass
class Arena:
    server: ProcServer
    db: SqlDatabase
    prefix_id: str
    owner: Tenant
    tenants: list[Tenant]


@pytest.fixture(scope="module")
def arena(engine_name: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Arena]:
    workdir = tmp_path_factory.mktemp("map-race")
    cli = Actor.cli()
    with fresh_database_url(engine_name, str(workdir)) as url:
        db = migrated_database(url)
        people = []
        for i in range(ROUNDS + 1):
            m = make_member(db, f"maps{i}")
            acct = identity.create_account(db, cli, f"Maps {i}", owner_email=m.email)
            ids = [address_maps.create_address_map(db, cli, acct.id).map.id for _ in range(MAPS_PER_TENANT)]
            people.append(Tenant(acct.id, m, ids))
        owner = people[0]
        p = prefixes.create_prefix(db, cli, owner.account_id, PREFIX, asn=64500)
        prefixes.approve_prefix(db, cli, p.id)
        server = ProcServer(url, Path(workdir), workers=4 if engine_name == "postgresql" else 2, env=RACE_ENV).start()
        yield Arena(server, db, p.id, owner, people[1:])
        server.stop()
        db.dispose()


def fire(requests: list[tuple[Member, Callable[[httpx.Client], httpx.Response]]], api: str) -> list[httpx.Response]:
    """Send every request at once (a barrier releases them together), each on its own client."""
    clients = [httpx.Client(base_url=api, headers=m.headers, timeout=60) for m, _ in requests]
    barrier = threading.Barrier(len(requests))

    def one(i: int) -> httpx.Response:
        barrier.wait()
        return requests[i][1](clients[i])

    try:
        with ThreadPoolExecutor(max_workers=len(requests)) as pool:
            return list(pool.map(one, range(len(requests))))
    finally:
        for c in clients:
            c.close()


def maps_holding(db: SqlDatabase, ip: str) -> list[str]:
    c = address_map_ips.c
    with db.engine.connect() as conn:
        return sorted(r.map_id for r in conn.execute(select(c.map_id).where(c.ip == ip)))


def codes(r: httpx.Response) -> set[int]:
    return {e["code"] for e in r.json()["errors"]}


def test_deleting_a_delegation_races_putting_its_ip_on_maps(arena: Arena) -> None:
    cli, owner = Actor.cli(), arena.owner
    rounds = []
    for n, tenant in enumerate(arena.tenants):
        ip = f"9.8.6.{100 + n}"
        d = delegations.create_delegation(
            arena.db, cli, owner.account_id, arena.prefix_id, f"{ip}/32", tenant.account_id
        )
        rounds.append((ip, tenant, d.id))

    requests: list[tuple[Member, Callable[[httpx.Client], httpx.Response]]] = []
    for ip, tenant, delegation_id in rounds:
        path = f"/accounts/{owner.account_id}/addressing/prefixes/{arena.prefix_id}/delegations/{delegation_id}"
        requests.append((owner.member, lambda c, path=path: c.delete(path)))
        for map_id in tenant.map_ids:
            put = f"/accounts/{tenant.account_id}/addressing/address_maps/{map_id}/ips/{ip}"
            requests.append((tenant.member, lambda c, put=put: c.put(put)))
    responses = fire(requests, arena.server.api)

    outcomes = set()
    per_round = MAPS_PER_TENANT + 1
    for n, (ip, tenant, delegation_id) in enumerate(rounds):
        deleted, *puts = responses[n * per_round : (n + 1) * per_round]
        assert all(r.status_code in (200, 400) for r in puts), [r.text[:300] for r in puts]
        assert all(codes(r) == {2101} for r in puts if r.status_code == 400)
        put_on = sorted(m for m, r in zip(tenant.map_ids, puts, strict=True) if r.status_code == 200)
        with arena.db.read() as uow:
            still_there = uow.delegations.get(arena.prefix_id, delegation_id) is not None
        if deleted.status_code == 200:
            assert not put_on and not still_there, (ip, put_on)
            outcomes.add("delete won")
        else:
            assert (deleted.status_code, codes(deleted)) == (409, {1902}), deleted.text
            assert put_on and still_there, ip
            outcomes.add("put won")
        assert maps_holding(arena.db, ip) == put_on
    print(f"address-map race outcomes: {sorted(outcomes)}")
