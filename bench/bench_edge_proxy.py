"""Edge data-plane benchmark: what `prefixgate edge` costs on the wire, how big a table it can hold, and
how fast a committed change reaches its HAProxy.

    .venv/bin/python bench/bench_edge_proxy.py [--rounds 9] [--seconds 2] [--scales 0.1,1] [--changes 200]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres] [--out BENCHMARKS.md]
        [--parts throughput,scale,propagation] [--tracemalloc-max 0.1]

1. Throughput (bench/tcpload.c: a C echo origin and a C load client, 2 client processes; the machine has
   2 cores). The same echo origin is reached (a) directly, (b) through `prefixgate edge` (a PROXY v2
   header per connection naming 1.2.3.4:22 or :23, the docs' kind of Spectrum app), (c) through Debian's
   HAProxy 2.6 with a static configuration: the edge's global and defaults sections, the same
   `accept-proxy` bind, one `server`, no maps, rules or stick tables. conn/s: open, send the header (not
   directly) and 64 bytes in one write, read the echo and the origin's close (the origin closes first, so
   no side runs out of ephemeral ports; see bench/tcpload.c), close, 16 in flight per client process;
   MB/s: 2 long connections per process streaming 64 KiB chunks. Each (mode, target) runs `--seconds`
   once per round, the targets in a rotating order, `--rounds` rounds; medians, and edge/static ratios
   taken per round. HAProxy's CPU per connection and per MB (from /proc) is the cost with the machine's
   noise left out.
2. Scale (bench/_edge_scale.py, one process per size): compile_table + render_maps of a synthetic state
   (bench/_edge_state.py) at each `--scales` step (1 = 100k apps, 100k hostnames, 1M delegations), with
   RSS and, up to `--tracemalloc-max`, tracemalloc peaks; one revoking change through the agent's install
   path; HAProxy started on the maps as files, and loaded through the runtime API, with its RSS.
3. Propagation: a control plane (`prefixgate serve`, SQLite; and PostgreSQL with --database-url, on a
   throwaway database) and `prefixgate edge`. `--changes` changes through the service layer, alternately
   creating a Spectrum app on 1.2.3.4 (a new port each time) and deleting it; from the moment the service
   call returns (committed), a client connects through the edge every ~1 ms until it gets the new answer
   (echoed, or closed). Figures are that delay: on the scene alone, with `--loaded` delegations
   bulk-loaded, and (a tenth of the changes) on the throughput part's edge just after its load, while its
   st_conns table still tracks the load's connections.
"""

from __future__ import annotations

import argparse
import json
import random
import shlex
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import code_version, database_version, free_port, machine, write_section
from _edge_report import propagation_section, scale_section, throughput_section
from _edge_stack import EDGE_IP, EdgeStack, edge_stack
from _tcpload import EchoOrigin, Load, StaticHaproxy, build_tcpload, echo_once, proxy_v2, rss_kib, run_load
from prefixgate.edge.haproxy_runtime import RuntimeApi

CLIENT = ("198.51.100.7", 40000)
TARGETS = ("direct", "edge", "static")
SCALE_SCRIPT = Path(__file__).resolve().with_name("_edge_scale.py")


def throughput(
    binary: Path, origin: EchoOrigin, stack: EdgeStack, tmp: Path, rounds: int, seconds: float
) -> dict[str, object]:
    conn_header, stream_header = proxy_v2(CLIENT, (EDGE_IP, 22)), proxy_v2(CLIENT, (EDGE_IP, 23))
    ports = [free_port(), free_port()]
    with StaticHaproxy(tmp / "static-haproxy", ports, [origin.closing_port, origin.port]) as static:
        edge, edge_haproxy = stack.edge.listen_port, stack.edge.haproxy_pid()
        watch = {
            "direct": {"origin": origin.pid},
            "edge": {"haproxy": edge_haproxy, "agent": stack.edge.pid, "origin": origin.pid},
            "static": {"haproxy": static.pid, "origin": origin.pid},
        }
        targets = {  # (mode, target) -> (port, header)
            ("conn", "direct"): (origin.closing_port, b""),
            ("conn", "edge"): (edge, conn_header),
            ("conn", "static"): (ports[0], conn_header),
            ("stream", "direct"): (origin.port, b""),
            ("stream", "edge"): (edge, stream_header),
            ("stream", "static"): (ports[1], stream_header),
        }
        for (mode, name), (port, hdr) in targets.items():
            if not echo_once(("127.0.0.1", port), hdr):
                raise RuntimeError(f"{name} ({mode}): the echo origin does not answer through it")
        rss_before = {"edge": rss_kib(edge_haproxy), "static": rss_kib(static.pid)}
        for name in TARGETS:  # warm-up, not counted
            port, hdr = targets[("conn", name)]
            run_load(binary, "conn", port, seconds=1.0, count=16, header=hdr)
        loads: dict[str, dict[str, list[Load]]] = {"conn": {t: [] for t in TARGETS}, "stream": {t: [] for t in TARGETS}}
        for r in range(rounds):
            order = TARGETS[r % 3 :] + TARGETS[: r % 3]
            for mode, count in (("conn", 16), ("stream", 2)):
                for name in order:
                    port, hdr = targets[(mode, name)]
                    load = run_load(binary, mode, port, seconds=seconds, count=count, header=hdr, watch=watch[name])
                    loads[mode][name].append(load)
                    print(f"round {r + 1} {mode:6} {name:6} {load.conns_per_s:9,.0f} conn/s {load.mb_per_s:8,.0f} MB/s"
                          f" errors {load.errors}", file=sys.stderr)  # fmt: skip
        rss_after = {"edge": rss_kib(edge_haproxy), "static": rss_kib(static.pid)}
    return {"loads": loads, "rss_before": rss_before, "rss_after": rss_after, "rounds": rounds, "seconds": seconds}


