"""Scale benchmark: how the access check and one prefix's delegation list grow with table size.

    .venv/bin/python bench/bench_scale.py [--sizes 10000,100000,1000000] [--requests 400]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres] [--out BENCHMARKS.md]

For each size N, on a fresh database: bulk-load N prefixes (half IPv4 /24s, half IPv6 /48s, owned
round-robin by 1,000 accounts) and N delegations (one host route per prefix, to account B or to a
random other account) straight into the tables, timing the load. Then start a real `prefixgate serve`
and measure, one request at a time, p50/p99 of:
  - GET /accounts/B/addressing/ip_access?ip=<random loaded address> (the access check), and
  - GET /accounts/A/addressing/prefixes/P/delegations for a prefix P with 10 delegations.
The growth from the smallest to the largest N is reported as a ratio: an indexed lookup grows like
log N (a ratio near 1), a scan like N (a ratio near N_max / N_min).
"""

from __future__ import annotations

import argparse
import ipaddress
import random
import shlex
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import insert, text

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    Server,
    Tenants,
    bootstrap,
    database_version,
    engine_name,
    fresh_database,
    machine,
    prefix_row,
    replace_section,
    run_sequential,
    table,
)
from prefixgate.adapters.db.tables import accounts, delegations, prefixes
from prefixgate.domain.net import range_key
from prefixgate.service.context import new_id, utcnow

OWNERS = 1000
BATCH = 5000


def nth_prefix(i: int) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    """The i-th loaded prefix: even i → IPv4 /24 from 11.0.0.0 up; odd i → IPv6 /48 from 2a01::."""
    j = i // 2
    if i % 2 == 0:
        return ipaddress.IPv4Network((int(ipaddress.IPv4Address("11.0.0.0")) + (j << 8), 24))
    return ipaddress.IPv6Network((int(ipaddress.IPv6Address("2a01::")) + (j << 80), 48))


def load(t: Tenants, n: int, seed: int = 7) -> float:
    """Bulk-load N prefixes and N delegations; return rows per second."""
    rng = random.Random(seed)
    now = utcnow()
    owner_ids = [new_id() for _ in range(OWNERS)]
    started = time.perf_counter()
    with t.db.engine.begin() as conn:
        conn.execute(
            insert(accounts),
            [{"id": a, "name": f"owner {a[:6]}", "type": "standard", "created_at": now} for a in owner_ids],
        )
    for lo in range(0, n, BATCH):
        prows, drows = [], []
        for i in range(lo, min(lo + BATCH, n)):
            net, pid = nth_prefix(i), new_id()
            owner = owner_ids[i % OWNERS]
            prows.append(prefix_row(pid, net, owner, now))
            host = ipaddress.ip_network(f"{net.network_address + 1}/{net.max_prefixlen}")
            hkey = range_key(host)
            to = t.delegatee if i % 2 == 0 else owner_ids[rng.randrange(OWNERS)]
            if to == owner:
                to = t.delegatee
            drows.append(
                {
                    "id": new_id(),
                    "prefix_id": pid,
                    "owner_account_id": owner,
                    "delegated_account_id": to,
                    "family": hkey.family,
                    "start_key": hkey.start,
                    "end_key": hkey.end,
                    "cidr": str(host),
                    "created_at": now,
                    "modified_at": now,
                }
            )
        with t.db.engine.begin() as conn:
            conn.execute(insert(prefixes), prows)
            conn.execute(insert(delegations), drows)
    elapsed = time.perf_counter() - started
    with t.db.engine.connect() as conn:
        conn.execute(text("ANALYZE"))
        conn.commit()
    return 2 * n / elapsed


def small_prefix(t: Tenants) -> str:
    """A prefix of A's (outside the loaded space) with 10 delegations to B, made through the service layer."""
    from prefixgate.service import delegations as svc
    from prefixgate.service.context import Actor

    pid = t.prefix("2a0e:f000::/48")
    for n in range(10):
        svc.create_delegation(t.db, Actor.cli(), t.owner, pid, f"2a0e:f000::{n + 1:x}/128", t.delegatee)
    return pid


