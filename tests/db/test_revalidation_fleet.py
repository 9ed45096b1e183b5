"""Background re-validation by a fleet: `prefixgate serve --workers 2`, each worker running its own
re-validation loop on one database, on both engines (SQLite: two processes sharing one WAL file).

The promise (docs/custom-hostnames.md): each process claims due hostnames by moving their next check one
interval on, so a hostname is checked by one process per interval, and the longest-waiting first, so
none is starved. The loopback DNS server's query log shows it: every check asks one TXT question for the
hostname's `_cf-custom-hostname.` name.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from prefixgate.adapters.db.uow import SqlDatabase
from prefixgate.domain.hostnames import ACTIVE, ownership_record_name
from prefixgate.service import hostnames, identity, zones
from prefixgate.service.context import Actor, utcnow
from tests.api.metrics_helpers import scrape
from tests.dnsserver import LoopbackDns
from tests.procserver import ProcServer
from tests.support import fresh_database_url, make_member, migrated_database

INTERVAL_S = 1.0
HOSTNAMES = 10
WINDOW_INTERVALS = 6


def saas_zone(db: SqlDatabase, count: int) -> tuple[str, str, list[str]]:
    """A zone with a fallback origin and `count` pending hostnames (due at once, oldest first): its name,
    the fallback origin and the hostnames' ids."""
    cli = Actor.cli()
    owner = make_member(db, "saas")
    account = identity.create_account(db, cli, "SaaS", owner_email=owner.email)
    zone = zones.create_zone(db, cli, account.id, f"saas{secrets.token_hex(4)}.example.com")
    fallback = f"fallback.{zone.name}"
    hostnames.put_fallback_origin(db, cli, zone.id, fallback)
    ids = []
    for i in range(count):
        name = f"shop{i}-{secrets.token_hex(4)}.example.net"
        ids.append(hostnames.create_hostname(db, cli, zone.id, hostnames.HostnameInput(name, hostnames.SslInput())).id)
    return zone.name, fallback, ids


def claim(db: SqlDatabase, now: datetime, until: datetime, limit: int) -> list[str]:
    with db.write() as uow:
        ids = uow.hostnames.claim_due(now, until, limit)
        uow.commit()
    return ids


def test_parallel_claims_never_share_a_hostname(engine_name: str, tmp_path: Path) -> None:
    """Two claims in parallel transactions: the first takes the 3 longest-waiting hostnames; the second,
    while the first is still open, gets the other 2 on PostgreSQL (the locked rows are skipped, not waited
    for) and, on SQLite, runs after the first commits (one writer) and finds only those 2 still due."""
    with fresh_database_url(engine_name, str(tmp_path)) as url:
        db = migrated_database(url)
        try:
            _, _, ids = saas_zone(db, 5)
            now = utcnow()
            until = now + timedelta(seconds=60)
            with ThreadPoolExecutor(max_workers=1) as pool, db.write() as first:
                mine = first.hostnames.claim_due(now, until, 3)
                other = pool.submit(claim, db, now, until, 50)
                if db.postgres:
                    theirs = other.result(timeout=30)  # returned while `first` still holds its rows
                first.commit()
                theirs = other.result(timeout=30)
            assert mine == ids[:3], (mine, ids)
            assert sorted(theirs) == sorted(ids[3:]), (theirs, ids)
            # Claimed means not due again before `until`; the loop sleeps until the next one is due.
            assert claim(db, until - timedelta(seconds=1), until, 50) == []
            with db.read() as uow:
                assert uow.hostnames.next_due() == until
            assert sorted(claim(db, until, until + timedelta(seconds=60), 50)) == sorted(ids)
        finally:
            db.dispose()


@dataclass
class Fleet:
    server: ProcServer
    db: SqlDatabase
    dns: LoopbackDns
    ids: list[str]
    names: list[str]


@pytest.fixture(scope="module")
def fleet(engine_name: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    """One zone with HOSTNAMES hostnames, each a CNAME to the zone's fallback origin with its TXT token
    published (so each check asks the same questions every time), and a 2-worker server re-validating
    them every INTERVAL_S."""
    workdir = tmp_path_factory.mktemp("reval-fleet")
    with LoopbackDns() as dns, fresh_database_url(engine_name, str(workdir)) as url:
        db = migrated_database(url)
        _, fallback, ids = saas_zone(db, HOSTNAMES)
        names = []
        with db.read() as uow:
            made = [uow.hostnames.by_id(i) for i in ids]
        for host in made:
            assert host is not None
            dns.set(host.hostname, "CNAME", fallback)
            dns.set(ownership_record_name(host.hostname), "TXT", host.ownership_token)
            names.append(host.hostname)
        env = {
            "PREFIXGATE_DNS_SERVER": dns.spec,
            "PREFIXGATE_DNS_TIMEOUT_S": "1",
            "PREFIXGATE_REVALIDATE_INTERVAL_S": repr(INTERVAL_S),
        }
        server = ProcServer(url, Path(workdir), workers=2, env=env).start()
        try:
            yield Fleet(server, db, dns, ids, names)
        finally:
            server.stop()
            db.dispose()


def until_both_workers_run(fleet: Fleet, timeout_s: float = 60) -> None:
    """Both workers have built their app; each starts its re-validation loop right after."""
    deadline = time.monotonic() + timeout_s
    while scrape(fleet.server.base).value("prefixgate_worker_processes") != 2:
        assert time.monotonic() < deadline, "the second worker did not start"
        time.sleep(0.1)


def statuses(fleet: Fleet) -> list[str]:
    with fleet.db.read() as uow:
        found = [uow.hostnames.by_id(i) for i in fleet.ids]
    return [h.status if h is not None else "gone" for h in found]


def test_two_workers_check_each_hostname_once_per_interval_and_none_is_starved(fleet: Fleet) -> None:
    until_both_workers_run(fleet)
    deadline = time.monotonic() + 10 * INTERVAL_S
    while statuses(fleet) != [ACTIVE] * HOSTNAMES:  # hostnames are due at once: the first round activates them
        assert time.monotonic() < deadline, statuses(fleet)
        time.sleep(0.05)

    txt = [ownership_record_name(name) for name in fleet.names]
    before = [fleet.dns.count(name, "TXT") for name in txt]
    window_ends = time.monotonic() + WINDOW_INTERVALS * INTERVAL_S
    while time.monotonic() < window_ends:  # measuring a span of time: the one place we watch a clock
        time.sleep(0.05)
    counts = [fleet.dns.count(name, "TXT") - b for name, b in zip(txt, before, strict=True)]

    # Checks of one hostname start at least an interval apart (whoever claims it moves its next check
    # one interval on, and no worker may claim it before then), so a window of N intervals holds at
    # most N + 1 of them (a check at each edge). Both loops wake when the next hostname falls due, so
    # the gaps are barely longer than an interval: at least N - 1, for every hostname (none starved).
    # Two workers that did not share the lease would each check every hostname once per interval:
    # 2N - 2 or more per hostname in the window, 10 for N = 6, above the N + 1 = 7 allowed here.
    n = WINDOW_INTERVALS
    assert all(n - 1 <= c <= n + 1 for c in counts), f"TXT queries per hostname in {n} intervals: {counts}"
    assert sum(counts) <= HOSTNAMES * (n + 1), counts
    assert statuses(fleet) == [ACTIVE] * HOSTNAMES
