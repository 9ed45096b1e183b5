"""One custom hostname, 20 zones, 20 validations at once: exactly one zone wins, on both engines.

Against a real `prefixgate serve --workers 2` (on SQLite two processes sharing one WAL file), so the
validations run in parallel transactions of separate processes. Account 0 owns an approved /24 bound
whole to CDN and delegates it whole to the 19 other accounts, so every account may serve CDN on the
hostname's A record; each zone has a fallback origin and the same hostname pending, and the loopback
DNS server publishes all 20 ownership tokens as TXT records. Every zone would pass on its own: only
"one zone per hostname" can keep 19 of them pending.

Without the lock check_hostname takes, two validations could both find no active holder; the partial
unique index would then refuse the second write, which would surface as a 500 here.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from prefixgate.adapters.db.tables import custom_hostnames
from prefixgate.adapters.db.uow import SqlDatabase
from prefixgate.domain.bindings import CDN
from prefixgate.domain.hostnames import ACTIVE, IN_USE, PENDING, ownership_record_name
from prefixgate.service import bindings, delegations, hostnames, identity, prefixes, zones
from prefixgate.service.context import Actor
from tests.dnsserver import LoopbackDns
from tests.procserver import RACE_ENV, ProcServer
from tests.support import Member, fresh_database_url, make_member, migrated_database, unique_v4_prefix

PARALLEL = 20


@dataclass
class Contender:
    member: Member
    zone_id: str
    hostname_id: str


@dataclass
class Race:
    server: ProcServer
    db: SqlDatabase
    hostname: str
    address: str
    contenders: list[Contender]
    operator: Member


@pytest.fixture(scope="module")
def race(engine_name: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Race]:
    workdir = tmp_path_factory.mktemp("hostname-race")
    cli = Actor.cli()
    name = f"race-{secrets.token_hex(4)}.example.net"
    cidr = unique_v4_prefix()
    address = cidr.replace(".0/24", ".10")
    with LoopbackDns() as dns, fresh_database_url(engine_name, str(workdir)) as url:
        db = migrated_database(url)
        accounts, members = [], []
        for i in range(PARALLEL):
            m = make_member(db, f"saas{i}")
            accounts.append(identity.create_account(db, cli, f"SaaS {i}", owner_email=m.email).id)
            members.append(m)
        p = prefixes.create_prefix(db, cli, accounts[0], cidr, asn=64500)
        prefixes.approve_prefix(db, cli, p.id)
        bindings.create_binding(db, cli, accounts[0], p.id, cidr, CDN.id)
        for account in accounts[1:]:
            delegations.create_delegation(db, cli, accounts[0], p.id, cidr, account)
        contenders, tokens = [], []
        for i, (account, m) in enumerate(zip(accounts, members, strict=True)):
            zone = zones.create_zone(db, cli, account, f"tenant{i}-{secrets.token_hex(3)}.race.example")
            hostnames.put_fallback_origin(db, cli, zone.id, f"fallback.{zone.name}")
            host = hostnames.create_hostname(db, cli, zone.id, hostnames.HostnameInput(name, hostnames.SslInput()))
            contenders.append(Contender(m, zone.id, host.id))
            tokens.append(host.ownership_token)
        dns.set(name, "A", address)
        dns.set(ownership_record_name(name), "TXT", *tokens)
        env = {
            "PREFIXGATE_DNS_SERVER": dns.spec,
            "PREFIXGATE_DNS_TIMEOUT_S": "5",
            "PREFIXGATE_REVALIDATE_INTERVAL_S": "0",  # no background checks: the outcome is the race's
            **RACE_ENV,
        }
        operator = make_member(db, "operator", operator=True)
        server = ProcServer(url, Path(workdir), workers=2, env=env).start()
        try:
            yield Race(server, db, name, address, contenders, operator)
        finally:
            server.stop()
            db.dispose()


def validate_all_at_once(race: Race) -> list[httpx.Response]:
    """POST .../validate for every contender, released together by a barrier, each on its own client."""
    clients = [httpx.Client(base_url=race.server.api, headers=c.member.headers, timeout=60) for c in race.contenders]
    barrier = threading.Barrier(PARALLEL)

    def one(i: int) -> httpx.Response:
        c = race.contenders[i]
        barrier.wait()
        return clients[i].post(f"/zones/{c.zone_id}/custom_hostnames/{c.hostname_id}/validate")

    try:
        with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
            return list(pool.map(one, range(PARALLEL)))
    finally:
        for client in clients:
            client.close()


def active_rows(db: SqlDatabase, name: str) -> list[str]:
    c = custom_hostnames.c
    with db.engine.connect() as conn:
        return list(conn.execute(select(c.id).where(c.hostname == name, c.status == ACTIVE)).scalars())


def test_twenty_zones_validating_one_hostname_leave_exactly_one_active(race: Race) -> None:
    with race.db.read() as uow:
        assert [uow.hostnames.by_id(c.hostname_id) for c in race.contenders].count(None) == 0
        assert {h.status for c in race.contenders if (h := uow.hostnames.by_id(c.hostname_id))} == {PENDING}

    responses = validate_all_at_once(race)
    assert [r.status_code for r in responses] == [200] * PARALLEL, [r.text[:300] for r in responses]
    results = [r.json()["result"] for r in responses]
    winners = [h for h in results if h["status"] == ACTIVE]
    assert len(winners) == 1, [(h["status"], h["verification_errors"]) for h in results]
    winner = winners[0]
    assert winner["verification_errors"] == []
    losers = [h for h in results if h is not winner]
    assert all(h["status"] == PENDING and h["verification_errors"] == [IN_USE] for h in losers), losers

    # The database agrees: one active row, the winner's ...
    assert active_rows(race.db, race.hostname) == [winner["id"]]
    # ... and its partial unique index refuses a second one, whatever writes it.
    c = custom_hostnames.c
    with race.db.engine.connect() as conn, pytest.raises(IntegrityError):
        conn.execute(update(custom_hostnames).where(c.id == losers[0]["id"]).values(status=ACTIVE))
    with race.db.engine.connect() as conn:
        count = select(func.count()).select_from(custom_hostnames).where(c.hostname == race.hostname)
        assert conn.execute(count).scalar() == PARALLEL

    with httpx.Client(base_url=race.server.api, headers=race.operator.headers, timeout=30) as op:
        params: dict[str, str | int] = {"ip": race.address, "protocol": "tcp", "port": 443, "sni": race.hostname}
        served = op.get("/edge/resolve", params=params).json()["result"]
    assert (served["served"], served["id"]) == (True, winner["id"]), served

    # A second round changes nothing: the winner stays, the others stay pending.
    again = [r.json()["result"] for r in validate_all_at_once(race)]
    assert sorted((h["id"], h["status"]) for h in again) == sorted((h["id"], h["status"]) for h in results)
    assert active_rows(race.db, race.hostname) == [winner["id"]]
