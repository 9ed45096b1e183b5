"""Races against a real `prefixgate serve` with several worker processes, on both engines.

PostgreSQL runs 4 workers; SQLite runs 2 (separate processes sharing one WAL database file).
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from prefixgate.adapters.db.uow import SqlDatabase
from prefixgate.domain.model import PageRequest
from prefixgate.service import identity, prefixes
from prefixgate.service.context import Actor
from tests.procserver import ProcServer
from tests.support import Member, fresh_database_url, make_member, migrated_database

PARALLEL = 50
ALL = PageRequest(page=1, per_page=1000)


@dataclass
class Tenant:
    account_id: str
    member: Member


@dataclass
class Fleet:
    server: ProcServer
    db: SqlDatabase
    tenants: list[Tenant]


@pytest.fixture(scope="module")
def fleet(engine_name: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    workdir = tmp_path_factory.mktemp("race")
    with fresh_database_url(engine_name, str(workdir)) as url:
        db = migrated_database(url)
        tenants = []
        for i in range(PARALLEL):
            m = make_member(db, f"racer{i}")
            acct = identity.create_account(db, Actor.cli(), f"Racer {i}", owner_email=m.email)
            tenants.append(Tenant(acct.id, m))
        server = ProcServer(url, Path(workdir), workers=4 if engine_name == "postgresql" else 2).start()
        yield Fleet(server, db, tenants)
        server.stop()
        db.dispose()


def fire(n: int, request: Callable[[httpx.Client, int], httpx.Response], clients: list[httpx.Client]) -> list[int]:
    """Send n requests at once (a barrier releases them together); return their status codes."""
    barrier = threading.Barrier(n)

    def one(i: int) -> int:
        barrier.wait()
        return request(clients[i], i).status_code

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(one, range(n)))


def clients_for(fleet: Fleet, members: list[Member]) -> list[httpx.Client]:
    return [httpx.Client(base_url=fleet.server.api, headers=m.headers, timeout=60) for m in members]


def test_overlapping_onboarding_race_has_exactly_one_winner(fleet: Fleet) -> None:
    # Every request claims 1.2.3.0/24 or a supernet of it, each from a different account.
    shapes = ["1.2.3.0/24", "1.2.2.0/23", "1.2.0.0/22", "1.2.0.0/16"]
    clients = clients_for(fleet, [t.member for t in fleet.tenants])
    try:
        statuses = fire(
            PARALLEL,
            lambda c, i: c.post(
                f"/accounts/{fleet.tenants[i].account_id}/addressing/prefixes",
                json={"cidr": shapes[i % len(shapes)], "asn": 64500 + i},
            ),
            clients,
        )
    finally:
        for c in clients:
            c.close()
    assert sorted(statuses) == [201] + [409] * (PARALLEL - 1), statuses
    owned = []
    for t in fleet.tenants:
        with fleet.db.read() as uow:
            owned += [str(p.cidr) for p in uow.prefixes.page(t.account_id, ALL).items]
    assert len(owned) == 1 and owned[0] in shapes


def test_identical_delegation_race_stores_exactly_one(fleet: Fleet) -> None:
    owner, delegatee = fleet.tenants[0], fleet.tenants[1]
    p = prefixes.create_prefix(fleet.db, Actor.cli(), owner.account_id, "9.9.9.0/24", asn=64500)
    clients = clients_for(fleet, [owner.member] * PARALLEL)
    try:
        statuses = fire(
            PARALLEL,
            lambda c, _: c.post(
                f"/accounts/{owner.account_id}/addressing/prefixes/{p.id}/delegations",
                json={"cidr": "9.9.9.4/32", "delegated_account_id": delegatee.account_id},
            ),
            clients,
        )
    finally:
        for c in clients:
            c.close()
    assert sorted(statuses) == [200] + [409] * (PARALLEL - 1), statuses
    with fleet.db.read() as uow:
        stored = uow.delegations.page(p.id, ALL).items
    assert [(str(d.cidr), d.delegated_account_id) for d in stored] == [("9.9.9.4/32", delegatee.account_id)]


def test_create_delete_storm_replays_from_audit_log(fleet: Fleet) -> None:
    owner = fleet.tenants[2]
    others = [t.account_id for t in fleet.tenants[3:8]]
    p = prefixes.create_prefix(fleet.db, Actor.cli(), owner.account_id, "9.9.8.0/24", asn=64500)
    base = f"/accounts/{owner.account_id}/addressing/prefixes/{p.id}/delegations"
    rng = random.Random(1234)
    cidrs = [f"9.9.8.{n}/32" for n in range(8)] + ["9.9.8.0/28", "9.9.8.0/24"]
    plan = [(rng.choice(cidrs), rng.choice(others)) for _ in range(300)]

    def worker(items: list[tuple[str, str]]) -> None:
        with httpx.Client(base_url=fleet.server.api, headers=owner.member.headers, timeout=60) as c:
            for cidr, target in items:
                r = c.post(base, json={"cidr": cidr, "delegated_account_id": target})
                assert r.status_code in (200, 409), r.text
                if r.status_code == 200 and rng.random() < 0.5:
                    assert c.delete(f"{base}/{r.json()['result']['id']}").status_code in (200, 404)
                else:  # delete some other current delegation: races with other workers' deletes
                    listing = c.get(base).json()["result"]
                    if listing:
                        assert c.delete(f"{base}/{rng.choice(listing)['id']}").status_code in (200, 404)

    def keeper(n: int) -> None:  # every worker's last step is a delete: leave some behind for sure
        with httpx.Client(base_url=fleet.server.api, headers=owner.member.headers, timeout=60) as c:
            r = c.post(base, json={"cidr": f"9.9.8.{100 + n}/32", "delegated_account_id": others[n]})
            assert r.status_code == 200, r.text

    with ThreadPoolExecutor(max_workers=12) as pool:
        list(pool.map(worker, [plan[i::12] for i in range(12)]))
        list(pool.map(keeper, range(3)))

    with httpx.Client(base_url=fleet.server.api, headers=owner.member.headers, timeout=60) as c:
        final = {d["id"]: d for d in c.get(base).json()["result"]}
        replayed: dict[str, dict[str, object]] = {}
        page = 1
        while True:
            body = c.get(
                f"/accounts/{owner.account_id}/audit_logs",
                params={"direction": "asc", "per_page": 1000, "page": page},
            ).json()
            for e in body["result"]:
                if e["resource"]["type"] != "delegation":
                    continue
                if e["action"]["type"] == "delegation.created":
                    replayed[e["resource"]["id"]] = e["newValueJson"]
                elif e["action"]["type"] == "delegation.deleted":
                    del replayed[e["resource"]["id"]]
            if not body["result"]:
                break
            page += 1
    assert final, "the storm should leave some delegations behind"
    assert replayed == final
