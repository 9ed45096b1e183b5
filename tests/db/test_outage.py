"""Database outages against a real `prefixgate serve`: answers stay fast, enveloped 503s, and the
service recovers by itself.

PostgreSQL: a private instance (tests/pginstance.py) is stopped and started under load; the
shared server is never touched. SQLite: another process holds the write lock; writes give up
after the busy timeout (PREFIXGATE_SQLITE_BUSY_TIMEOUT_MS) while reads go on (WAL).
"""

from __future__ import annotations

import itertools
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy.exc import OperationalError

from prefixgate.adapters.db.engine import make_engine
from prefixgate.adapters.db.migrate import upgrade
from prefixgate.adapters.db.uow import SqlDatabase
from prefixgate.domain.model import Account
from prefixgate.service import identity, prefixes
from prefixgate.service.context import Actor, utcnow
from tests.pginstance import PgInstance, pg_instance_fixture  # noqa: F401 (registers the pg_instance fixture)
from tests.procserver import ProcServer
from tests.support import Member, make_member, migrated_database

BOUND_S = 10.0  # no answer may take longer while the database is out
RECOVER_S = 30.0
SQLITE_BUSY_MS = 1500

Request = Callable[[httpx.Client], httpx.Response]


@dataclass
class Tenant:
    account_id: str
    member: Member
    prefix_id: str  # an approved prefix, onboarded before the server starts
    octet: int  # the prefix is {octet}.77.0.0/16
    other_account_id: str  # a second account to delegate to


@dataclass
class Answer:
    status: int
    seconds: float
    body: str


def seed(url: str, octet: int) -> Tenant:
    """One tenant with an approved prefix, made through the service layer."""
    db = migrated_database(url)
    try:
        m = make_member(db, "outage")
        acct = identity.create_account(db, Actor.cli(), "Outage A", owner_email=m.email)
        other = identity.create_account(db, Actor.cli(), "Outage B")
        p = prefixes.create_prefix(db, Actor.cli(), acct.id, f"{octet}.77.0.0/16", asn=64500)
        prefixes.approve_prefix(db, Actor.cli(), p.id)
        return Tenant(acct.id, m, p.id, octet, other.id)
    finally:
        db.dispose()


def timed(client: httpx.Client, request: Request) -> Answer:
    started = time.monotonic()
    try:
        r = request(client)
    except httpx.HTTPError as exc:  # a hang (client timeout) or a dropped connection: always a failure
        return Answer(-1, time.monotonic() - started, repr(exc))
    return Answer(r.status_code, time.monotonic() - started, r.text)


def assert_unavailable(a: Answer, what: str) -> None:
    """An enveloped 503 with code 10503, within the bound, with no traceback."""
    assert a.status == 503, f"{what}: {a.status} {a.body[:300]}"
    assert a.seconds < BOUND_S, f"{what} took {a.seconds:.1f}s"
    assert "Traceback" not in a.body
    body = httpx.Response(503, content=a.body).json()
    assert body["success"] is False and body["result"] is None, body
    assert body["errors"][0]["code"] == 10503, body


def client_for(server: ProcServer, member: Member) -> httpx.Client:
    # A client-side timeout well above the bound: a hang shows as a failed answer, not a stuck test.
    return httpx.Client(base_url=server.api, headers=member.headers, timeout=BOUND_S * 3)


_serial = itertools.count(1)  # shared by every client, so creates never collide


def _next_octets() -> str:
    n = next(_serial)
    return f"{n // 256 % 256}.{n % 256}"


def requests_for(t: Tenant) -> dict[str, Request]:
    """Each kind of request the tests send; every create names a new CIDR."""
    base = f"/accounts/{t.account_id}/addressing"
    return {
        "list prefixes": lambda c: c.get(f"{base}/prefixes"),
        "get prefix": lambda c: c.get(f"{base}/prefixes/{t.prefix_id}"),
        "ip access": lambda c: c.get(f"{base}/ip_access", params={"ip": f"{t.octet}.77.0.9"}),
        "audit log": lambda c: c.get(f"/accounts/{t.account_id}/audit_logs"),
        "create prefix": lambda c: c.post(f"{base}/prefixes", json={"cidr": f"61.{_next_octets()}.0/24", "asn": 1}),
        "create delegation": lambda c: c.post(
            f"{base}/prefixes/{t.prefix_id}/delegations",
            json={"cidr": f"{t.octet}.77.{_next_octets()}/32", "delegated_account_id": t.other_account_id},
        ),
        "edit prefix": lambda c: c.patch(f"{base}/prefixes/{t.prefix_id}", json={"description": f"d{next(_serial)}"}),
    }


