"""kill -9 in the middle of a write storm, then restart, on both engines.

Many clients create prefixes and delegations and delete some, against a real `prefixgate serve`
with two workers. The whole process group is SIGKILLed while requests are in flight. After a
restart: every acknowledged (2xx) write is there, every acknowledged delete is gone, nothing is
half-written (a row without its audit events, or events without their row), references hold,
and the engine's own integrity checks pass.
"""

from __future__ import annotations

import os
import random
import sqlite3
import subprocess
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from prefixgate.adapters.db.tables import audit_log, delegations, prefixes
from prefixgate.adapters.db.uow import SqlDatabase
from prefixgate.service import identity
from prefixgate.service import prefixes as prefix_service
from prefixgate.service.context import Actor
from tests.pginstance import PG_BIN
from tests.procserver import ProcServer
from tests.support import Member, fresh_database_url, make_member, migrated_database

OWNERS = 4
THREADS = 10  # thread i acts for owner i % OWNERS and onboards prefixes under {70 + i}.0.0.0/8
MIN_ACKED_BEFORE_KILL = 150
STORM_LIMIT_S = 25.0
OK = {200, 201}


@dataclass
class Owner:
    account_id: str
    member: Member
    base: dict[str, str]  # approved /16 prefixes made before the storm: id -> cidr


@dataclass
class Ledger:
    """What the clients were told. Only acknowledged (2xx) outcomes are certain."""

    prefixes: dict[str, str] = field(default_factory=dict)  # acked created: id -> account
    prefixes_deleted: set[str] = field(default_factory=set)
    delegations: dict[str, tuple[str, str]] = field(default_factory=dict)  # acked: id -> (account, prefix)
    delegations_deleted: set[str] = field(default_factory=set)
    unsure_deletes: set[str] = field(default_factory=set)  # a DELETE in flight at the kill
    statuses: Counter[int] = field(default_factory=Counter)
    unanswered: int = 0  # requests that got no answer (sent before or after the kill)
    busy: int = 0  # requests being sent or awaiting their answer right now
    busy_at_kill: int = -1
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def acked(self) -> int:
        with self.lock:  # the storm's threads add status codes meanwhile
            return sum(n for s, n in self.statuses.items() if s in OK)


@dataclass
class Fixture:
    url: str
    workdir: Path
    engine: str
    owners: list[Owner]
    others: list[str]  # accounts that only receive delegations


@pytest.fixture
def setup(engine_name: str, tmp_path: Path) -> Iterator[Fixture]:
    with fresh_database_url(engine_name, str(tmp_path)) as url:
        db = migrated_database(url)
        try:
            owners = []
            for j in range(OWNERS):
                m = make_member(db, f"storm{j}")
                acct = identity.create_account(db, Actor.cli(), f"Storm {j}", owner_email=m.email).id
                base = {}
                for k in range(2):
                    cidr = f"{90 + j}.{k}.0.0/16"
                    p = prefix_service.create_prefix(db, Actor.cli(), acct, cidr, asn=64500 + j)
                    prefix_service.approve_prefix(db, Actor.cli(), p.id)
                    base[p.id] = cidr
                owners.append(Owner(acct, m, base))
            others = [identity.create_account(db, Actor.cli(), f"Receiver {k}").id for k in range(3)]
        finally:
            db.dispose()
        yield Fixture(url, tmp_path, engine_name, owners, others)


