"""What one change costs the edge agent outside compile and render, at scale, without HAProxy:

    .venv/bin/python bench/bench_edge_agent_costs.py [--scale 1.0] [--connections 50000] [--destinations 2000]

On bench/_edge_state.py's state (scale 1: about 1M delegations, 100k apps, 100k hostnames), CPU seconds
(time.process_time, best of 3, so other load on the machine counts less):
  - plan_changes after two delegations are removed (the maps rendered with the previous ones);
  - close_unserved's decision: st_conns holding --connections keys over --destinations Spectrum
    destinations, as `show table` prints them (the runtime API is a stand-in that answers with that
    text; no HAProxy), parsed, converted and decided as the agent does after a change;
  - encode_snapshot, and StateStore.save (JSON, fsync) of the whole state.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from _edge_state import build_state
from prefixgate.edge.agent import _served_by
from prefixgate.edge.haproxy_config import HaproxySettings
from prefixgate.edge.haproxy_maps import plan_changes
from prefixgate.edge.haproxy_plane import HaproxyDataPlane
from prefixgate.edge.haproxy_programmer import MapProgrammer
from prefixgate.edge.haproxy_runtime import RuntimeApi, Session
from prefixgate.edge.render import render_maps
from prefixgate.edge.state import encode_snapshot
from prefixgate.edge.store import StateStore
from prefixgate.edge.table import compile_table


def cpu(label: str, fn: Callable[[], object]) -> None:
    times = []
    for _ in range(3):
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    print(f"{label:<64} {min(times):6.2f} s CPU (runs: {', '.join(f'{t:.2f}' for t in times)})", flush=True)


class CannedTable(RuntimeApi):
    """A runtime API that answers `show table` with fixed text, and has no sessions."""

    def __init__(self, text: str) -> None:  # no socket: nothing is sent anywhere
        self.text = text

    def command(self, command: str, *args: object, **kwargs: object) -> str:
        return self.text if command.startswith("show table") else ""

    def show_sess(self) -> list[Session]:
        return []

    def clear_table(self, table: str, key: str | None = None) -> None:
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--connections", type=int, default=50_000)
    parser.add_argument("--destinations", type=int, default=2_000)
    args = parser.parse_args()
    state, resolved = build_state(args.scale, random.Random(1))
    table = compile_table(state)
    maps = render_maps(table, resolved=resolved)
    print(
        f"state: {len(state.delegations):,} delegations, {len(state.apps):,} apps, {len(state.hostnames):,} hostnames"
    )

    app = next(a for a in state.apps.values() if a.status == "active")
    under = next(d.id for d in state.delegations.values() if d.cidr.network_address == app.edge_ips[0])
    delegations = {k: v for k, v in state.delegations.items() if k not in (under, "d00002-001")}
    changed = replace(state, revision=2, delegations=delegations)
    maps2 = render_maps(compile_table(changed), resolved=resolved, previous=maps)
    old, new = maps.as_dict(), maps2.as_dict()
    entries = sum(len(e) for e in old.values())
    cpu(f"plan_changes, {entries:,} entries, {len(plan_changes(old, new))} steps", lambda: plan_changes(old, new))

    apps = [a for a in state.apps.values() if a.status == "active"]
    picked = random.Random(2).sample(apps, min(args.destinations, len(apps)))
    dests = [f"{a.edge_ips[0]}:{a.protocol.partition('/')[2].partition('-')[0]}|{a.id}|" for a in picked]
    lines = [f"# table: st_conns, type: string, size:1048576, used:{args.connections}"]
    for i in range(args.connections):
        src = f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}:{1024 + i % 60000}"
        lines.append(f"0x{i:012x}: key={src}|{dests[i % len(dests)]} use=1 exp=60000 gpt0=0")
    plane = HaproxyDataPlane(HaproxySettings(state_dir=Path(tempfile.mkdtemp()), listen_host="127.0.0.1"))
    plane._programmer = MapProgrammer(CannedTable("\n".join(lines) + "\n"), plane.settings)
    cpu(
        f"close_unserved's decision, {args.connections:,} tracked over {len(dests):,} destinations",
        lambda: plane.close_unserved(_served_by(table)),
    )

    store = StateStore(Path(tempfile.mkdtemp()))
    cpu("encode_snapshot", lambda: encode_snapshot(state))
    cpu("StateStore.save (JSON, fsync)", lambda: store.save(state))


if __name__ == "__main__":
    main()
