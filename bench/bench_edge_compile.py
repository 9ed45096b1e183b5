"""Edge compiler benchmark: compile a large serving state into the table, render its HAProxy maps, diff
after one change; time and Python memory (tracemalloc) of each step.

    .venv/bin/python bench/bench_edge_compile.py [--scale 1.0] [--no-memory] [--state-memory] [--seed 1]

At scale 1 the state (built directly as an EdgeState, no database) holds 1,000,000 delegations,
100,000 Spectrum apps and 100,000 active custom hostnames:
  - 4,000 prefixes (IPv4 /24s and IPv6 /48s, alternating) owned round-robin by 1,000 accounts, all approved
    but every 50th; each bound whole, half to Spectrum and half to CDN, every 10th with a /28 (/124)
    override to the other service;
  - per prefix, 250 host delegations (.1 to .250) to 10,000 tenant accounts, plus a /26 (/122) nesting
    over the first 64 hosts to another tenant;
  - one zone per tenant (1% paused), each with a fallback origin;
  - 100,000 apps on every fifth delegated host of the Spectrum prefixes (5% blocked; 90% on one port,
    10% on a 100-port range; half origin_direct, half origin_dns among 1,000 names);
  - 100,000 hostnames, ten per tenant zone (half with a custom origin server among 1,000 names).
Reported: compile, render, the diff after removing two delegations (recompile, render with the previous
maps, diff), lookups per second; with memory on, the peak and what the table and maps keep.
"""

from __future__ import annotations

import argparse
import ipaddress
import random
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from prefixgate.domain.bindings import CDN, SPECTRUM
from prefixgate.edge.haproxy_maps import plan_changes
from prefixgate.edge.render import MAP_NAMES, render_maps
from prefixgate.edge.state import (
    AppRow,
    BindingRow,
    DelegationRow,
    EdgeState,
    FallbackOriginRow,
    HostnameRow,
    PrefixRow,
    ZoneRow,
)
from prefixgate.edge.table import EdgeTable, compile_table

T = TypeVar("T")
HOSTS = 250