def _observe(address: tuple[str, int], header: bytes, want: bool, started: float, timeout: float = 10.0) -> float:
    """Probe through the edge every ~1 ms until a connection gets `want` (echoed or not); the delay from
    `started` to the end of that probe, or inf when the deadline passed."""
    while (probe := time.perf_counter()) < started + timeout:
        if echo_once(address, header, timeout=1.0) == want:
            return time.perf_counter() - started
        time.sleep(max(0.0, probe + 0.001 - time.perf_counter()))
    return float("inf")


def propagation(stack: EdgeStack, changes: int, rnd: random.Random) -> list[tuple[str, float]]:
    """(kind, seconds) per change: "create" (the app starts being served) or "delete" (it stops)."""
    out: list[tuple[str, float]] = []
    app_id = ""
    for i in range(changes):
        port = 10_000 + i // 2
        header = proxy_v2(CLIENT, (EDGE_IP, port))
        if i % 2 == 0:
            app_id = stack.app_on(port)
        else:
            stack.delete_app(app_id)
        committed = time.perf_counter()
        out.append(("create" if i % 2 == 0 else "delete", _observe(stack.edge.address, header, i % 2 == 0, committed)))
        time.sleep(rnd.uniform(0.005, 0.03))  # so changes do not keep one phase against the feed's poll
    return out


def _tracked_keys(stack: EdgeStack) -> int:
    """How many keys the edge's st_conns holds now."""
    tables = RuntimeApi(stack.edge.state_dir / "haproxy.sock").command("show table")  # headers only
    head = next(line for line in tables.splitlines() if line.startswith("# table: st_conns,"))
    return int(head.rpartition("used:")[2])


def scale(tmp: Path, scales: list[float], tracemalloc_max: float) -> list[dict[str, object]]:
    out = []
    for step in scales:
        work = tmp / f"scale-{step}"
        work.mkdir()
        cmd = [sys.executable, str(SCALE_SCRIPT), "--scale", str(step), "--workdir", str(work)]
        if step <= tracemalloc_max:
            cmd.append("--tracemalloc")
        started = time.perf_counter()
        done = subprocess.run(cmd, check=True, capture_output=True, text=True)
        result = json.loads(done.stdout)
        result["wall_s"] = time.perf_counter() - started
        print(f"scale {step}: {result['wall_s']:.0f} s", file=sys.stderr)
        out.append(result)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--seconds", type=float, default=2.0, help="each throughput measurement")
    parser.add_argument("--scales", default="0.1,1", help="sizes of the scale part (1: 1M delegations)")
    parser.add_argument("--tracemalloc-max", type=float, default=0.1, help="largest scale measured under tracemalloc")
    parser.add_argument("--changes", type=int, default=200)
    parser.add_argument(
        "--loaded",
        type=lambda v: [int(x) for x in v.split(",") if x],
        default=[10_000],
        help="propagation again with this many delegations bulk-loaded (comma-separated; '' for none)",
    )
    parser.add_argument("--database-url", help="a PostgreSQL server for the propagation part too")
    parser.add_argument("--parts", default="throughput,scale,propagation")
    parser.add_argument("--out", type=Path, help="write the sections into this Markdown file")
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    command = "python bench/bench_edge_proxy.py " + shlex.join(sys.argv[1:])
    meta = {**machine(), "code": code_version(), "command": command.replace("python", ".venv/bin/python", 1)}
    rnd = random.Random(7)
    sections: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="edge-proxy-") as d, ExitStack() as stack:
        tmp = Path(d)
        binary = build_tcpload(tmp)
        origin = stack.enter_context(EchoOrigin(binary))
        delays: dict[tuple[str, str], list[tuple[str, float]]] = {}
        if "throughput" in parts:
            with edge_stack(tmp / "throughput", origin.port, origin.closing_port) as s:
                result = throughput(binary, origin, s, tmp, args.rounds, args.seconds)
                sections["edge_proxy:throughput"] = throughput_section(result, meta)
                if "propagation" in parts:  # st_conns still holds the load's connections (30 s)
                    tracked = _tracked_keys(s)
                    label = f"the scene, just after the throughput part (st_conns: {tracked:,} keys)"
                    delays[(database_version(s.url), label)] = propagation(s, max(2, args.changes // 10), rnd)
        if "propagation" in parts:
            for url in [None, *([args.database_url] if args.database_url else [])]:
                for bulk in [0, *args.loaded]:
                    with edge_stack(tmp / f"run-{len(delays)}", origin.port, origin.closing_port, url, bulk=bulk) as s:
                        label = f"+{bulk:,} delegations, {bulk // 10:,} apps" if bulk else "the scene only"
                        delays[(database_version(s.url), label)] = propagation(s, args.changes, rnd)
            sections["edge_proxy:propagation"] = propagation_section(delays, meta)
        if "scale" in parts:
            steps = scale(tmp, [float(x) for x in args.scales.split(",")], args.tracemalloc_max)
            sections["edge_proxy:scale"] = scale_section(steps, meta)
    for key, body in sections.items():
        print(body)
        if args.out:
            write_section(args.out, key, body)


if __name__ == "__main__":
    main()
