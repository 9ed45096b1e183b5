"""Dashboard benchmark: what a page costs next to the API call that reads the same data, as ratios
within one run, and what signing in costs.

    .venv/bin/python bench/bench_dashboard.py [--requests 300] [--delegations 64] [--apps 32]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres] [--out BENCHMARKS.md]

On a fresh database, through the service layer: account A owns 1.2.3.0/24 (bound to Spectrum, one
address delegated to each of --delegations accounts, a Spectrum app on each of the first --apps of
them) and 2a0f:1000::/32 (the same delegations as /48s: the map draws 256 aggregated blocks). One user
belongs to A and to every delegatee, so the edit page names them all. Against a real `prefixgate serve`
on 127.0.0.1, one request at a time on one keep-alive client, the kinds taking turns (a noisy moment
hits them alike), --requests of each:
  - GET /client/v4/accounts/{A}/addressing/prefixes/{P}/delegations (the reference: JSON of the rows);
  - GET the IP Prefixes list, Edit IP Prefixes of the /24 (256 cells) and of the /32 (256 blocks),
    Delegated to this account, the Audit log;
  - POST /login with the right password (argon2id verification and a session written), fewer rounds.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    Server,
    Stats,
    code_version,
    database_version,
    engine_name,
    fresh_database,
    machine,
    table,
    write_section,
)
from prefixgate.bootstrap import open_database
from prefixgate.domain.bindings import SPECTRUM
from prefixgate.service import bindings, delegations, identity, prefixes, sessions, spectrum, tokens, zones
from prefixgate.service.context import Actor
from prefixgate.settings import Settings

EMAIL, PASSWORD = "viewer@bench.example", "bench-password-123"
V4, V6 = "1.2.3.0/24", "2a0f:1000::/32"


def prepare(url: str, n_delegations: int, n_apps: int) -> dict[str, str]:
    db = open_database(Settings(database_url=url))
    cli = Actor.cli()
    user, _ = identity.create_user(db, cli, EMAIL, password=None, operator=False)
    sessions.set_password(db, cli, EMAIL, PASSWORD)
    a = identity.create_account(db, cli, "Account A", owner_email=EMAIL).id
    ids: dict[str, str] = {"a": a}
    for cidr, key in ((V4, "p4"), (V6, "p6")):
        p = prefixes.create_prefix(db, cli, a, cidr, asn=64500, description=f"bench {cidr}")
        prefixes.approve_prefix(db, cli, p.id)
        bindings.create_binding(db, cli, a, p.id, cidr, SPECTRUM.id)
        ids[key] = p.id
    for i in range(n_delegations):
        b = identity.create_account(db, cli, f"Tenant {i:03d}", owner_email=EMAIL).id
        delegations.create_delegation(db, cli, a, ids["p4"], f"1.2.3.{i + 1}/32", b)
        delegations.create_delegation(db, cli, a, ids["p6"], f"2a0f:1000:{i + 1:x}::/48", b)
        if i < n_apps:
            zone = zones.create_zone(db, cli, b, f"t{i}.bench.example")
            spec = spectrum.AppInput(
                protocol="tcp/22",
                dns_type="ADDRESS",
                dns_name=f"ssh.t{i}.bench.example",
                edge_ips_type="static",
                edge_ips=[f"1.2.3.{i + 1}"],
                origin_direct=["tcp://192.0.2.1:22"],
            )
            spectrum.create_app(db, cli, zone.id, spec)
        ids["b"] = b
    _, token = tokens.create_token(db, cli, "bench", user=user)
    ids["token"] = token
    db.dispose()
    return ids


def signed_in(base: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=60)
    form = client.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert token is not None
    r = client.post("/login", data={"csrf_token": token.group(1), "email": EMAIL, "password": PASSWORD, "next": "/"})
    assert r.status_code == 303, r.text[:300]
    return client


def measure(kinds: dict[str, Callable[[], httpx.Response]], n: int, warmup: int = 10) -> dict[str, Stats]:
    out = {k: Stats(seconds=0.0) for k in kinds}
    for _ in range(warmup):
        for fn in kinds.values():
            fn()
    for _ in range(n):
        for name, fn in kinds.items():
            t0 = time.perf_counter()
            r = fn()
            dt = time.perf_counter() - t0
            out[name].latencies.append(dt)
            out[name].seconds += dt
            out[name].errors += r.status_code >= 400
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=300)
    ap.add_argument("--logins", type=int, default=40)
    ap.add_argument("--delegations", type=int, default=64)
    ap.add_argument("--apps", type=int, default=32)
    ap.add_argument("--database-url", default=None, help="a PostgreSQL server to make a fresh database on")
    ap.add_argument("--out", type=Path, default=None, help="write the results into this Markdown file")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp, fresh_database(tmp, args.database_url) as url:
        ids = prepare(url, args.delegations, args.apps)
        with Server(url, tmp) as server:
            api = httpx.Client(base_url=server.api, headers={"Authorization": f"Bearer {ids['token']}"}, timeout=60)
            web = signed_in(server.base)
            a, p4, p6 = ids["a"], ids["p4"], ids["p6"]
            pages = f"/accounts/{a}/ip-addresses/prefixes"
            kinds: dict[str, Callable[[], httpx.Response]] = {
                "API: list the /24's delegations (reference)": lambda: api.get(
                    f"/accounts/{a}/addressing/prefixes/{p4}/delegations"
                ),
                "IP Prefixes list": lambda: web.get(pages),
                "Edit IP Prefixes, /24 (256 cells)": lambda: web.get(f"{pages}/{p4}"),
                "Edit IP Prefixes, /32 (256 blocks)": lambda: web.get(f"{pages}/{p6}"),
                "Delegated to this account": lambda: web.get(f"/accounts/{ids['b']}/ip-addresses/delegated"),
                "Audit log (50 events)": lambda: web.get(f"/accounts/{a}/audit-log"),
            }
            for name, fn in kinds.items():  # every page answers 200 before anything is timed
                r = fn()
                assert r.status_code == 200, (name, r.status_code, r.text[:300])
            stats = measure(kinds, args.requests)
            login_page = httpx.Client(base_url=server.base, timeout=60)

            def login() -> httpx.Response:
                login_page.cookies.clear()
                form = login_page.get("/login").text
                token = re.search(r'name="csrf_token" value="([^"]+)"', form)
                assert token is not None
                data = {"csrf_token": token.group(1), "email": EMAIL, "password": PASSWORD, "next": "/"}
                return login_page.post("/login", data=data)

            logins = measure({"Sign in (GET /login, POST /login)": login}, args.logins, warmup=2)
            api.close()
            web.close()
            login_page.close()
        engine, version = engine_name(url), database_version(url)
    reference = stats["API: list the /24's delegations (reference)"].pct(50)
    rows = [
        [name, f"{s.pct(50):.1f}", f"{s.pct(99):.1f}", f"{s.pct(50) / reference:.1f}x", str(s.errors)]
        for name, s in {**stats, **logins}.items()
    ]
    info = machine()
    body = "\n".join(
        [
            f"### Dashboard pages: {engine} ({version})",
            "",
            f"`{' '.join(['bench/bench_dashboard.py', *sys.argv[1:]])}` at {code_version()}, on {info['nproc']} "
            f"cores ({info['cpu']}), Python {info['python']}. {args.delegations} delegations on each prefix, "
            f"{args.apps} Spectrum apps on the /24; {args.requests} requests of each page, {args.logins} sign-ins.",
            "",
            table(["Request", "p50 ms", "p99 ms", "p50 vs reference", "errors"], rows),
        ]
    )
    print(body)
    if args.out is not None:
        write_section(args.out, f"dashboard-{engine}", body)


if __name__ == "__main__":
    main()
