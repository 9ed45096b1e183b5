"""Edge benchmark: latency of the Spectrum edge-IP authorization check and of the edge's resolve, as the
tables grow from a small baseline to 100k apps and 1M delegations.

    .venv/bin/python bench/bench_edge.py [--sizes 10000,1000000] [--requests 400]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres] [--out BENCHMARKS.md]

For each size D (delegations), on a fresh database, bulk-load straight into the tables: D/250 prefixes (IPv4
/24s and IPv6 /48s, alternating, owned round-robin by 1,000 accounts), each bound whole to Spectrum; 250 host
delegations per prefix to D/100 (at least 100) accounts that each have a zone; and D/10 Spectrum apps (every
tenth delegated host, in its delegatee's zone, on a random port or port range). Then, through the service
layer, a bench account E with a zone, an owned approved prefix bound to Spectrum and a delegated /29 inside a
loaded IPv4 prefix; and (bulk) D/10 host delegations to E inside one loaded IPv6 prefix: a heavy tenant.
Against real `prefixgate serve` processes (1 worker each, one per size, all running at once), one request
at a time, every kind of every size taking turns, measure p50/p99 of:
  - POST /zones/E/spectrum/apps on a free owned IP (200), on a free delegated IP (200), on a free IP at the top
    of the heavy tenant's delegations (200), and on a loaded address E may not use (400, code 11019): the
    authorization check plus the write;
  - GET /edge/resolve (operator) for a random loaded app's (ip, port) → served, and for a loaded app's IP
    on a port nothing listens on → no_app.
Growth from the smallest to the largest D is a ratio: an indexed lookup stays near 1. Unless --no-explain,
the query plans of one resolve and one create at the largest D are printed and written out too.
"""

from __future__ import annotations

import argparse
import ipaddress
import random
import shlex
import sys
import tempfile
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

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
from _edge_data import PER_PREFIX, Net, host, load, load_heavy, nth_prefix
from prefixgate.domain.bindings import SPECTRUM
from prefixgate.service import bindings, edge, identity, spectrum, tokens
from prefixgate.service.context import Actor
from prefixgate.service.delegations import create_delegation
from prefixgate.service.spectrum import AppInput
from prefixgate.service.zones import create_zone

EMPTY_PORT = 9  # no loaded app listens on it
OWNED = "2a0e:f000::/48"  # bench account E's own prefix


def app_input(zone_name: str, ip: str, port: int, label: str) -> AppInput:
    return AppInput(
        protocol=f"tcp/{port}",
        dns_type="ADDRESS",
        dns_name=f"{label}.{zone_name}",
        edge_ips_type="static",
        edge_ips=(ip,),
        origin_direct=(f"tcp://192.0.2.1:{port}",),
    )


def app_body(zone_name: str, ip: str, port: int, label: str) -> dict[str, object]:
    return {
        "protocol": f"tcp/{port}",
        "dns": {"type": "ADDRESS", "name": f"{label}.{zone_name}"},
        "edge_ips": {"type": "static", "ips": [ip]},
        "origin_direct": [f"tcp://192.0.2.1:{port}"],
    }


@dataclass
class Arena:
    """One loaded database, ready to be served: what the requests need, and the load's figures."""

    url: str
    n: int
    apps: int
    rate: float
    headers: dict[str, str]  # E's Administrator
    operator: dict[str, str]
    zone: tuple[str, str]  # E's zone (id, name)
    block: Net  # the /29 delegated to E; no app on it
    heavy: list[str]  # 8 addresses in a prefix where E holds n/10 host delegations
    served: list[tuple[str, int]]  # loaded apps' (ip, first port)
    refused: list[str]  # loaded addresses E may not use
    plans: list[str]