READS = ("list prefixes", "get prefix", "ip access", "audit log")
WRITES = ("create prefix", "create delegation", "edit prefix")


@contextmanager
def background_load(server: ProcServer, t: Tenant, threads: int = 6) -> Iterator[list[Answer]]:
    """Clients sending a mix of reads and writes without pause until the block ends."""
    answers: list[Answer] = []
    stop = threading.Event()
    lock = threading.Lock()

    def run() -> None:
        reqs = list(requests_for(t).values())
        with client_for(server, t.member) as c:
            i = 0
            while not stop.is_set():
                a = timed(c, reqs[i % len(reqs)])
                i += 1
                with lock:
                    answers.append(a)

    workers = [threading.Thread(target=run, daemon=True) for _ in range(threads)]
    for w in workers:
        w.start()
    try:
        yield answers
    finally:
        stop.set()
        for w in workers:
            w.join(timeout=BOUND_S * 4)
        assert not any(w.is_alive() for w in workers), "a client is stuck on an answer"


def wait_for_200(server: ProcServer, t: Tenant) -> float:
    """Seconds until a read that needs the database answers 200 again (fails after RECOVER_S)."""
    started = time.monotonic()
    last = None
    with client_for(server, t.member) as c:
        while time.monotonic() - started < RECOVER_S:
            last = timed(c, requests_for(t)["list prefixes"])
            if last.status == 200:
                return time.monotonic() - started
            time.sleep(0.2)
    raise AssertionError(f"not recovered after {RECOVER_S}s; last answer: {last}")


def assert_no_unexpected_errors(server: ProcServer) -> None:
    log = server.log.read_text()
    assert "request.failed" not in log, log[-3000:]  # the 500 handler's event: an unmapped exception
    assert "Traceback" not in log, log[-3000:]


# --- PostgreSQL ------------------------------------------------------------------------------


def test_postgres_down_answers_503_quickly_and_recovers_without_restart(
    pg_instance: PgInstance, tmp_path: Path
) -> None:
    t = seed(pg_instance.url, 62)
    server = ProcServer(pg_instance.url, tmp_path, workers=2).start()
    try:
        reqs = requests_for(t)
        with client_for(server, t.member) as c:
            for name, req in reqs.items():  # healthy: every request works, and pools hold connections
                assert timed(c, req).status in (200, 201), name

        with background_load(server, t) as load:
            time.sleep(0.5)
            pg_instance.stop()  # fast shutdown: in-flight sessions are terminated
            down_at = time.monotonic()

            # While it is down, every kind of request (each on a fresh connection, so both
            # workers' pools are hit) is refused with the envelope's 503, quickly.
            for _ in range(2):
                for name, req in reqs.items():
                    with client_for(server, t.member) as c:
                        assert_unavailable(timed(c, req), f"{name} while PostgreSQL is down")
            with ThreadPoolExecutor(16) as pool:
                burst = list(pool.map(lambda i: _fresh(server, t, reqs[WRITES[i % 3]]), range(16)))
            for a in burst:
                assert_unavailable(a, "concurrent write while PostgreSQL is down")
            ready = httpx.get(f"{server.base}/readyz", timeout=BOUND_S * 3)
            assert ready.status_code == 503 and ready.json()["errors"][0]["code"] == 10503
            assert httpx.get(f"{server.base}/healthz", timeout=5).status_code == 200  # the process lives on
            assert time.monotonic() - down_at < 40

            pg_instance.start()
            recovered_in = wait_for_200(server, t)
            time.sleep(0.5)

        # The load saw only successes, refusals and enveloped 503s: no 500, no hang.
        assert load, "the background load sent nothing"
        assert {a.status for a in load} <= {200, 201, 409, 503}, sorted({(a.status, a.body[:200]) for a in load})
        for a in load:
            if a.status == 503:
                assert_unavailable(a, "request under load during the outage")
            assert a.seconds < BOUND_S, f"an answer under load took {a.seconds:.1f}s"
        assert any(a.status == 503 for a in load)

        # Recovered by itself, in every worker: each request on a fresh connection works again.
        assert recovered_in < RECOVER_S
        for name, req in reqs.items():
            for _ in range(4):
                assert _fresh(server, t, req).status in (200, 201), name
        assert httpx.get(f"{server.base}/readyz", timeout=10).status_code == 200
        assert_no_unexpected_errors(server)
    finally:
        server.stop()


