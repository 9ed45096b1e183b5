"""Spectrum races against a real `prefixgate serve` with several worker processes, on both engines.

PostgreSQL runs 4 workers; SQLite runs 2 (separate processes sharing one WAL database file). Each race
releases 50 requests together with a barrier. Account A owns an approved /24 bound whole to Spectrum and
delegates the same /32s to 49 other accounts, each with its own zone, so all 50 may use those addresses.
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

from prefixgate.adapters.db.tables import spectrum_app_ips
from prefixgate.adapters.db.uow import SqlDatabase
from prefixgate.domain.bindings import SPECTRUM
from prefixgate.service import bindings, delegations, identity, prefixes, zones
from prefixgate.service.context import Actor
from tests.procserver import RACE_ENV, ProcServer
from tests.support import Member, fresh_database_url, make_member, migrated_database

PARALLEL = 50
PREFIX = "9.8.7.0/24"
SHARED_IP = "9.8.7.10"  # one /32 delegated to all 49 other accounts: the first two races use it
RANGE_IP = "9.8.7.11"  # the same, for the overlapping port ranges
DELETE_ROUNDS = 10  # the third race: 10 addresses, each with 1 delegation delete and 4 creates
CREATES_PER_ROUND = PARALLEL // DELETE_ROUNDS - 1


@dataclass
class Tenant:
    account_id: str
    member: Member
    zone_id: str
    zone_name: str


@dataclass
class Arena:
    server: ProcServer
    db: SqlDatabase
    prefix_id: str
    tenants: list[Tenant]  # [0] owns the prefix; the other 49 received delegations of SHARED_IP and RANGE_IP
    operator: Member

    @property
    def owner(self) -> Tenant:
        return self.tenants[0]


@pytest.fixture(scope="module")
def arena(engine_name: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Arena]:
    workdir = tmp_path_factory.mktemp("spectrum-race")
    cli = Actor.cli()
    with fresh_database_url(engine_name, str(workdir)) as url:
        db = migrated_database(url)
        tenants = []
        for i in range(PARALLEL):
            m = make_member(db, f"spectrum{i}")
            acct = identity.create_account(db, cli, f"Spectrum {i}", owner_email=m.email)
            zone = zones.create_zone(db, cli, acct.id, f"tenant{i}.race.example")
            tenants.append(Tenant(acct.id, m, zone.id, zone.name))
        owner = tenants[0]
        p = prefixes.create_prefix(db, cli, owner.account_id, PREFIX, asn=64500)
        prefixes.approve_prefix(db, cli, p.id)
        bindings.create_binding(db, cli, owner.account_id, p.id, PREFIX, SPECTRUM.id)
        for t in tenants[1:]:
            for ip in (SHARED_IP, RANGE_IP):
                delegations.create_delegation(db, cli, owner.account_id, p.id, f"{ip}/32", t.account_id)
        operator = make_member(db, "operator", operator=True)
        server = ProcServer(url, Path(workdir), workers=4 if engine_name == "postgresql" else 2, env=RACE_ENV).start()
        yield Arena(server, db, p.id, tenants, operator)
        server.stop()
        db.dispose()


def fire(requests: list[Callable[[httpx.Client], httpx.Response]], clients: list[httpx.Client]) -> list[httpx.Response]:
    """Send every request at once (a barrier releases them together), each on its own client."""
    barrier = threading.Barrier(len(requests))

    def one(i: int) -> httpx.Response:
        barrier.wait()
        return requests[i](clients[i])

    with ThreadPoolExecutor(max_workers=len(requests)) as pool:
        return list(pool.map(one, range(len(requests))))


@pytest.fixture
def clients(arena: Arena) -> Iterator[Callable[[list[Member]], list[httpx.Client]]]:
    opened: list[httpx.Client] = []

    def make(members: list[Member]) -> list[httpx.Client]:
        out = [httpx.Client(base_url=arena.server.api, headers=m.headers, timeout=60) for m in members]
        opened.extend(out)
        return out

    yield make
    for c in opened:
        c.close()


def app_body(t: Tenant, ip: str, protocol: str, label: str) -> dict[str, object]:
    return {
        "protocol": protocol,
        "dns": {"type": "ADDRESS", "name": f"{label}.{t.zone_name}"},
        "edge_ips": {"type": "static", "ips": [ip]},
        "origin_direct": ["tcp://192.0.2.1:8000"],
    }


def create(t: Tenant, ip: str, protocol: str, label: str) -> Callable[[httpx.Client], httpx.Response]:
    return lambda c: c.post(f"/zones/{t.zone_id}/spectrum/apps", json=app_body(t, ip, protocol, label))


def delete(path: str) -> Callable[[httpx.Client], httpx.Response]:
    return lambda c: c.delete(path)


def claims(db: SqlDatabase, ip: str) -> list[tuple[str, str, int, int, bool]]:
    """Every claim row on `ip`, active or not: (app id, transport, first port, last port, active)."""
    c = spectrum_app_ips.c
    with db.engine.connect() as conn:
        rows = conn.execute(select(c.app_id, c.transport, c.port_start, c.port_end, c.active).where(c.ip == ip)).all()
    return [(r.app_id, r.transport, r.port_start, r.port_end, bool(r.active)) for r in rows]


def resolve(arena: Arena, ip: str, port: int) -> dict[str, object]:
    with httpx.Client(base_url=arena.server.api, headers=arena.operator.headers, timeout=60) as c:
        r = c.get("/edge/resolve", params={"ip": ip, "protocol": "tcp", "port": port})
    assert r.status_code == 200, r.text
    result = r.json()["result"]
    assert isinstance(result, dict)
    return result


def codes(r: httpx.Response) -> set[int]:
    """The error codes of a failed response (the first error and its details)."""
    return {e["code"] for e in r.json()["errors"]}


def test_same_ip_and_port_from_50_accounts_has_exactly_one_winner(
    arena: Arena, clients: Callable[[list[Member]], list[httpx.Client]]
) -> None:
    tenants = arena.tenants
    responses = fire([create(t, SHARED_IP, "tcp/443", "same") for t in tenants], clients([t.member for t in tenants]))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [409] * (PARALLEL - 1), [(r.status_code, r.text[:200]) for r in responses]
    assert all(codes(r) == {1803} for r in responses if r.status_code == 409)
    winner = next(r for r in responses if r.status_code == 200).json()["result"]
    assert claims(arena.db, SHARED_IP) == [(winner["id"], "tcp", 443, 443, True)]
    seen = resolve(arena, SHARED_IP, 443)
    assert (seen["served"], seen["reason"], seen["id"]) == (True, "served", winner["id"])


def pairwise_overlapping_ranges(n: int) -> list[str]:
    """n distinct TCP port ranges, every two of which overlap: all contain port 1100 (tcp/1100 itself,
    tcp/1098-1103, tcp/1000-1100, tcp/1100-1200 ...). Ranges that merely chain (1000-1100, 1050,
    1099-1200) could rightly have two winners, so they would not test "exactly one"."""
    shapes = ["1100", "1000-1100", "1100-1200", "1050-1150", "1099-1101"]
    shapes += [f"{1100 - 2 * i}-{1100 + 3 * i}" for i in range(1, n)]
    out = list(dict.fromkeys(shapes))[:n]
    assert len(out) == n
    return out


def test_overlapping_port_ranges_on_one_ip_have_exactly_one_winner(
    arena: Arena, clients: Callable[[list[Member]], list[httpx.Client]]
) -> None:
    ranges = pairwise_overlapping_ranges(PARALLEL)
    tenants = arena.tenants
    responses = fire(
        [create(t, RANGE_IP, f"tcp/{ports}", "range") for t, ports in zip(tenants, ranges, strict=True)],
        clients([t.member for t in tenants]),
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [409] * (PARALLEL - 1), [(r.status_code, r.text[:200]) for r in responses]
    assert all(codes(r) == {1803} for r in responses if r.status_code == 409)
    winner = next(r for r in responses if r.status_code == 200).json()["result"]
    stored = claims(arena.db, RANGE_IP)
    assert len(stored) == 1 and stored[0][0] == winner["id"] and stored[0][4] is True, stored
    assert winner["protocol"] == f"tcp/{stored[0][2]}" + (f"-{stored[0][3]}" if stored[0][3] != stored[0][2] else "")
    seen = resolve(arena, RANGE_IP, 1100)
    assert (seen["served"], seen["id"]) == (True, winner["id"])


def test_deleting_a_delegation_races_creating_apps_on_it(
    arena: Arena, clients: Callable[[list[Member]], list[httpx.Client]]
) -> None:
    """Per address, one DELETE of its only delegation (no force) against 4 app creates by the delegatee
    (different ports); 10 addresses, all 50 requests released together. Either order may win, but never
    both kinds: an app created ⇔ the delete refused (409, code 1900); the delete done ⇔ every create
    refused (400, code 11019). Afterwards no active app sits on an address its account may not use."""
    cli, owner = Actor.cli(), arena.owner
    rounds = []
    for n in range(DELETE_ROUNDS):
        ip, tenant = f"9.8.7.{100 + n}", arena.tenants[1 + n]
        d = delegations.create_delegation(
            arena.db, cli, owner.account_id, arena.prefix_id, f"{ip}/32", tenant.account_id
        )
        rounds.append((ip, tenant, d.id))

    requests: list[Callable[[httpx.Client], httpx.Response]] = []
    members: list[Member] = []
    for ip, tenant, delegation_id in rounds:
        requests.append(
            delete(f"/accounts/{owner.account_id}/addressing/prefixes/{arena.prefix_id}/delegations/{delegation_id}")
        )
        members.append(owner.member)
        for k in range(CREATES_PER_ROUND):
            requests.append(create(tenant, ip, f"tcp/{2000 + k}", f"del{k}"))
            members.append(tenant.member)
    assert len(requests) == PARALLEL
    responses = fire(requests, clients(members))

    outcomes = set()
    per_round = CREATES_PER_ROUND + 1
    for n, (ip, _, delegation_id) in enumerate(rounds):
        deleted, *creates = responses[n * per_round : (n + 1) * per_round]
        created = [r.json()["result"] for r in creates if r.status_code == 200]
        assert all(r.status_code in (200, 400) for r in creates), [r.text[:300] for r in creates]
        assert all(codes(r) == {11019} for r in creates if r.status_code == 400)
        with arena.db.read() as uow:
            still_there = uow.delegations.get(arena.prefix_id, delegation_id) is not None
        if deleted.status_code == 200:
            assert not created and not still_there, (ip, created)
            outcomes.add("delete won")
        else:
            assert (deleted.status_code, codes(deleted)) == (409, {1900}), deleted.text
            assert created and still_there, ip
            outcomes.add("create won")
        stored = claims(arena.db, ip)
        assert sorted(a for a, *_ in stored) == sorted(a["id"] for a in created)
        assert all(active for *_, active in stored)
        for k in range(CREATES_PER_ROUND):
            seen = resolve(arena, ip, 2000 + k)
            assert seen["reason"] != "ip_not_usable", seen
            owner_of = {a["protocol"]: a["id"] for a in created}.get(f"tcp/{2000 + k}")
            expected = ("served", owner_of) if owner_of else ("no_app", None)
            assert (seen["reason"], seen["id"]) == expected, seen
    print(f"delegation-delete race outcomes: {sorted(outcomes)}")
