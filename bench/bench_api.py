"""API throughput and list-latency benchmark against a real `prefixgate serve` subprocess.

    .venv/bin/python bench/bench_api.py [--seconds 10] [--rounds 5] [--clients 8] [--requests 300]
        [--workers 1] [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres] [--out BENCHMARKS.md]

Without --database-url the server gets a fresh SQLite file in a temporary directory. With a PostgreSQL
URL (an admin connection) a throwaway database is created there, migrated, and dropped at the end.
Tenants, prefixes and delegations are made before the server starts (see _common.py).

Measured, in one run and against one server:
  1. GET .../delegations latency, one request at a time, on a prefix with 10,000 delegations (bulk
     loaded) against one with 10, at several page sizes: p50/p99 and their ratios. Done first, before
     any phase writes to the database.
  2. GET /healthz, POST .../prefixes/{id}/delegations (distinct IPv6 /128s of an approved /32, to
     account B) and GET .../delegations?per_page=50 with N concurrent keep-alive clients, each for
     --seconds in --rounds interleaved slices: requests/s, p50/p99 latency, and the ratio to /healthz.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    RequestFn,
    Server,
    Stats,
    Tenants,
    bootstrap,
    bulk_delegations,
    code_version,
    database_version,
    engine_name,
    fresh_database,
    machine,
    nth_host,
    run_alternating,
    run_concurrent,
    table,
    write_section,
)

CREATE_NET, BIG_NET, SMALL_NET = "2a0f:1000::/32", "2a0f:2000::/32", "2a0f:3000::/32"
BIG, SMALL = 10_000, 10
DEFAULT_PAGE = 1000  # the API's default (and maximum) page size for delegation lists


def _fmt(x: float, digits: int = 1) -> str:
    return f"{x:,.{digits}f}"


Phase = tuple[str, Stats, list[float]]  # name, all rounds together, per-round ratio to /healthz
Cell = tuple[str, Stats, Stats, int, int]  # query, small prefix, big prefix, rows returned by each


def throughput(
    server: Server, t: Tenants, list_prefix: str, create_prefix: str, args: argparse.Namespace
) -> list[Phase]:
    """/healthz, create-delegation and list-delegations, in `rounds` interleaved slices of seconds/rounds each,
    so background noise on the shared machine lands on all three alike."""
    path = f"/accounts/{t.owner}/addressing/prefixes"

    def health(c: httpx.Client, _: int) -> httpx.Response:
        return c.get(f"{server.base}/healthz")

    def create(c: httpx.Client, n: int) -> httpx.Response:
        body = {"cidr": nth_host(CREATE_NET, n), "delegated_account_id": t.delegatee}
        return c.post(f"{path}/{create_prefix}/delegations", json=body)

    def listing(c: httpx.Client, _: int) -> httpx.Response:
        return c.get(f"{path}/{list_prefix}/delegations", params={"per_page": 50})

    phases: list[tuple[str, RequestFn]] = [
        ("GET /healthz", health),
        ("POST delegations (new /128 each)", create),
        (f"GET delegations per_page=50 ({BIG:,} in prefix)", listing),
    ]
    for _, fn in phases:
        if args.warmup > 0:
            run_concurrent(server, t.headers, fn, clients=args.clients, seconds=args.warmup)
    total = [Stats(seconds=0.0) for _ in phases]
    ratios: list[list[float]] = [[] for _ in phases]
    for i in range(args.rounds):
        slices = [
            run_concurrent(server, t.headers, fn, clients=args.clients, seconds=args.seconds / args.rounds)
            for _, fn in phases
        ]
        for j, st in enumerate(slices):
            total[j].add(st)
            ratios[j].append(st.rps / slices[0].rps if slices[0].rps else float("nan"))
        print(f"  round {i + 1}: " + ", ".join(f"{st.rps:,.0f}" for st in slices) + " req/s", file=sys.stderr)
    return [(name, st, r) for (name, _), st, r in zip(phases, total, ratios, strict=True)]


def list_latency(server: Server, t: Tenants, big: str, small: str, requests: int) -> list[Cell]:
    """Sequential GET list on the 10,000- and the 10-delegation prefix (taking turns), same query for both."""
    path = f"/accounts/{t.owner}/addressing/prefixes"
    cases: list[tuple[str, int, bool]] = [  # name, per_page (0: the default), last page?
        ("per_page=10", 10, False),
        ("per_page=50", 50, False),
        (f"default page size ({DEFAULT_PAGE})", 0, False),
        ("per_page=50, last page", 50, True),
    ]
    out = []
    for name, per_page, last in cases:
        size = per_page or DEFAULT_PAGE
        fns: list[RequestFn] = []
        rows = []
        for prefix, count in ((small, SMALL), (big, BIG)):
            pages = max(1, -(-count // size))
            q = {"per_page": per_page} if per_page else {}
            if last:
                q["page"] = pages
            rows.append(count - (pages - 1) * size if last else min(count, size))

            def fn(c: httpx.Client, _: int, prefix: str = prefix, q: dict[str, int] = q) -> httpx.Response:
                return c.get(f"{path}/{prefix}/delegations", params=q)

            fns.append(fn)
        a, b = run_alternating(server, t.headers, fns, requests)
        print(f"  list {name}: p50 {a.pct(50):.2f} vs {b.pct(50):.2f} ms", file=sys.stderr)
        out.append((name, a, b, rows[0], rows[1]))
    return out


def report(args: argparse.Namespace, url: str, tput: list[Phase], lat: list[Cell]) -> tuple[str, str]:
    """The Markdown section, and its key in BENCHMARKS.md."""
    engine = engine_name(url)
    m = machine()
    health = tput[0][1].rps
    t1 = table(
        ["Phase", "Requests", "Errors", "Req/s", "p50 ms", "p99 ms", "x /healthz", "Rounds: min-max", "CPU cores (*)"],
        [
            [
                name,
                f"{s.count:,}",
                str(s.errors),
                _fmt(s.rps),
                _fmt(s.pct(50), 2),
                _fmt(s.pct(99), 2),
                f"**{s.rps / health:.3f}**",
                f"{min(r):.3f}-{max(r):.3f}",
                f"{s.server_cpu:.2f} / {s.client_cpu:.2f}",
            ]
            for name, s, r in tput
        ],
    )
    t2 = table(
        [
            "Query",
            f"Rows ({SMALL} / {BIG:,})",
            f"{SMALL} deleg. p50 / p99 ms",
            f"{BIG:,} deleg. p50 / p99 ms",
            "Ratio p50 / p99",
            "Errors",
        ],
        [
            [
                name,
                f"{r_small} / {r_big}",
                f"{a.pct(50):.2f} / {a.pct(99):.2f}",
                f"{b.pct(50):.2f} / {b.pct(99):.2f}",
                f"**{b.pct(50) / a.pct(50):.2f}x** / {b.pct(99) / a.pct(99):.2f}x",
                str(a.errors + b.errors),
            ]
            for name, a, b, r_small, r_big in lat
        ],
    )
    command = shlex.join([".venv/bin/python", "bench/bench_api.py", *sys.argv[1:]])
    key = f"bench_api:{engine}:w{args.workers}"
    body = f"""## API throughput and list latency: {engine}, {args.workers} worker(s)