def test_postgres_that_accepts_but_never_answers_gives_503_within_the_connect_timeout(
    pg_instance: PgInstance, tmp_path: Path
) -> None:
    # Worse than a refused connection: every connection attempt hangs. The connect timeout bounds
    # each attempt, and the pool timeout bounds waiting for a slot when more requests than the pool
    # holds (20) arrive at once; an answer takes at most about the two together.
    t = seed(pg_instance.url, 62)
    connect_timeout = 2
    env = {"PREFIXGATE_CONNECT_TIMEOUT_S": str(connect_timeout)}
    server = ProcServer(pg_instance.url, tmp_path, workers=1, env=env).start()
    try:
        reqs = requests_for(t)
        with ThreadPoolExecutor(8) as pool:  # the pool holds several connections, now useless
            assert set(pool.map(lambda i: _fresh(server, t, reqs[READS[i % 4]]).status, range(16))) == {200}
        with pg_instance.unresponsive(), ThreadPoolExecutor(30) as pool:
            answers = list(pool.map(lambda i: _fresh(server, t, reqs[(*READS, *WRITES)[i % 7]]), range(30)))
        for a in answers:
            assert_unavailable(a, "request while PostgreSQL hangs")
            assert a.seconds < 2 * connect_timeout + 2, a.seconds
        assert min(a.seconds for a in answers) >= connect_timeout * 0.8  # it did wait for the connect
        wait_for_200(server, t)
        assert _fresh(server, t, reqs["create prefix"]).status == 201
        assert_no_unexpected_errors(server)
    finally:
        server.stop()


def _fresh(server: ProcServer, t: Tenant, req: Request) -> Answer:
    with client_for(server, t.member) as c:
        return timed(c, req)


# --- SQLite ----------------------------------------------------------------------------------


@pytest.fixture
def sqlite_server(tmp_path: Path) -> Iterator[tuple[ProcServer, Tenant, Path]]:
    path = tmp_path / "outage.db"
    url = f"sqlite:///{path}"
    t = seed(url, 63)
    env = {"PREFIXGATE_SQLITE_BUSY_TIMEOUT_MS": str(SQLITE_BUSY_MS)}
    server = ProcServer(url, tmp_path, workers=2, env=env).start()
    try:
        yield server, t, path
    finally:
        server.stop()


@contextmanager
def write_lock_held(path: Path) -> Iterator[sqlite3.Connection]:
    """Another process's view: a connection holding SQLite's write lock until the block ends."""
    holder = sqlite3.connect(path, isolation_level=None, timeout=10)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        holder.execute("UPDATE accounts SET name = name")  # a real pending write, not just the lock
        yield holder
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def token_last_used(path: Path) -> str | None:
    with closing(sqlite3.connect(path)) as conn:
        return conn.execute("SELECT last_used_on FROM api_tokens").fetchone()[0]


