"""One size of bench_edge_proxy.py's scale part, run in a process of its own (so memory figures start clean):

    .venv/bin/python bench/_edge_scale.py --scale 0.1 --workdir DIR [--tracemalloc] [--no-haproxy]

prints one JSON object. Steps, each timed:
  1. build the synthetic state (bench/_edge_state.py); compile_table; render_maps. The process's RSS
     before compiling, its peak during compile+render (VmHWM, reset first) and after; with
     --tracemalloc, compile and render again under tracemalloc (peak and kept bytes; slower).
  2. One change compiled whole: the delegation under an app's edge IP is removed (apply_changes,
     compile_table, render_maps with the previous maps, plan_changes); then three changes the way the
     agent installs them (apply_changes_touched, update_table, update_maps, plan_changes on the keys
     that changed): that revocation (its maps must equal the whole render's), an app created on an
     existing app's IP, a hostname added; the state saved as StateStore does (JSON, fsync) and that file
     decoded again (what a restart or reload reads).
  3. HAProxy with the maps as files (HaproxySupervisor.start: write the files, `haproxy -c`, start, wait
     for the runtime API), its RSS; then an HAProxy started with empty maps, loaded through the runtime
     API (MapProgrammer.apply_full), its RSS before and after, the maps read back and compared, and
     the one change applied live (apply_diff).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import sys
import time
import tracemalloc
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import free_port
from _edge_state import build_state
from _tcpload import rss_kib
from prefixgate.domain.net import IPAddress
from prefixgate.edge.haproxy_config import HaproxySettings, check_config, render_config
from prefixgate.edge.haproxy_maps import MAP_NAMES, MapSet, plan_changes, write_map_files
from prefixgate.edge.haproxy_programmer import MapProgrammer
from prefixgate.edge.haproxy_supervisor import HaproxySupervisor
from prefixgate.edge.render import MapSet as RenderedMaps
from prefixgate.edge.render import render_maps, update_maps
from prefixgate.edge.state import Change, EdgeState, HostnameRow, apply_changes, apply_changes_touched
from prefixgate.edge.store import StateStore
from prefixgate.edge.table import EdgeTable, compile_table, update_table

T = TypeVar("T")
MIB = 1024.0  # KiB per MiB


def _timed(out: dict[str, float], key: str, fn: Callable[[], T]) -> T:
    """Call fn; out[key] is the wall time it took, out[key + "_cpu"] this process's CPU time (the figure
    that other work on a shared machine does not inflate, for steps that run in this process)."""
    start, cpu = time.perf_counter(), time.process_time()
    value = fn()
    out[key] = time.perf_counter() - start
    out[key + "_cpu"] = time.process_time() - cpu
    return value


def _reset_hwm() -> None:
    Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS (Linux 4.0+)


def _revoking_change(state: EdgeState) -> Change:
    """Removing the host delegation under the first active app's edge IP (the app stops being served)."""
    app = next(a for a in state.apps.values() if a.status == "active")
    ip = app.edge_ips[0]
    under = next(d for d in state.delegations.values() if d.cidr.network_address == ip and d.cidr.num_addresses == 1)
    return Change(state.revision + 1, "delegation", under.id, None)


def measure(scale: float, work: Path, *, memory: bool, haproxy: bool) -> dict[str, object]:
    t: dict[str, float] = {}
    state, resolved = _timed(t, "build_s", lambda: build_state(scale, random.Random(1)))
    rows = {k: len(state.table(k)) for k in ("prefix", "delegation", "binding", "app", "hostname")}
    gc.collect()
    me = os.getpid()
    rss_state = rss_kib(me)
    _reset_hwm()
    table = _timed(t, "compile_s", lambda: compile_table(state))
    maps = _timed(t, "render_s", lambda: render_maps(table, resolved=resolved))
    mem = {"rss_state_mib": rss_state / MIB, "peak_extra_mib": (rss_kib(me, "VmHWM") - rss_state) / MIB}
    mem["kept_extra_mib"] = (rss_kib(me) - rss_state) / MIB
    entries = {name: len(maps.entries(name)) for name in MAP_NAMES}
    if memory:
        del table
        gc.collect()
        tracemalloc.start()
        table = _timed(t, "compile_traced_s", lambda: compile_table(state))
        mem["traced_compile_peak_mib"] = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.reset_peak()
        traced_maps = _timed(t, "render_traced_s", lambda: render_maps(table, resolved=resolved))
        kept, peak = tracemalloc.get_traced_memory()
        mem["traced_render_peak_mib"], mem["traced_kept_mib"] = peak / 2**20, kept / 2**20
        tracemalloc.stop()
        del traced_maps
    change = _revoking_change(state)
    changed = _timed(t, "change_apply_s", lambda: apply_changes(state, change.revision, [change]))
    table2 = _timed(t, "change_compile_s", lambda: compile_table(changed))
    maps2 = _timed(t, "change_render_s", lambda: render_maps(table2, resolved=resolved, previous=maps))
    steps = _timed(t, "change_plan_s", lambda: plan_changes(maps.as_dict(), maps2.as_dict()))
    out_changes = _incremental(state, table, maps, resolved, t)
    if dict(out_changes.pop("revoke_maps").as_dict()) != dict(maps2.as_dict()):  # type: ignore[attr-defined]
        raise RuntimeError("update_maps after the revocation differs from render_maps of the compiled table")
    store = StateStore(work / "store")
    _timed(t, "save_s", lambda: store.save(changed))
    _timed(t, "load_s", store.load)
    out: dict[str, object] = {
        "scale": scale,
        "rows": rows,
        "entries": entries,
        "change_steps": [f"{s.op} {s.name} {s.key}" for s in steps],
        "incremental": out_changes,
        "state_file_mib": store.path.stat().st_size / 2**20,
        "memory": mem,
        "times": t,
    }
    if haproxy:
        out["haproxy"] = _haproxy(work, maps.as_dict(), maps2.as_dict(), t)
    return out