def build_state(scale: float, rnd: random.Random) -> tuple[EdgeState, dict[str, ipaddress.IPv4Address | None]]:
    n_prefixes = max(4, int(4000 * scale))
    n_tenants = max(10, int(10_000 * scale))
    owners = [f"owner{i:04d}" for i in range(1000)]
    tenants = [f"tenant{i:05d}" for i in range(n_tenants)]
    base = datetime(2026, 12, 1, tzinfo=UTC)
    prefixes, delegations, bindings, zones, apps, hosts, fallbacks = [], [], [], [], [], [], []
    names = [f"origin{i}.example.net" for i in range(1000)]
    zone_of = {t: f"zone-{t}" for t in tenants}
    for t in tenants:
        zones.append(ZoneRow(zone_of[t], t, rnd.random() < 0.01))
        fallbacks.append(FallbackOriginRow(zone_of[t], f"fallback.{t}.example.com"))
    app_hosts: list[tuple[str, ipaddress.IPv4Address | ipaddress.IPv6Address]] = []
    for i in range(n_prefixes):
        if i % 2 == 0:
            net: ipaddress.IPv4Network | ipaddress.IPv6Network = ipaddress.IPv4Network(((20 << 24) + (i << 8), 24))
            nest, override = 26, 28
        else:
            net = ipaddress.IPv6Network(((0x2A0F << 112) + (i << 80), 48))
            nest, override = 122, 124
        pid = f"p{i:05d}"
        prefixes.append(PrefixRow(pid, owners[i % len(owners)], net, i % 50 != 49))
        service, other = (SPECTRUM, CDN) if (i // 2) % 2 == 0 else (CDN, SPECTRUM)
        bindings.append(BindingRow(f"b{i:05d}", pid, net, service.id))
        if i % 10 == 0:
            cut = type(net)((int(net.network_address) + 128, override))
            bindings.append(BindingRow(f"o{i:05d}", pid, cut, other.id))
        first = int(net.network_address)
        for h in range(1, HOSTS + 1):
            tenant = tenants[(i * HOSTS + h) % n_tenants]
            cidr = type(net)((first + h, net.max_prefixlen))
            delegations.append(DelegationRow(f"d{i:05d}-{h:03d}", pid, cidr, tenant))
            if service is SPECTRUM and h % 5 == 0:
                app_hosts.append((tenant, cidr.network_address))
        delegations.append(DelegationRow(f"n{i:05d}", pid, type(net)((first, nest)), tenants[(i * 7) % n_tenants]))
    for k, (tenant, ip) in enumerate(app_hosts[: int(100_000 * scale)]):
        ranged = rnd.random() < 0.1
        port = rnd.choice((22, 80, 443, 3306, 5432)) if not ranged else 10_000 + rnd.randrange(50) * 100
        protocol = f"tcp/{port}-{port + 99}" if ranged else f"tcp/{port}"
        dns = rnd.random() < 0.5
        apps.append(
            AppRow(
                id=f"app{k:06d}",
                zone_id=zone_of[tenant],
                account_id=tenant,
                protocol=protocol,
                edge_ips=(ip,),
                origin_direct=() if dns else (f"tcp://192.0.2.{k % 250 + 1}:{port}",),
                origin_dns_name=rnd.choice(names) if dns else None,
                origin_port=(f"{port}-{port + 99}" if ranged else str(port)) if dns else None,
                proxy_protocol=rnd.choice(("off", "v1", "v2")),
                traffic_type="direct",
                status="blocked" if rnd.random() < 0.05 else "active",
                modified_on=base + timedelta(seconds=k),
            )
        )
    for k in range(int(100_000 * scale)):
        tenant = tenants[k % n_tenants]
        custom = rnd.choice(names) if rnd.random() < 0.5 else None
        hosts.append(HostnameRow(f"h{k:06d}", zone_of[tenant], tenant, f"www{k}.shop.example.org", custom))
    rows = [*prefixes, *delegations, *bindings, *zones, *apps, *hosts, *fallbacks]
    resolved: dict[str, ipaddress.IPv4Address | None] = {
        n: ipaddress.IPv4Address(f"198.51.100.{i % 250 + 1}") for i, n in enumerate(names)
    }
    resolved.update({f.origin: ipaddress.IPv4Address("198.51.100.7") for f in fallbacks})
    resolved[names[0]] = None  # one name does not resolve
    return EdgeState.of(1, rows), resolved


def timed(label: str, fn: Callable[[], T], memory: bool) -> T:
    if memory:
        tracemalloc.start()
        tracemalloc.reset_peak()
    start = time.perf_counter()
    out = fn()
    elapsed = time.perf_counter() - start
    line = f"{label:<44} {elapsed:8.2f} s"
    if memory:
        kept, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        line += f"   kept {kept / 2**20:8.1f} MiB   peak {peak / 2**20:8.1f} MiB   (times under tracemalloc)"
    print(line, flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--no-memory", action="store_true", help="skip the (slower) tracemalloc pass")
    parser.add_argument("--state-memory", action="store_true", help="measure the input state too (slow)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rnd = random.Random(args.seed)
    state, resolved = timed("build the synthetic state", lambda: build_state(args.scale, rnd), args.state_memory)
    print(
        f"state: {len(state.prefixes):,} prefixes, {len(state.delegations):,} delegations, "
        f"{len(state.bindings):,} bindings, {len(state.apps):,} apps, {len(state.hostnames):,} hostnames"
    )
    table = timed("compile_table", lambda: compile_table(state), False)
    maps = timed("render_maps", lambda: render_maps(table, resolved=resolved), False)
    print("maps: " + ", ".join(f"{n} {len(maps.entries(n)):,}" for n in MAP_NAMES))
    # the host under the first active app, and one in CDN prefix 2
    app = next(a for a in state.apps.values() if a.status == "active")
    under = next(d.id for d in state.delegations.values() if d.cidr.network_address == app.edge_ips[0])
    changed = _without(state, [under, "d00002-001"])
    table2 = timed("recompile after removing two delegations", lambda: compile_table(changed), False)
    maps2 = timed("render with the previous maps", lambda: render_maps(table2, resolved=resolved, previous=maps), False)
    steps = timed("plan_changes", lambda: plan_changes(maps.as_dict(), maps2.as_dict()), False)
    print(f"plan: {len(steps)} steps: " + "; ".join(f"{s.op} {s.name} {s.key} {s.value or ''}" for s in steps[:8]))
    _lookups(table, state, rnd)
    if not args.no_memory:
        del table2, maps2, steps
        table = timed("compile_table (memory)", lambda: compile_table(state), True)
        timed("render_maps (memory)", lambda: render_maps(table, resolved=resolved), True)


def _without(state: EdgeState, delegation_ids: list[str]) -> EdgeState:
    delegations = dict(state.delegations)
    for key in delegation_ids:
        delegations.pop(key, None)
    return EdgeState(
        2,
        state.prefixes,
        delegations,
        state.bindings,
        state.zones,
        state.apps,
        state.hostnames,
        state.fallback_origins,
    )


def _lookups(table: EdgeTable, state: EdgeState, rnd: random.Random) -> None:
    apps = list(state.apps.values())
    hosts = list(state.hostnames.values())
    by_tenant: dict[str, list[ipaddress.IPv4Address | ipaddress.IPv6Address]] = {}
    for d in state.delegations.values():
        by_tenant.setdefault(d.delegated_account_id, []).append(d.cidr.network_address)
    queries = [
        (a.edge_ips[0], int(a.protocol.partition("/")[2].partition("-")[0]))
        for a in rnd.sample(apps, min(10_000, len(apps)))
    ]
    start = time.perf_counter()
    served = sum(table.spectrum(ip, "tcp", port).served for ip, port in queries)
    spectrum_rate = len(queries) / (time.perf_counter() - start)
    # each hostname on one of its own account's delegated addresses (served where that one is CDN-bound)
    pairs = [(rnd.choice(by_tenant[h.account_id]), h.hostname) for h in rnd.sample(hosts, min(10_000, len(hosts)))]
    start = time.perf_counter()
    host_served = sum(table.hostname(ip, name).served for ip, name in pairs)
    host_rate = len(pairs) / (time.perf_counter() - start)
    print(f"spectrum lookups: {spectrum_rate:,.0f}/s ({served:,} of {len(queries):,} served)")
    print(f"hostname lookups: {host_rate:,.0f}/s ({host_served:,} of {len(pairs):,} served)")


if __name__ == "__main__":
    main()