def storm_client(i: int, fx: Fixture, server: ProcServer, ledger: Ledger, stop: threading.Event) -> None:
    """One client's write storm. It ends at the first request without an answer (the kill)."""
    rnd = random.Random(i)
    owner = fx.owners[i % OWNERS]
    targets = [o.account_id for o in fx.owners if o is not owner] + fx.others
    api = f"/accounts/{owner.account_id}/addressing/prefixes"
    mine: dict[str, str] = {}  # pending prefixes this client made and has not deleted: id -> cidr
    live: dict[str, str] = {}  # delegations this client made and has not deleted: id -> prefix id
    serial = 0

    def send(c: httpx.Client, method: str, url: str, body: object = None) -> httpx.Response:
        with ledger.lock:
            ledger.busy += 1
        try:
            return c.request(method, url, json=body)
        finally:
            with ledger.lock:
                ledger.busy -= 1

    with httpx.Client(base_url=server.api, headers=owner.member.headers, timeout=60) as c:
        while not stop.is_set():
            op = rnd.choices(["prefix", "delegate", "undelegate", "unprefix"], weights=[3, 6, 2, 1])[0]
            unsure: str | None = None
            try:
                if op == "prefix":
                    serial += 1
                    cidr = f"{70 + i}.{serial // 256}.{serial % 256}.0/24"
                    r = send(c, "POST", api, {"cidr": cidr, "asn": 64512})
                    if r.status_code in OK:
                        mine[r.json()["result"]["id"]] = cidr
                        with ledger.lock:
                            ledger.prefixes[r.json()["result"]["id"]] = owner.account_id
                elif op == "delegate":
                    pid, cidr = rnd.choice([*owner.base.items(), *mine.items()])
                    a, b, cc, _ = cidr.split("/")[0].split(".")
                    third = rnd.randrange(256) if cidr.endswith("/16") else int(cc)
                    sub = f"{a}.{b}.{third}.{rnd.randrange(256)}/32"
                    body = {"cidr": sub, "delegated_account_id": rnd.choice(targets)}
                    r = send(c, "POST", f"{api}/{pid}/delegations", body)
                    if r.status_code in OK:
                        live[r.json()["result"]["id"]] = pid
                        with ledger.lock:
                            ledger.delegations[r.json()["result"]["id"]] = (owner.account_id, pid)
                elif op == "undelegate" and live:
                    did = rnd.choice(sorted(live))
                    pid = live.pop(did)
                    unsure = did
                    r = send(c, "DELETE", f"{api}/{pid}/delegations/{did}")
                    if r.status_code in OK:
                        with ledger.lock:
                            ledger.delegations_deleted.add(did)
                elif op == "unprefix" and (free := sorted(set(mine) - set(live.values()))):
                    pid = rnd.choice(free)
                    del mine[pid]
                    unsure = pid
                    r = send(c, "DELETE", f"{api}/{pid}")
                    if r.status_code in OK:
                        with ledger.lock:
                            ledger.prefixes_deleted.add(pid)
                else:
                    continue
            except httpx.TransportError:
                with ledger.lock:
                    ledger.unanswered += 1
                    if unsure:
                        ledger.unsure_deletes.add(unsure)
                return
            with ledger.lock:
                ledger.statuses[r.status_code] += 1