def _changes(state: EdgeState) -> dict[str, list[Change]]:
    """One change of each common kind, as the feed brings them."""
    rev = state.revision + 1
    app = next(a for a in state.apps.values() if a.status == "active")
    tenant = next(h for h in state.hostnames.values()).account_id
    zone = next(z for z in state.zones.values() if z.account_id == tenant)
    new_app = replace(app, id="app-new", protocol="tcp/2222", origin_direct=("tcp://192.0.2.9:2222",))
    new_app = replace(new_app, origin_dns_name=None, origin_port=None, modified_on=app.modified_on)
    host = HostnameRow("h-new", zone.id, tenant, "new.shop.example.org", None)
    return {
        "revoke": [_revoking_change(state)],
        "app": [Change(rev, "app", new_app.id, new_app)],
        "hostname": [Change(rev, "hostname", host.id, host)],
    }


def _incremental(
    state: EdgeState,
    table: EdgeTable,
    maps: RenderedMaps,
    resolved: Mapping[str, IPAddress | None],
    t: dict[str, float],
) -> dict[str, object]:
    """Each change the way the agent installs it: apply_changes_touched, update_table, update_maps and
    plan_changes on the keys that changed."""
    out: dict[str, object] = {}
    for name, changes in _changes(state).items():
        new_state, touched = _timed(
            t, f"incr_{name}_apply_s", lambda c=changes: apply_changes_touched(state, state.revision + 1, c)
        )
        new_table, delta = _timed(t, f"incr_{name}_table_s", lambda s=new_state, d=touched: update_table(table, s, d))
        new_maps, diff = _timed(
            t, f"incr_{name}_maps_s", lambda n=new_table, d=delta: update_maps(maps, table, n, d, resolved=resolved)
        )
        keys = {m: entries.keys() for m, entries in diff.items()}
        steps = _timed(
            t, f"incr_{name}_plan_s", lambda n=new_maps, k=keys: plan_changes(maps.as_dict(), n.as_dict(), k)
        )
        out[f"{name}_steps"] = len(steps)
        if name == "revoke":
            out["revoke_maps"] = new_maps
    return out


def _haproxy(work: Path, maps: MapSet, changed: MapSet, t: dict[str, float]) -> dict[str, float]:
    files = HaproxySettings(state_dir=work / "files", listen_port=free_port())
    files.state_dir.mkdir(parents=True)
    _timed(t, "files_write_s", lambda: write_map_files(files.maps_dir, maps))
    files.config_path.write_text(render_config(files), encoding="ascii")
    _timed(t, "files_check_s", lambda: check_config(files.config_path))
    bytes_on_disk = sum((files.maps_dir / name).stat().st_size for name in MAP_NAMES)
    sup = HaproxySupervisor(files, maps=lambda: maps, ready_timeout_s=600)
    _timed(t, "files_start_s", sup.start)
    assert sup.pid is not None
    rss_files = rss_kib(sup.pid)
    sup.stop()
    live = HaproxySettings(state_dir=work / "runtime", listen_port=free_port())
    sup = HaproxySupervisor(live, maps=lambda: {}, ready_timeout_s=600)
    _timed(t, "empty_start_s", sup.start)
    try:
        assert sup.pid is not None
        rss_empty = rss_kib(sup.pid)
        programmer = MapProgrammer(sup.runtime, live)
        _timed(t, "runtime_load_s", lambda: programmer.apply_full(maps))
        rss_loaded = rss_kib(sup.pid)
        held = _timed(t, "runtime_read_s", programmer.live_maps)
        if held != {name: dict(maps.get(name, {})) for name in MAP_NAMES}:
            raise RuntimeError("HAProxy's maps after apply_full differ from the rendered maps")
        _timed(t, "runtime_diff_s", lambda: programmer.apply_diff(maps, changed))
    finally:
        sup.stop()
    return {
        "map_files_mib": bytes_on_disk / 2**20,
        "rss_files_mib": rss_files / MIB,
        "rss_empty_mib": rss_empty / MIB,
        "rss_loaded_mib": rss_loaded / MIB,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, required=True)
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--tracemalloc", action="store_true")
    parser.add_argument("--no-haproxy", action="store_true")
    args = parser.parse_args()
    result = measure(args.scale, args.workdir, memory=args.tracemalloc, haproxy=not args.no_haproxy)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