def measure(url: str, n: int, requests: int, workdir: str) -> dict[str, float]:
    t = bootstrap(url)
    rate = load(t, n)
    pid = small_prefix(t)
    rng = random.Random(n)
    probes = [str(nth_prefix(rng.randrange(n)).network_address + rng.choice((1, 1, 2))) for _ in range(4096)]
    # B's token: B holds every even-numbered delegation, so probes hit "delegated" and "none" answers.
    from prefixgate.service import tokens
    from prefixgate.service.context import Actor

    with t.db.read() as uow:
        bob = uow.users.by_email("bob@bench.example")
    assert bob is not None
    _, bob_token = tokens.create_token(t.db, Actor.cli(), "bench-b", user=bob)
    t.db.dispose()
    out = {"load_rows_per_s": rate}
    with Server(url, workdir) as server:
        access = run_sequential(
            server,
            {"Authorization": f"Bearer {bob_token}"},
            lambda c, i: c.get(f"/accounts/{t.delegatee}/addressing/ip_access", params={"ip": probes[i % 4096]}),
            requests,
        )
        listing = run_sequential(
            server,
            t.headers,
            lambda c, _: c.get(f"/accounts/{t.owner}/addressing/prefixes/{pid}/delegations"),
            requests,
        )
    assert access.errors == 0, access.errors
    assert listing.errors == 0, listing.errors
    out |= {
        "access_p50": access.pct(50),
        "access_p99": access.pct(99),
        "list_p50": listing.pct(50),
        "list_p99": listing.pct(99),
    }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--requests", type=int, default=400)
    ap.add_argument("--database-url", default=None, help="PostgreSQL admin URL; default: SQLite files")
    ap.add_argument("--out", type=Path, default=None, help="write the results into this Markdown file")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    results: dict[int, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            with fresh_database(tmp, args.database_url) as url:
                engine, version = engine_name(url), database_version(url)
                results[n] = measure(url, n, args.requests, tmp)
                print(f"N={n:,}: {results[n]}", flush=True)
    lo, hi = results[sizes[0]], results[sizes[-1]]
    rows = [
        [
            f"{n:,}",
            f"{r['load_rows_per_s']:,.0f}",
            f"{r['access_p50']:.2f}",
            f"{r['access_p99']:.2f}",
            f"{r['list_p50']:.2f}",
            f"{r['list_p99']:.2f}",
        ]
        for n, r in results.items()
    ]
    growth = (
        f"Growth from N={sizes[0]:,} to N={sizes[-1]:,} ({sizes[-1] // sizes[0]:,}x the rows): "
        f"access check p50 x{hi['access_p50'] / lo['access_p50']:.2f}, p99 x{hi['access_p99'] / lo['access_p99']:.2f}; "
        f"delegation list p50 x{hi['list_p50'] / lo['list_p50']:.2f}, p99 x{hi['list_p99'] / lo['list_p99']:.2f}."
    )
    m = machine()
    cmd = "python bench/bench_scale.py " + shlex.join(sys.argv[1:])
    body = "\n".join(
        [
            f"### Scale: {engine} ({version})",
            "",
            f"Command: `{cmd}`  ",
            f"Machine: {m['nproc']} cores ({m['cpu']}), Python {m['python']}, {m['os']}; {m['date']}.  ",
            f"N prefixes and N delegations loaded; {args.requests} sequential requests per figure; latency in ms.",
            "",
            table(["N", "bulk load rows/s", "ip_access p50", "ip_access p99", "list p50", "list p99"], rows),
            "",
            growth,
        ]
    )
    print(body)
    if args.out:
        replace_section(args.out, f"scale-{engine}", body)


if __name__ == "__main__":
    main()