def run_storm_and_kill(fx: Fixture, server: ProcServer) -> Ledger:
    ledger = Ledger()
    stop = threading.Event()
    threads = [threading.Thread(target=storm_client, args=(i, fx, server, ledger, stop)) for i in range(THREADS)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + STORM_LIMIT_S
    try:
        while ledger.acked < MIN_ACKED_BEFORE_KILL and time.monotonic() < deadline:
            time.sleep(0.02)
        with ledger.lock:  # no client starts or finishes a request meanwhile
            ledger.busy_at_kill = ledger.busy
            server.kill9()  # while every client is mid-loop: requests are in flight
    finally:
        stop.set()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a client hung after the kill"
    assert ledger.acked >= MIN_ACKED_BEFORE_KILL, f"only {ledger.acked} writes acknowledged: {ledger.statuses}"
    # Nothing but successes and rule refusals (duplicates) before the kill: no 500s.
    assert set(ledger.statuses) <= {*OK, 409, 503}, ledger.statuses
    assert ledger.statuses[503] <= ledger.acked // 20, ledger.statuses
    assert ledger.busy_at_kill >= 1, "the kill hit no request in flight"
    assert ledger.unanswered >= 1, "no request went unanswered"
    return ledger


def check_acknowledged_via_api(fx: Fixture, server: ProcServer, ledger: Ledger) -> None:
    clients = {o.account_id: httpx.Client(base_url=server.api, headers=o.member.headers, timeout=30) for o in fx.owners}
    try:
        for pid, acct in ledger.prefixes.items():
            r = clients[acct].get(f"/accounts/{acct}/addressing/prefixes/{pid}")
            if pid in ledger.prefixes_deleted:
                assert r.status_code == 404, (pid, r.text)
            elif pid not in ledger.unsure_deletes:  # a delete cut off by the kill may or may not have committed
                assert r.status_code == 200, (pid, r.text)
        listed: dict[str, set[str]] = {}
        for did, (acct, pid) in ledger.delegations.items():
            if pid not in listed:
                r = clients[acct].get(f"/accounts/{acct}/addressing/prefixes/{pid}/delegations")
                assert r.status_code in (200, 404), r.text
                listed[pid] = {d["id"] for d in r.json()["result"] or []}
            if did in ledger.delegations_deleted:
                assert did not in listed[pid], f"acknowledged delete of delegation {did} was lost"
            elif did not in ledger.unsure_deletes:
                assert did in listed[pid], f"acknowledged delegation {did} was lost"
        # And the restarted service takes writes.
        owner = fx.owners[0]
        pid = next(iter(owner.base))
        r = clients[owner.account_id].post(
            f"/accounts/{owner.account_id}/addressing/prefixes/{pid}/delegations",
            json={"cidr": "90.0.255.255/32", "delegated_account_id": fx.others[0]},
        )
        assert r.status_code in (200, 409), r.text
    finally:
        for c in clients.values():
            c.close()


def check_rows_and_audit(db: SqlDatabase, ledger: Ledger) -> None:
    with db.engine.connect() as conn:
        prefix_rows = {r.id: r for r in conn.execute(select(prefixes))}
        delegation_rows = {r.id: r for r in conn.execute(select(delegations))}
        events = conn.execute(
            select(audit_log.c.action, audit_log.c.resource_id, audit_log.c.owner_kind, audit_log.c.owner_id)
        ).all()

    # Acknowledged writes are present; acknowledged deletes are absent.
    for pid in ledger.prefixes:
        if pid in ledger.prefixes_deleted:
            assert pid not in prefix_rows, pid
        elif pid not in ledger.unsure_deletes:
            assert pid in prefix_rows, pid
    for did in ledger.delegations:
        if did in ledger.delegations_deleted:
            assert did not in delegation_rows, did
        elif did not in ledger.unsure_deletes:
            assert did in delegation_rows, did

    logs: dict[tuple[str, str], list[str]] = defaultdict(list)  # (action, resource) -> owners
    for e in events:
        assert e.owner_kind == "account" or not e.action.startswith(("prefix.", "delegation.")), e
        logs[(e.action, e.resource_id)].append(e.owner_id)

    # Delegations: a row has its 'created' event in both accounts' logs and no 'deleted' event;
    # a created-then-gone delegation has its 'deleted' event in both logs. Anything else is a half-write.
    for did, d in delegation_rows.items():
        assert sorted(logs[("delegation.created", did)]) == sorted([d.owner_account_id, d.delegated_account_id]), did
        assert ("delegation.deleted", did) not in logs, did
    for action, rid in list(logs):
        if action == "delegation.created" and rid not in delegation_rows:
            assert sorted(logs[("delegation.deleted", rid)]) == sorted(logs[(action, rid)]), f"half-deleted {rid}"
        if action == "delegation.deleted":
            assert rid not in delegation_rows and (("delegation.created", rid) in logs), rid

    # Prefixes likewise, in their account's log.
    for pid, p in prefix_rows.items():
        assert logs[("prefix.created", pid)] == [p.account_id], pid
        assert ("prefix.deleted", pid) not in logs, pid
    for action, rid in list(logs):
        if action == "prefix.created" and rid not in prefix_rows:
            assert logs[("prefix.deleted", rid)] == logs[(action, rid)], f"half-deleted prefix {rid}"
        if action == "prefix.deleted":
            assert rid not in prefix_rows and ("prefix.created", rid) in logs, rid

    # References: every delegation sits inside an existing prefix of its owner's account.
    for did, d in delegation_rows.items():
        p = prefix_rows.get(d.prefix_id)
        assert p is not None, f"delegation {did} refers to a missing prefix"
        assert p.account_id == d.owner_account_id and p.family == d.family, did
        assert p.start_key <= d.start_key <= d.end_key <= p.end_key, did


def check_sqlite_integrity(url: str) -> None:
    path = make_url(url).database
    assert path
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        conn.close()


PG_ORPHANS = {
    "overlapping prefixes": "SELECT count(*) FROM prefixes p JOIN prefixes q ON p.id < q.id AND p.net && q.net",
    "delegation outside or without its prefix": (
        "SELECT count(*) FROM delegations d LEFT JOIN prefixes p ON p.id = d.prefix_id"
        " WHERE p.id IS NULL OR NOT (d.net <<= p.net) OR p.account_id <> d.owner_account_id"
    ),
    "delegation to a missing account": (
        "SELECT count(*) FROM delegations d LEFT JOIN accounts a ON a.id = d.delegated_account_id WHERE a.id IS NULL"
    ),
    "prefix of a missing account": (
        "SELECT count(*) FROM prefixes p LEFT JOIN accounts a ON a.id = p.account_id WHERE a.id IS NULL"
    ),
    "membership without user or account": (
        "SELECT count(*) FROM memberships m LEFT JOIN users u ON u.id = m.user_id"
        " LEFT JOIN accounts a ON a.id = m.account_id WHERE u.id IS NULL OR a.id IS NULL"
    ),
    "token without user": (
        "SELECT count(*) FROM api_tokens t LEFT JOIN users u ON u.id = t.user_id WHERE u.id IS NULL"
    ),
    "constraint not validated": (
        "SELECT count(*) FROM pg_constraint WHERE NOT convalidated AND connamespace = 'public'::regnamespace"
    ),
}


def check_postgres_integrity(db: SqlDatabase, url: str) -> None:
    with db.engine.connect() as conn:
        for what, sql in PG_ORPHANS.items():
            assert conn.execute(text(sql)).scalar() == 0, what
    amcheck = PG_BIN / "pg_amcheck"
    if amcheck.exists():  # optional: verifies heap and B-tree pages (installs the amcheck extension)
        u = make_url(url)
        cmd = [str(amcheck), "-h", u.host or "127.0.0.1", "-p", str(u.port or 5432), "-U", u.username or "postgres"]
        cmd += ["--install-missing", "--heapallindexed", "--no-dependent-toast", "-d", str(u.database)]
        env = {"PGPASSWORD": u.password} if u.password else {}
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env={**os.environ, **env}, check=False)
        assert done.returncode == 0, done.stdout + done.stderr


def test_kill_9_during_a_write_storm_loses_no_acknowledged_write_and_leaves_no_half_write(setup: Fixture) -> None:
    fx = setup
    server = ProcServer(fx.url, fx.workdir, workers=2).start()
    try:
        ledger = run_storm_and_kill(fx, server)
    finally:
        server.kill9()
    assert server.proc is not None and server.proc.returncode == -9

    restarted = ProcServer(fx.url, fx.workdir, workers=2).start()
    try:
        check_acknowledged_via_api(fx, restarted, ledger)
    finally:
        restarted.stop()

    db = migrated_database(fx.url)
    try:
        check_rows_and_audit(db, ledger)
        if fx.engine == "sqlite":
            check_sqlite_integrity(fx.url)
        else:
            check_postgres_integrity(db, fx.url)
    finally:
        db.dispose()