def test_sqlite_write_lock_held_elsewhere_gives_503_for_writes_while_reads_go_on(
    sqlite_server: tuple[ProcServer, Tenant, Path],
) -> None:
    server, t, path = sqlite_server
    reqs = requests_for(t)
    with client_for(server, t.member) as c:
        assert timed(c, reqs["list prefixes"]).status == 200
        before = c.get(f"/accounts/{t.account_id}/audit_logs").json()["result_info"]["total_count"]
    # The token's last use is recorded (a write) at most once a minute: make it due, so every
    # request below wants to record it.
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("UPDATE api_tokens SET last_used_on = '2000-01-01 00:00:00.000000'")
    stale = token_last_used(path)

    with write_lock_held(path):
        # Reads go on (WAL), on new connections too: they never wait for the writer, not even
        # for recording the token's use (that bookkeeping is skipped while the lock is taken).
        with ThreadPoolExecutor(8) as pool:
            reads = list(pool.map(lambda i: _fresh(server, t, reqs[READS[i % 4]]), range(16)))
        for a in reads:
            assert a.status == 200 and a.seconds < 1.0, a
        assert httpx.get(f"{server.base}/readyz", timeout=5).status_code == 200
        for name in WRITES:
            a = _fresh(server, t, reqs[name])
            assert_unavailable(a, f"{name} while the write lock is held")
            # It waited for the configured busy timeout (not the 10 s default, and not 0 ms:
            # skipping the bookkeeping did not leave the connection without its timeout).
            assert SQLITE_BUSY_MS / 1000 * 0.8 <= a.seconds < SQLITE_BUSY_MS / 1000 + 3, (name, a.seconds)
        with ThreadPoolExecutor(8) as pool:
            burst = list(pool.map(lambda i: _fresh(server, t, reqs[WRITES[i % 3]]), range(8)))
        for a in burst:
            assert_unavailable(a, "concurrent write while the write lock is held")
        assert token_last_used(path) == stale

    # Released: writes work again at once, without a restart.
    for name in WRITES:
        assert _fresh(server, t, reqs[name]).status in (200, 201), name
    assert token_last_used(path) != stale  # the skipped bookkeeping was done on a later request
    with client_for(server, t.member) as c:
        after = c.get(f"/accounts/{t.account_id}/audit_logs").json()["result_info"]["total_count"]
        cidrs = {p["cidr"] for p in c.get(f"/accounts/{t.account_id}/addressing/prefixes").json()["result"]}
    # The refused writes left nothing behind: only the three later writes are recorded
    # (the delegation is in the owner's log once), and one prefix was added.
    assert after == before + 3
    assert len(cidrs) == 2
    assert_no_unexpected_errors(server)


def test_sqlite_bookkeeping_write_never_waits_and_keeps_the_busy_timeout(tmp_path: Path) -> None:
    path = tmp_path / "direct.db"
    db = SqlDatabase(make_engine(f"sqlite:///{path}", sqlite_busy_timeout_ms=SQLITE_BUSY_MS))
    upgrade(db.engine)
    try:
        with write_lock_held(path):
            started = time.monotonic()
            with db.write_if_free() as w:
                assert w is None
            assert time.monotonic() - started < 0.5
            with db.engine.connect() as conn:  # the pooled connection has its usual timeout back
                assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == SQLITE_BUSY_MS
            started = time.monotonic()
            with pytest.raises(OperationalError), db.write():
                pass
            assert time.monotonic() - started >= SQLITE_BUSY_MS / 1000 * 0.8
        with db.write_if_free() as w:
            assert w is not None
            w.accounts.add(Account(id="a" * 32, name="x", type="standard", created_at=utcnow()))
            w.commit()
        with db.read() as r:
            assert r.accounts.get("a" * 32) is not None
    finally:
        db.dispose()


def test_sqlite_write_waits_for_a_short_lock_instead_of_failing(
    sqlite_server: tuple[ProcServer, Tenant, Path],
) -> None:
    server, t, path = sqlite_server
    create = requests_for(t)["create prefix"]
    assert _fresh(server, t, requests_for(t)["list prefixes"]).status == 200
    with ThreadPoolExecutor(1) as pool, write_lock_held(path):
        pending = pool.submit(_fresh, server, t, create)
        time.sleep(SQLITE_BUSY_MS / 1000 / 3)
        assert not pending.done()  # it is waiting for the lock
    a = pending.result(timeout=BOUND_S)  # the lock was released within the busy timeout
    assert a.status == 201, a
    assert_no_unexpected_errors(server)