def prepare(url: str, n: int, *, with_plans: bool) -> Arena:
    """Load the tables, then make E's zone, owned prefix and delegated /29 through the service layer."""
    t = bootstrap(url)
    rate, apps = load(t, n)
    cli, rng, n_prefixes = Actor.cli(), random.Random(n), -(-n // PER_PREFIX)
    op_user, _ = identity.create_user(t.db, cli, "operator@bench.example", password=None, operator=True)
    _, op_token = tokens.create_token(t.db, cli, "bench-operator", user=op_user)
    zone = create_zone(t.db, cli, t.owner, "e.bench.example")
    bindings.create_binding(t.db, cli, t.owner, t.prefix(OWNED), OWNED, SPECTRUM.id)
    with t.db.read() as uow:  # an IPv4 prefix in the middle of the loaded space
        loaded = uow.prefixes.containing(host(nth_prefix(2 * (n_prefixes // 4)), 1))
    assert loaded is not None
    block = ipaddress.ip_network(f"{host(loaded.cidr, 248)}/29")  # hosts 248-255: no app on them
    create_delegation(t.db, cli, loaded.account_id, loaded.id, str(block), t.owner)
    with t.db.read() as uow:  # an IPv6 prefix where E also holds n/10 host delegations
        v6 = uow.prefixes.containing(host(nth_prefix(2 * (n_prefixes // 4) + 1), 1))
    assert v6 is not None
    heavy = load_heavy(t, v6.id, v6.account_id, v6.cidr, t.owner, n // 10)
    served = rng.sample(apps, min(4096, len(apps)))
    plans: list[str] = []
    if with_plans:
        ip, port = served[0]
        plans += [
            "-- resolve (served)",
            *explain_selects(t.db.engine, lambda: edge.resolve(t.db, cli, ip, "tcp", port)),
        ]
        spec = app_input(zone.name, str(host(block, 7)), 30000, "plan")
        plans += [
            "-- create on a delegated IP",
            *explain_selects(t.db.engine, lambda: spectrum.create_app(t.db, cli, zone.id, spec)),
        ]
        spec = app_input(zone.name, heavy[0], 30000, "plan2")
        plans += [
            f"-- create on a delegated IP of a tenant with {n // 10:,} delegations in that prefix",
            *explain_selects(t.db.engine, lambda: spectrum.create_app(t.db, cli, zone.id, spec)),
        ]
    t.db.dispose()
    return Arena(
        url=url,
        n=n,
        apps=len(apps),
        rate=rate,
        headers=t.headers,
        operator={"Authorization": f"Bearer {op_token}"},
        zone=(zone.id, zone.name),
        block=block,
        heavy=heavy,
        served=served,
        refused=[str(host(nth_prefix(rng.randrange(n_prefixes)), 2)) for _ in range(4096)],
        plans=plans,
    )


KINDS = {
    "create_owned": "POST app, free owned IP (200)",
    "create_delegated": "POST app, free delegated IP (200)",
    "create_heavy": "POST app, delegated IP, tenant with D/10 delegations in the prefix (200)",
    "create_refused": "POST app, IP not usable (400, 11019)",
    "resolve_served": "GET /edge/resolve, loaded app (served)",
    "resolve_no_app": "GET /edge/resolve, empty port (no_app)",
}


def requests_for(a: Arena, api: str, wrong: list[str]) -> list[RequestFn]:
    """One request function per kind in KINDS, on the server at `api` (absolute URLs: the client is shared)."""
    owned_base = ipaddress.ip_network(OWNED).network_address + 0x10000
    zone_id, zone_name = a.zone

    def check(label: str, r: httpx.Response, status: int, want: Callable[[Any], bool]) -> httpx.Response:
        if r.status_code != status or not want(r.json()):
            wrong.append(f"{label} at n={a.n}: {r.status_code} {r.text[:200]}")
        return r

    def post(c: httpx.Client, ip: str, port: int, i: int) -> httpx.Response:
        body = app_body(zone_name, ip, port, f"b{i}")
        return c.post(f"{api}/zones/{zone_id}/spectrum/apps", json=body, headers=a.headers)

    def resolve(c: httpx.Client, ip: str, port: int) -> httpx.Response:
        return c.get(f"{api}/edge/resolve", params={"ip": ip, "port": port}, headers=a.operator)

    def ok(b: Any) -> bool:
        return bool(b["success"])

    def served(i: int) -> tuple[str, int]:
        return a.served[i % len(a.served)]

    return [
        lambda c, i: check("owned", post(c, str(owned_base + i), 443, i), 200, ok),
        lambda c, i: check("delegated", post(c, str(host(a.block, i % 8)), 20000 + i // 8, i), 200, ok),
        lambda c, i: check("heavy", post(c, a.heavy[i % 8], 20000 + i // 8, i), 200, ok),
        lambda c, i: check(
            "refused", post(c, a.refused[i % 4096], 443, i), 400, lambda b: b["errors"][0]["code"] == 11019
        ),
        lambda c, i: check("served", resolve(c, *served(i)), 200, lambda b: b["result"]["reason"] == "served"),
        lambda c, i: check(
            "no_app", resolve(c, served(i)[0], EMPTY_PORT), 200, lambda b: b["result"]["reason"] == "no_app"
        ),
    ]


def measure(arenas: list[Arena], requests: int, workdir: str) -> dict[int, dict[str, Stats]]:
    """Serve every arena at once (one worker each) and interleave all their requests on one client, so a
    noisy moment on this shared machine hits every size alike and the growth ratios stay meaningful."""
    wrong: list[str] = []
    with ExitStack() as stack:
        servers = [stack.enter_context(Server(a.url, workdir)) for a in arenas]
        fns = [fn for a, s in zip(arenas, servers, strict=True) for fn in requests_for(a, s.api, wrong)]
        stats = run_alternating(servers[0], {}, fns, requests)
    assert not wrong, wrong[:5]
    k = len(KINDS)
    return {a.n: dict(zip(KINDS, stats[j * k : (j + 1) * k], strict=True)) for j, a in enumerate(arenas)}


def pct(s: Stats) -> str:
    return f"{s.pct(50):.2f} / {s.pct(99):.2f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10000,1000000", help="delegation counts; apps are a tenth of each")
    ap.add_argument("--requests", type=int, default=400, help="sequential requests per kind and size")
    ap.add_argument("--database-url", default=None, help="PostgreSQL admin URL; default: SQLite files")
    ap.add_argument("--out", type=Path, default=None, help="write the results into this Markdown file")
    ap.add_argument("--no-explain", action="store_true", help="skip the query plans at the largest size")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as dbs:
        arenas = []
        for n in sizes:
            url = dbs.enter_context(fresh_database(tmp, args.database_url))
            engine, version = engine_name(url), database_version(url)
            arenas.append(prepare(url, n, with_plans=n == sizes[-1] and not args.no_explain))
            print(f"D={n:,} apps={arenas[-1].apps:,}: load {arenas[-1].rate:,.0f} rows/s", flush=True)
        results = measure(arenas, args.requests, tmp)
    lo, hi = results[sizes[0]], results[sizes[-1]]
    header = ["Request", *(f"{a.apps:,} apps / {a.n:,} deleg. p50 / p99 ms" for a in arenas), "growth p50 / p99"]
    growth = {k: f"x{hi[k].pct(50) / lo[k].pct(50):.2f} / x{hi[k].pct(99) / lo[k].pct(99):.2f}" for k in KINDS}
    rows = [[label, *(pct(results[a.n][key]) for a in arenas), growth[key]] for key, label in KINDS.items()]
    plans = [line for a in arenas for line in a.plans]
    m = machine()
    cmd = ".venv/bin/python bench/bench_edge.py " + shlex.join(sys.argv[1:])
    loads = ", ".join(
        f"{-(-a.n // PER_PREFIX):,} prefixes+bindings, {a.n:,} delegations, {a.apps:,} apps ({a.rate:,.0f} rows/s)"
        for a in arenas
    )
    body = [
        f"### Edge: Spectrum authorization check and resolve, {engine} ({version})",
        "",
        f"Command: `{cmd}`  ",
        f"Code: prefixgate {code_version()}  ",
        f"Machine: {m['nproc']} cores ({m['cpu']}), Python {m['python']}, {m['os']}; {m['date']}; shared and noisy.  ",
        f"Loaded (bulk inserts): {loads}.  ",
        f"One `prefixgate serve` (1 worker) per size, all running at once; {args.requests} sequential requests per "
        "kind and size, every kind of every size taking turns on one keep-alive client (so noise on this shared "
        "machine hits the sizes alike); latency in ms. A create includes its write and audit row.",
        "",
        table(header, rows),
    ]
    if plans:
        body += [
            "",
            "<details><summary>Query plans at the largest size</summary>",
            "",
            "```",
            *plans,
            "```",
            "</details>",
        ]
    text_ = "\n".join(body)
    print(text_)
    if args.out:
        replace_section(args.out, f"edge-{engine}", text_)


if __name__ == "__main__":
    main()
