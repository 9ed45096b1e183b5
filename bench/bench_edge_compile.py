"""Edge compiler benchmark: compile a large serving state into the table, render its HAProxy maps, diff
after one change; time and Python memory (tracemalloc) of each step.

    .venv/bin/python bench/bench_edge_compile.py [--scale 1.0] [--no-memory] [--state-memory] [--seed 1]

The state is bench/_edge_state.py's (built directly as an EdgeState, no database): at scale 1 about
1,000,000 delegations, 100,000 Spectrum apps and 100,000 active custom hostnames.
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
from typing import TypeVar

from _edge_state import build_state
from prefixgate.edge.haproxy_maps import plan_changes
from prefixgate.edge.render import MAP_NAMES, render_maps
from prefixgate.edge.state import EdgeState
from prefixgate.edge.table import EdgeTable, compile_table

T = TypeVar("T")


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
