"""Why st_conns keeps a closed connection's key for 30 s: what the table's expiry costs HAProxy when many
tracked connections stay open.

    .venv/bin/python bench/bench_edge_conns_expiry.py [--expiries 1,5,30] [--idle 8000] [--out BENCHMARKS.md]

st_conns (docs/edge.md) tracks every served connection under its own key; an open connection holds its
entry, and a closed one's entry is dropped once `expire` has passed. A shorter expiry keeps the table
smaller, but HAProxy 2.6's expiry task steps over every entry that has expired while still in use,
each time it runs, so a short expiry may cost more than it saves. For each expiry: a bare HAProxy on the
edge's generated configuration (one served app on 1.2.3.4:22 and :23, echo origins of bench/tcpload.c),
conn/s and its CPU per connection (load as in bench_edge_proxy.py: 2 client processes, 16 in flight each,
`--seconds` per window, three windows), first with no other connection open, then with `--idle` tracked
connections open and idle, after a load of expiry + 3 s so the idle entries have expired and the load's
own ones are expiring.
"""

from __future__ import annotations

import argparse
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import median

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import code_version, free_port, machine, table, write_section
from _tcpload import EchoOrigin, build_tcpload, proxy_v2, run_load
from prefixgate.edge.haproxy_config import HAPROXY_BIN, HaproxySettings, render_config
from prefixgate.edge.haproxy_runtime import RuntimeApi, RuntimeApiError

CLIENT = ("198.51.100.7", 40000)


def _start(tmp: Path, expire_s: float, origin: EchoOrigin, maxconn: int) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    s = HaproxySettings(
        state_dir=tmp / f"expire-{expire_s}", listen_port=port, conns_expire_s=expire_s, maxconn=maxconn
    )
    s.maps_dir.mkdir(parents=True)
    ports = f"{65536 + 22} a22|served|127.0.0.1|{origin.closing_port - 22}|off\n"
    ports += f"{65536 + 23} a23|served|127.0.0.1|{origin.port - 23}|off\n"
    maps = {"spectrum_ip.map": "1.2.3.4 1\n", "spectrum_port.map": ports}
    for name in ("cdn_ip.map", "cdn_grant.map", "hostname.map", *maps):
        (s.maps_dir / name).write_text(maps.get(name, ""))
    s.config_path.write_text(render_config(s))
    proc = subprocess.Popen([HAPROXY_BIN, "-db", "-f", str(s.config_path)], start_new_session=True)
    runtime, deadline = RuntimeApi(s.socket_path, timeout=5), time.monotonic() + 10
    while True:
        try:
            runtime.show_info()
            return proc, port
        except RuntimeApiError:
            if time.monotonic() > deadline:
                proc.kill()
                raise
            time.sleep(0.05)


def _windows(binary: Path, port: int, pid: int, seconds: float) -> tuple[float, float]:
    """Median conn/s and HAProxy CPU µs per connection over three windows."""
    header = proxy_v2(CLIENT, ("1.2.3.4", 22))
    loads = [
        run_load(binary, "conn", port, seconds=seconds, count=16, header=header, watch={"h": pid}) for _ in range(3)
    ]
    return median(x.conns_per_s for x in loads), median(x.cpu["h"] / max(1, x.done) * 1e6 for x in loads)


def measure(
    binary: Path, tmp: Path, origin: EchoOrigin, expire_s: float, idle: int, seconds: float, maxconn: int
) -> list[float]:
    proc, port = _start(tmp, expire_s, origin, maxconn)
    socks: list[socket.socket] = []
    try:
        alone = _windows(binary, port, proc.pid, seconds)
        idle_header = proxy_v2(CLIENT, ("1.2.3.4", 23))
        for _ in range(idle):
            c = socket.create_connection(("127.0.0.1", port))
            c.sendall(idle_header + b"x")
            socks.append(c)
        for c in socks:
            c.recv(1)  # echoed: served and tracked
        run_load(binary, "conn", port, seconds=expire_s + 3, count=16, header=proxy_v2(CLIENT, ("1.2.3.4", 22)))
        crowded = _windows(binary, port, proc.pid, seconds)
    finally:
        for c in socks:
            c.close()
        proc.terminate()
        proc.wait(10)
    return [*alone, *crowded]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--expiries", default="1,5,30", help="st_conns expiries to compare, seconds")
    parser.add_argument("--idle", type=int, default=8000)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # HAProxy inherits it: two sockets per connection
    files = 1 << 20 if hard == resource.RLIM_INFINITY else hard
    maxconn = min(args.idle + 2000, (files - 200) // 2)
    if maxconn < args.idle + 200:
        parser.error(f"--idle {args.idle} needs a file limit of about {2 * args.idle + 600}; the hard limit is {files}")
    rows = []
    with tempfile.TemporaryDirectory(prefix="edge-expiry-") as d:
        tmp = Path(d)
        binary = build_tcpload(tmp)
        with EchoOrigin(binary) as origin:
            for expire_s in (float(x) for x in args.expiries.split(",")):
                a_rate, a_cpu, c_rate, c_cpu = measure(binary, tmp, origin, expire_s, args.idle, args.seconds, maxconn)
                print(f"expire {expire_s:g} s: {a_rate:,.0f} -> {c_rate:,.0f} conn/s", file=sys.stderr)
                rows.append([
                    f"{expire_s:g} s", f"{a_rate:,.0f}", f"{a_cpu:.1f}", f"{c_rate:,.0f}", f"{c_cpu:.1f}",
                    f"{c_rate / a_rate:.2f}",
                ])  # fmt: skip
    m = machine()
    command = "`.venv/bin/python bench/bench_edge_conns_expiry.py " + " ".join(sys.argv[1:]) + "`"
    body = "\n".join([
        "## Edge: st_conns expiry with many open connections",
        "",
        f"- Command: {command}",
        f"- Code: prefixgate {code_version()}",
        f"- Machine: {m['nproc']} CPUs ({m['cpu']}), {m['os']}, Python {m['python']}",
        f"- Date: {m['date']}; the machine is shared with other work and noisy.",
        f"- Load: a bare HAProxy on the edge's configuration; conn/s as in bench_edge_proxy.py, medians of"
        f" three {args.seconds:g} s windows; then the same with {args.idle:,} tracked connections open and idle,"
        " measured after a load of expiry + 3 s.",
        "",
        table(
            ["st_conns expiry", "conn/s alone", "HAProxy µs/conn", f"conn/s with {args.idle:,} idle open",
             "HAProxy µs/conn", "ratio"],
            rows,
        ),
        "",
        "The edge keeps 30 s (docs/edge.md, \"Revocation closes established connections\").",
    ])  # fmt: skip
    print(body)
    if args.out:
        write_section(args.out, "edge_conns_expiry", body)


if __name__ == "__main__":
    main()
