"""Custom-hostname (SSL for SaaS) benchmark: resolve with sni as hostnames grow, validation throughput
against a DNS server on loopback, the background re-validation's sweep, and the revocation check's cost.

    .venv/bin/python bench/bench_hostnames.py [--sizes 1000,100000] [--requests 500] [--validations 400]
        [--rounds 2] [--clients 8] [--sweep 1000] [--sweep-workers 1 (SQLite) / 1,2 (PostgreSQL)]
        [--sweep-rounds 2] [--interval 1] [--dependents 1,1000] [--revoke-requests 50]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres] [--out BENCHMARKS.md]

For each size H, on a fresh database, bulk-load H active hostnames with their custom_hostname_ips rows on
CDN-bound prefixes, each on a host delegated to one of H/100 tenant accounts (bench/_hostname_data.py).
At the largest size, through the service layer: account A's own IPv6 /48 bound to CDN, one delegation
to B per --dependents count with that many of B's active hostnames on it, and four tenant accounts
with a delegated /112 each and pending hostnames to validate. Against real `prefixgate serve` processes
on 127.0.0.1 (DNS only ever asked of 127.0.0.1):
  1. GET /edge/resolve?ip&protocol=tcp&port=443&sni (operator), an active hostname (served) and an unknown
     name (hostname_not_active), one request at a time, every kind of every size taking turns (one server
     per size, all running): p50/p99 and growth from the smallest to the largest size;
  2. POST …/custom_hostnames/{id}/validate of pending hostnames whose AAAA and TXT records a LoopbackDns
     serves, by 1 client and by --clients clients, in --rounds alternating rounds: validations per second;
  3. the background re-validation (PREFIXGATE_REVALIDATE_INTERVAL_S=--interval) sweeping --sweep pending
     hostnames made due at once: first to last TXT query in the DNS server's log, per worker count, the
     worker counts taking turns for --sweep-rounds rounds (a fresh server and fresh hostnames each sweep);
  4. DELETE …/delegations/{id} without force (409 listing the hostnames) for each --dependents count.
Unless --no-explain, the query plans of resolve with sni, of the revocation check and of the
re-validation claim at the largest size are printed and written out too.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import re
import shlex
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx
from sqlalchemy import create_engine, update

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # for tests.dnsserver

from tests.dnsserver import LoopbackDns

from _common import (
    RequestFn,
    Server,
    Stats,
    bootstrap,
    code_version,
    database_version,
    engine_name,
    explain_selects,
    fresh_database,
    machine,
    replace_section,
    run_alternating,
    table,
)
from _hostname_data import LATER, Pending, active_on, analyze, load, pending_on, tenant, unknown_name
from prefixgate.adapters.db.tables import custom_hostnames
from prefixgate.domain.bindings import CDN
from prefixgate.domain.errors import Conflict
from prefixgate.domain.hostnames import ownership_record_name
from prefixgate.service import bindings, edge, identity, tokens
from prefixgate.service.context import Actor, utcnow
from prefixgate.service.delegations import create_delegation, delete_delegation

OWNED = "2a0e:f000::/48"  # account A's prefix, bound to CDN: revocation blocks and validation tenants
VALIDATION_TENANTS = 4
QUIET = {"PREFIXGATE_DNS_SERVER": "127.0.0.1:9", "PREFIXGATE_REVALIDATE_INTERVAL_S": "0"}  # no DNS anywhere


class TimedDns(LoopbackDns):
    """A LoopbackDns that also notes when each question arrived (time.monotonic(), name, type)."""

    def __init__(self) -> None:
        super().__init__()
        self.arrivals: list[tuple[float, str, str]] = []  # appended by the server thread only

    def _reply(self, wire: bytes, transport: Literal["udp", "tcp"]) -> bytes | None:
        at, before = time.monotonic(), len(self._log)
        reply = super()._reply(wire, transport)
        if len(self._log) > before:
            q = self._log[-1]
            self.arrivals.append((at, q.name, q.rtype))
        return reply


@dataclass
class Arena:
    url: str
    n: int
    rate: float
    rows: int
    operator: dict[str, str]
    served: list[tuple[str, str]]  # loaded (hostname, address)
    owner_id: str
    owner: dict[str, str]  # A's Administrator
    prefix_id: str = ""  # A's prefix (this and the rest: the largest size only)
    revoke: dict[int, str] = field(default_factory=dict)  # dependents -> delegation id
    pool: list[Pending] = field(default_factory=list)  # validated through the API
    sweeps: list[list[Pending]] = field(default_factory=list)  # one set per sweep
    plans: list[str] = field(default_factory=list)


_MANY = (
    re.compile(r"(?:\?, ){8,}\?"),  # SQLite placeholders
    re.compile(r"(?:%\(\w+\)s(?:::\w+)?, ){8,}%\(\w+\)s(?:::\w+)?"),  # psycopg placeholders
    re.compile(r"(?<=\{)[^{}]{300,}(?=\})"),  # PostgreSQL array literals in plans
)


def shorten(lines: list[str]) -> list[str]:
    """Plans with long IN lists folded to their length, so a thousand ids read as one."""

    def fold(m: re.Match[str]) -> str:
        return f"… {m.group(0).count(',') + 1} values …"

    out = []
    for line in lines:
        for pattern in _MANY:
            line = pattern.sub(fold, line)
        out.append(line)
    return out


def interleave(groups: list[list[Pending]]) -> list[Pending]:
    return [p for row in zip(*groups, strict=True) for p in row]


def prepare(url: str, n: int, args: argparse.Namespace, *, largest: bool) -> Arena:
    t = bootstrap(url)
    rate, rows, served = load(t, n)
    cli = Actor.cli()
    op_user, _ = identity.create_user(t.db, cli, "operator@bench.example", password=None, operator=True)
    _, op_token = tokens.create_token(t.db, cli, "bench-operator", user=op_user)
    a = Arena(url, n, rate, rows, {"Authorization": f"Bearer {op_token}"}, served, t.owner, t.headers)
    if not largest:
        t.db.dispose()
        return a
    a.prefix_id = t.prefix(OWNED)
    bindings.create_binding(t.db, cli, t.owner, a.prefix_id, OWNED, CDN.id)
    b = tenant(t, "b", account_id=t.delegatee)
    for j, k in enumerate(args.dependents):
        net = ipaddress.ip_network(f"2a0e:f000:0:{j + 1:x}::/{128 - k.bit_length()}")  # 2**bits > k hosts
        a.revoke[k] = create_delegation(t.db, cli, t.owner, a.prefix_id, str(net), t.delegatee).id
        active_on(t, b, net, k, f"r{j}-")
    sweeps = args.sweep_rounds * len(args.sweep_workers)
    per_tenant = -(-(2 * args.rounds * args.validations + sweeps * args.sweep) // VALIDATION_TENANTS)
    groups = []
    for j in range(VALIDATION_TENANTS):
        v, net = tenant(t, f"v{j}"), ipaddress.ip_network(f"2a0e:f000:0:{0x100 + j:x}::/112")
        create_delegation(t.db, cli, t.owner, a.prefix_id, str(net), v.account_id)
        groups.append(pending_on(t, v, net, per_tenant, f"v{j}-"))
    pending = interleave(groups)
    a.pool = pending[: 2 * args.rounds * args.validations]
    rest = pending[len(a.pool) :]
    a.sweeps = [rest[i * args.sweep : (i + 1) * args.sweep] for i in range(sweeps)]
    analyze(t)
    if not args.no_explain:
        name, ip = served[0]
        most = max(args.dependents)

        def refused() -> None:
            try:
                delete_delegation(t.db, cli, t.owner, a.prefix_id, a.revoke[most])
            except Conflict:
                return
            raise AssertionError("the revocation check let the delegation go")

        def claim() -> None:
            now = utcnow()
            with t.db.write() as uow:  # nothing is due: the claim finds no row, and is rolled back
                uow.hostnames.claim_due(now, now + LATER, 50)

        a.plans = shorten(
            [
                "-- resolve with sni, an active hostname (served)",
                *explain_selects(t.db.engine, lambda: edge.resolve(t.db, cli, ip, "tcp", 443, sni=name)),
                "-- resolve with sni, an unknown name (hostname_not_active)",
                *explain_selects(t.db.engine, lambda: edge.resolve(t.db, cli, ip, "tcp", 443, sni=unknown_name(0))),
                f"-- revocation check, delegation with {most:,} active hostnames (409)",
                *explain_selects(t.db.engine, refused),
                "-- background re-validation: claim the due hostnames",
                *explain_selects(t.db.engine, claim),
            ]
        )
    t.db.dispose()
    return a


# --- 1. resolve with sni --------------------------------------------------------------------------

RESOLVE = {"served": "GET /edge/resolve with sni, active hostname (served)", "unknown": "… unknown name (not active)"}


def resolve_fns(a: Arena, api: str, wrong: list[str]) -> list[RequestFn]:
    def resolve(c: httpx.Client, ip: str, sni: str, reason: str) -> httpx.Response:
        r = c.get(
            f"{api}/edge/resolve", params={"ip": ip, "protocol": "tcp", "port": 443, "sni": sni}, headers=a.operator
        )
        if r.status_code != 200 or r.json()["result"]["reason"] != reason:
            wrong.append(f"resolve {sni} at n={a.n}: {r.status_code} {r.text[:200]}")
        return r

    def pair(i: int) -> tuple[str, str]:
        return a.served[i % len(a.served)]

    return [
        lambda c, i: resolve(c, pair(i)[1], pair(i)[0], "served"),
        lambda c, i: resolve(c, pair(i)[1], unknown_name(i), "hostname_not_active"),
    ]


def measure_resolve(arenas: list[Arena], requests: int, tmp: str) -> dict[int, dict[str, Stats]]:
    wrong: list[str] = []
    with ExitStack() as stack:
        servers = [stack.enter_context(Server(a.url, tmp, env=QUIET)) for a in arenas]
        fns = [fn for a, s in zip(arenas, servers, strict=True) for fn in resolve_fns(a, s.api, wrong)]
        stats = run_alternating(servers[0], {}, fns, requests)
    assert not wrong, wrong[:5]
    k = len(RESOLVE)
    return {a.n: dict(zip(RESOLVE, stats[j * k : (j + 1) * k], strict=True)) for j, a in enumerate(arenas)}


# --- 4. revocation check --------------------------------------------------------------------------


def measure_revocation(a: Arena, requests: int, tmp: str) -> dict[int, Stats]:
    wrong: list[str] = []

    def refuse(k: int) -> RequestFn:
        path = f"/accounts/{a.owner_id}/addressing/prefixes/{a.prefix_id}/delegations/{a.revoke[k]}"

        def fn(c: httpx.Client, _: int) -> httpx.Response:
            r = c.delete(path, headers=a.owner)
            errors = r.json().get("errors", []) if r.status_code == 409 else []
            listed = [e for e in errors[1:] if e["code"] == 1901]  # after the summary, one error per hostname
            if not errors or errors[0]["code"] != 1901 or len(listed) != k:
                wrong.append(f"revoke with {k} dependents: {r.status_code} {r.text[:300]}")
            return r

        return fn

    with Server(a.url, tmp, env=QUIET) as server:
        stats = run_alternating(server, {}, [refuse(k) for k in a.revoke], requests, warmup=3)
    assert not wrong, wrong[:3]
    return dict(zip(a.revoke, stats, strict=True))


# --- 2. validation throughput ---------------------------------------------------------------------


def validate_all(server: Server, jobs: list[Pending], clients: int, wrong: list[str]) -> Stats:
    """Validate every job once, `clients` at a time (threads with a keep-alive client each)."""
    queue, lock = iter(jobs), threading.Lock()
    ready = threading.Barrier(clients + 1)
    lat: list[float] = []

    def worker() -> None:
        with httpx.Client(base_url=server.api, timeout=60) as c:
            c.get(f"{server.base}/healthz")  # connected before the clock starts
            ready.wait()
            while True:
                with lock:
                    job = next(queue, None)
                if job is None:
                    return
                t0 = time.perf_counter()
                url = f"/zones/{job.tenant.zone_id}/custom_hostnames/{job.id}/validate"
                r = c.post(url, headers=job.tenant.headers)
                dt = time.perf_counter() - t0
                with lock:
                    lat.append(dt)
                if r.status_code != 200 or r.json()["result"]["status"] != "active":
                    wrong.append(f"validate {job.hostname}: {r.status_code} {r.text[:300]}")

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(clients)]
    for th in threads:
        th.start()
    ready.wait()
    cpu0, start = server.cpu_seconds(), time.perf_counter()
    for th in threads:
        th.join()
    elapsed = time.perf_counter() - start
    return Stats(seconds=elapsed, latencies=lat, server_cpu=(server.cpu_seconds() - cpu0) / elapsed)


def publish(dns: LoopbackDns, jobs: list[Pending]) -> None:
    for p in jobs:
        dns.set(p.hostname, "AAAA" if ":" in p.address else "A", p.address)
        dns.set(ownership_record_name(p.hostname), "TXT", p.token)


def dns_env(dns: LoopbackDns, interval: float) -> dict[str, str]:
    return {
        "PREFIXGATE_DNS_SERVER": dns.spec,
        "PREFIXGATE_DNS_TIMEOUT_S": "2",
        "PREFIXGATE_REVALIDATE_INTERVAL_S": str(interval),
    }


@dataclass
class Throughput:
    clients: int
    stats: Stats
    rounds: list[float]  # validations/s per round
    dns_per_validation: float


def measure_validation(a: Arena, dns: TimedDns, args: argparse.Namespace, tmp: str) -> list[Throughput]:
    wrong: list[str] = []
    counts = [1, args.clients]
    out = [Throughput(c, Stats(seconds=0.0), [], 0.0) for c in counts]
    with Server(a.url, tmp, env=dns_env(dns, 0)) as server:
        jobs = iter(a.pool)
        for _ in range(args.rounds):
            for t in out:
                batch = [next(jobs) for _ in range(args.validations)]
                before = len(dns.arrivals)
                s = validate_all(server, batch, t.clients, wrong)
                t.stats.add(s)
                t.rounds.append(s.rps)
                t.dns_per_validation += (len(dns.arrivals) - before) / (args.validations * args.rounds)
    assert not wrong, wrong[:3]
    return out


# --- 3. background re-validation sweep ------------------------------------------------------------


@dataclass
class Sweep:
    workers: int
    hostnames: int
    seconds: float  # first to last first-TXT query of the set
    start_delay: float  # from making them due to the first TXT query (the revalidator's idle poll)
    txt_queries: int  # TXT queries of the set in that window (more than hostnames: re-checks)
    server_cpu: float


def set_due(url: str, ids: list[str], when: Any) -> None:
    engine = create_engine(url, connect_args={"timeout": 30} if engine_name(url) == "sqlite" else {})
    try:
        with engine.begin() as conn:
            conn.execute(update(custom_hostnames).where(custom_hostnames.c.id.in_(ids)).values(next_check_at=when))
    finally:
        engine.dispose()


def all_active(url: str, ids: list[str]) -> bool:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            q = custom_hostnames.select().where(custom_hostnames.c.id.in_(ids), custom_hostnames.c.status == "active")
            return len(conn.execute(q).all()) == len(ids)
    finally:
        engine.dispose()


def wait_for(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


def measure_sweep(a: Arena, dns: TimedDns, batch: list[Pending], workers: int, interval: float, tmp: str) -> Sweep:
    names = {ownership_record_name(p.hostname) for p in batch}
    ids = [p.id for p in batch]
    firsts: dict[str, float] = {}
    with Server(a.url, tmp, workers=workers, env=dns_env(dns, interval)) as server:
        seen = len(dns.arrivals)
        cpu0, flipped = server.cpu_seconds(), time.monotonic()
        set_due(a.url, ids, utcnow())

        def swept() -> bool:
            nonlocal seen
            new, seen = dns.arrivals[seen:], seen + len(dns.arrivals[seen:])
            for at, name, rtype in new:
                if rtype == "TXT" and name in names:
                    firsts.setdefault(name, at)
            return len(firsts) == len(names)

        wait_for(swept, 600, f"{len(names)} hostnames' first TXT query")
        end = time.monotonic()
        wait_for(lambda: all_active(a.url, ids), 60, "the swept hostnames to be active")
        cpu = (server.cpu_seconds() - cpu0) / (end - flipped)
    set_due(a.url, ids, utcnow() + LATER)  # out of the next sweep's way
    first, last = min(firsts.values()), max(firsts.values())
    txt = sum(1 for at, name, rtype in dns.arrivals if rtype == "TXT" and name in names and first <= at <= last)
    return Sweep(workers, len(ids), last - first, first - flipped, txt, cpu)


# --- report ---------------------------------------------------------------------------------------


def pct(s: Stats) -> str:
    return f"{s.pct(50):.2f} / {s.pct(99):.2f}"


def report(
    args: argparse.Namespace,
    engine: str,
    version: str,
    arenas: list[Arena],
    resolved: dict[int, dict[str, Stats]],
    revoked: dict[int, Stats],
    validated: list[Throughput],
    sweeps: list[Sweep],
) -> str:
    lo, hi, big = resolved[arenas[0].n], resolved[arenas[-1].n], arenas[-1]
    growth = {k: f"**x{hi[k].pct(50) / lo[k].pct(50):.2f}** / x{hi[k].pct(99) / lo[k].pct(99):.2f}" for k in RESOLVE}
    resolve_rows = [[label, *(pct(resolved[a.n][k]) for a in arenas), growth[k]] for k, label in RESOLVE.items()]
    one = validated[0].stats.rps
    validation_rows = [
        [
            f"{v.clients} client(s)",
            f"{v.stats.count:,}",
            f"{v.stats.rps:,.1f}",
            f"**{v.stats.rps / one:.2f}x**",
            " / ".join(f"{r:,.0f}" for r in v.rounds),
            pct(v.stats),
            f"{v.dns_per_validation:.1f}",
            f"{v.stats.server_cpu:.2f}",
        ]
        for v in validated
    ]
    total = {w: sum(s.seconds for s in sweeps if s.workers == w) for w in args.sweep_workers}
    first = args.sweep_workers[0]
    rate = args.sweep * args.sweep_rounds / total[first]
    sweep_rows = [
        [
            str(w),
            " / ".join(f"{s.seconds:.2f}" for s in sweeps if s.workers == w),
            f"{args.sweep * args.sweep_rounds / total[w]:,.1f}",
            f"**{total[w] / total[args.sweep_workers[0]]:.2f}**",
            " / ".join(f"{s.start_delay:.2f}" for s in sweeps if s.workers == w),
            " / ".join(f"{s.txt_queries:,}" for s in sweeps if s.workers == w),
            " / ".join(f"{s.server_cpu:.2f}" for s in sweeps if s.workers == w),
        ]
        for w in args.sweep_workers
    ]
    few = min(revoked)
    revoke_rows = [
        [f"{k:,}", pct(s), f"**{s.pct(50) / revoked[few].pct(50):.1f}x**", f"{k:,}"] for k, s in revoked.items()
    ]
    most = max(revoked)
    per = (revoked[most].pct(50) - revoked[few].pct(50)) / max(1, most - few)
    m = machine()
    cmd = ".venv/bin/python bench/bench_hostnames.py " + shlex.join(sys.argv[1:])
    loads = ", ".join(f"{a.n:,} hostnames ({a.rows:,} rows, {a.rate:,.0f} rows/s)" for a in arenas)
    body = [
        f"### Custom hostnames: resolve with sni, validation, re-validation and revocation, {engine} ({version})",
        "",
        f"Command: `{cmd}`  ",
        f"Code: prefixgate {code_version()}  ",
        f"Machine: {m['nproc']} cores ({m['cpu']}), Python {m['python']}, {m['os']}; {m['date']}; shared and noisy "
        f"(load average {args.load_start:.1f} at the start, {os.getloadavg()[0]:.1f} at the end).  ",
        f"Loaded (bulk inserts): {loads}; each hostname active on its own delegated host of a CDN-bound prefix, "
        "spread over H/100 tenant accounts and zones. DNS: a LoopbackDns (tests/dnsserver.py) in the bench process "
        "on 127.0.0.1, holding an AAAA and the TXT token of every hostname to validate. Latency in ms.",
        "",
        f"Resolve with sni: one `prefixgate serve` (1 worker) per size, all running; {args.requests} sequential "
        "requests per kind and size, all taking turns on one keep-alive client.",
        "",
        table(["Request", *(f"{a.n:,} hostnames p50 / p99" for a in arenas), "growth p50 / p99"], resolve_rows),
        "",
        f"Validation through `POST …/custom_hostnames/{{id}}/validate` (1 worker, {big.n:,} hostnames loaded), "
        f"pending → active, each hostname once; {args.rounds} rounds of {args.validations} validations per client "
        "count, alternating; ratio: validations/s over 1 client's.",
        "",
        table(
            ["Clients", "Validations", "Validations/s", "Ratio", "Per round /s", "p50 / p99", "DNS q. each", "CPU"],
            validation_rows,
        ),
        "",
        f"Background re-validation (`PREFIXGATE_REVALIDATE_INTERVAL_S={args.interval:g}`): {args.sweep:,} pending "
        "hostnames made due at once in a running server; sweep = first to last hostname's first TXT query in the "
        "DNS server's log; delay = from making them due to the first query (the revalidator's idle poll, up to "
        f"1 s); {args.sweep_rounds} round(s), the worker counts taking turns, a fresh server and set each sweep; "
        f"ratio: total sweep time over {args.sweep_workers[0]} worker(s)'.",
        "",
        table(["Workers", "Sweep s per round", "Hostnames/s", "Ratio", "Delay s", "TXT queries", "CPU"], sweep_rows),
        "",
        f"At {rate:,.1f} hostnames/s, {first} worker(s) re-check at most {300 * rate:,.0f} hostnames in the default "
        "interval (`PREFIXGATE_REVALIDATE_INTERVAL_S=300`); more are checked less often than asked.",
        "",
        f"Revocation check: `DELETE …/delegations/{{id}}` without force → 409 listing every dependent hostname "
        f"(code 1901), {args.revoke_requests} requests per delegation, taking turns; {big.n:,} hostnames loaded. "
        f"Each listed hostname costs about {per:.3f} ms (p50).",
        "",
        table(["Active hostnames on the delegation", "p50 / p99", "Ratio p50", "Errors listed"], revoke_rows),
        "",
        "CPU: cores the server's process group used on average during the phase.",
    ]
    if big.plans:
        body += ["", "<details><summary>Query plans at the largest size</summary>", "", "```", *big.plans, "```"]
        body += ["</details>"]
    return "\n".join(body)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ints = lambda s: [int(x) for x in s.split(",")]  # noqa: E731
    ap.add_argument("--sizes", type=ints, default=[1000, 100_000], help="hostnames loaded, smallest to largest")
    ap.add_argument("--requests", type=int, default=500, help="sequential resolves per kind and size")
    ap.add_argument("--validations", type=int, default=400, help="validations per round and client count")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--clients", type=int, default=8, help="concurrent clients of the second validation phase")
    ap.add_argument("--sweep", type=int, default=1000, help="hostnames the background re-validation sweeps")
    ap.add_argument("--sweep-workers", type=ints, default=None, help="default: 1 on SQLite, 1,2 on PostgreSQL")
    ap.add_argument("--sweep-rounds", type=int, default=2, help="sweeps per worker count, taking turns")
    ap.add_argument("--interval", type=float, default=1.0, help="PREFIXGATE_REVALIDATE_INTERVAL_S for the sweeps")
    ap.add_argument("--dependents", type=ints, default=[1, 1000], help="active hostnames per revoked delegation")
    ap.add_argument("--revoke-requests", type=int, default=50, help="refused deletes per delegation")
    ap.add_argument("--database-url", default=None, help="PostgreSQL admin URL; default: SQLite files")
    ap.add_argument("--out", type=Path, default=None, help="write the results into this Markdown file")
    ap.add_argument("--no-explain", action="store_true", help="skip the query plans at the largest size")
    args = ap.parse_args()
    args.load_start = os.getloadavg()[0]
    postgres = args.database_url is not None and engine_name(args.database_url) == "postgresql"
    args.sweep_workers = args.sweep_workers or ([1, 2] if postgres else [1])
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as dbs:
        arenas = []
        for n in args.sizes:
            url = dbs.enter_context(fresh_database(tmp, args.database_url))
            engine, version = engine_name(url), database_version(url)
            arenas.append(prepare(url, n, args, largest=n == args.sizes[-1]))
            print(f"H={n:,}: {arenas[-1].rows:,} rows at {arenas[-1].rate:,.0f} rows/s", flush=True)
        resolved = measure_resolve(arenas, args.requests, tmp)
        print("resolve done", flush=True)
        big = arenas[-1]
        revoked = measure_revocation(big, args.revoke_requests, tmp)
        print("revocation done", flush=True)
        with TimedDns() as dns:
            publish(dns, big.pool + [p for s in big.sweeps for p in s])
            validated = measure_validation(big, dns, args, tmp)
            print("validation done", flush=True)
            sweeps = [
                measure_sweep(big, dns, batch, w, args.interval, tmp)
                for batch, w in zip(big.sweeps, args.sweep_workers * args.sweep_rounds, strict=True)
            ]
    text_ = report(args, engine, version, arenas, resolved, revoked, validated, sweeps)
    print(text_)
    if args.out:
        replace_section(args.out, f"hostnames-{engine}", text_)


if __name__ == "__main__":
    main()