- Command: `{command}`
- Code: prefixgate {code_version()}
- Machine: {m["nproc"]} CPUs ({m["cpu"]}), {m["os"]}, Python {m["python"]}, {database_version(url)}
- Date: {m["date"]}
- Load: {args.clients} concurrent clients (threads, each a keep-alive httpx.Client); each phase ran
  {args.seconds:g} s in {args.rounds} slices interleaved with the other phases, after a {args.warmup:g} s warm-up.
  List latency: {args.requests} sequential requests per cell, the two prefixes taking turns.
- The machine is shared and noisy and also runs the database and the load generator: the **ratios** are the
  result (measured within this run); absolute figures vary between runs.

Throughput (x /healthz: the phase's requests/s over /healthz's; rounds: the same ratio per slice):

{t1}

(*) CPU cores used on average during the phase: server process group / load generator.

List-delegations latency, prefix with {BIG:,} delegations vs one with {SMALL} (target: within 2x):

{t2}
"""
    return body, key


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=10.0, help="measured duration of each throughput phase")
    ap.add_argument("--warmup", type=float, default=1.0, help="unmeasured warm-up before each phase (s)")
    ap.add_argument("--rounds", type=int, default=5, help="interleaved slices each phase's time is split into")
    ap.add_argument("--clients", type=int, default=8, help="concurrent clients for throughput")
    ap.add_argument("--requests", type=int, default=300, help="sequential requests per list-latency cell")
    ap.add_argument("--workers", type=int, default=1, help="prefixgate serve --workers")
    ap.add_argument("--database-url", help="PostgreSQL admin URL; a throwaway database is made on that server")
    ap.add_argument("--out", type=Path, help="replace (or append) this run's section in a Markdown file")
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="prefixgate-bench-") as tmp, fresh_database(tmp, args.database_url) as url:
        print(f"database: {engine_name(url)}; loading {BIG:,} + {SMALL} delegations", file=sys.stderr)
        t = bootstrap(url)
        try:
            create_prefix, big, small = (t.prefix(n) for n in (CREATE_NET, BIG_NET, SMALL_NET))
            bulk_delegations(t, big, BIG_NET, BIG)
            bulk_delegations(t, small, SMALL_NET, SMALL)
        finally:
            t.db.dispose()
        with Server(url, tmp, workers=args.workers) as server:
            print(f"server: {server.base} (workers={args.workers})", file=sys.stderr)
            lat = list_latency(server, t, big, small, args.requests)  # first, on a database no phase has written to
            tput = throughput(server, t, big, create_prefix, args)
        body, key = report(args, url, tput, lat)
    print(body)
    if args.out:
        write_section(args.out, key, body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
