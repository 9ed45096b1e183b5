"""HAProxy's own instructions per connection, the edge's generated configuration against the static one:
a measure of what the frontend's rules cost that the machine's noise does not move.

    .venv/bin/python bench/bench_edge_instructions.py [--connections 3000] [--rev 293bd23 ...]

Each HAProxy (one thread) runs under valgrind's callgrind with instrumentation off; once it serves,
instrumentation is switched on, `--connections` connections are made one after the other (PROXY v2
header naming 1.2.3.4:22, 64 bytes, echoed, closed by bench/tcpload.c's echo origin), and switched off.
Instructions counted are HAProxy's user-space ones (the kernel's work for a connection is the same for
every configuration). Targets: the static HAProxy of bench_edge_proxy.py, the edge's configuration of the
working tree, and that of each `--rev` (its src/prefixgate/edge/haproxy_config.py, loaded from git). The
edge configurations get the same small maps, with 1.2.3.4:22 a served app whose origin is the echo origin.
Needs valgrind (Debian package valgrind; installed with apt-get when missing and run as root).
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import debian_tool, free_port
from _tcpload import EchoOrigin, StaticHaproxy, build_tcpload, echo_once, proxy_v2
from prefixgate.edge import haproxy_config
from prefixgate.edge.haproxy_runtime import RuntimeApi, RuntimeApiError

ROOT = Path(__file__).resolve().parent.parent
HEADER = proxy_v2(("198.51.100.7", 40000), ("1.2.3.4", 22))


def _config_module(rev: str, tmp: Path) -> ModuleType:
    """haproxy_config.py as it was at `rev`, imported beside the package (its relative imports resolve)."""
    source = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{rev}:src/prefixgate/edge/haproxy_config.py"],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    path = tmp / f"haproxy_config_{rev}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(f"prefixgate.edge._config_{rev}", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _edge_config(module: ModuleType, state_dir: Path, port: int, origin_port: int) -> tuple[Path, Path]:
    s = module.HaproxySettings(state_dir=state_dir, listen_port=port, nbthread=1)
    s.maps_dir.mkdir(parents=True)
    maps = {
        "spectrum_ip.map": "1.2.3.4 1\n9.9.9.9 2\n",
        "spectrum_port.map": f"{65536 + 22} app-22|served|127.0.0.1|{origin_port - 22}|off\n"
        f"{65536 + 23} app-23|app_blocked|127.0.0.1|0|off\n"
        f"{2 * 65536 + 100}:{2 * 65536 + 200} r|served|127.0.0.1|0|v2\n",
        "cdn_ip.map": "1.2.3.0/24 1\n",
        "cdn_grant.map": "1|acct 1\n",
        "hostname.map": "a.example.com h1|acct|served|127.0.0.1\n",
    }
    for name, text in maps.items():
        (s.maps_dir / name).write_text(text)
    s.config_path.write_text(module.render_config(s))
    return s.config_path, s.socket_path


def instructions_per_connection(name: str, config: Path, socket: Path, port: int, n: int, tmp: Path) -> float:
    out = tmp / f"callgrind.{name}"
    argv = ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}"]
    with (tmp / f"{name}.log").open("wb") as log:
        proc = subprocess.Popen([*argv, "/usr/sbin/haproxy", "-db", "-f", str(config)], stdout=log, stderr=log)
    try:
        runtime, deadline = RuntimeApi(socket, timeout=5), time.monotonic() + 60
        while True:
            try:
                runtime.show_info()
                break
            except RuntimeApiError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        for _ in range(20):  # warm-up: pools, first map lookups
            if not echo_once(("127.0.0.1", port), HEADER, timeout=5):
                raise RuntimeError(f"{name}: the echo origin does not answer through it")
        subprocess.run(["callgrind_control", "-i", "on", str(proc.pid)], check=True, capture_output=True)
        for _ in range(n):
            if not echo_once(("127.0.0.1", port), HEADER, timeout=5):
                raise RuntimeError(f"{name}: a connection was not echoed")
        time.sleep(0.3)  # the last closes
        subprocess.run(["callgrind_control", "-i", "off", str(proc.pid)], check=True, capture_output=True)
    finally:
        proc.terminate()
        proc.wait(60)
    totals = [line for line in out.read_text().splitlines() if line.startswith("totals:")]
    return int(totals[-1].split()[1]) / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--connections", type=int, default=3000)
    parser.add_argument("--rev", action="append", default=[], help="also the configuration of this git revision")
    args = parser.parse_args()
    debian_tool("valgrind", "valgrind", "bench_edge_instructions")
    with tempfile.TemporaryDirectory(prefix="edge-instr-") as d, EchoOrigin(build_tcpload(Path(d))) as origin:
        tmp = Path(d)
        ports = [free_port(), free_port()]
        static = StaticHaproxy(tmp / "static", ports, [origin.closing_port, origin.port])
        static.settings = haproxy_config.HaproxySettings(state_dir=tmp / "static", listen_port=ports[0], nbthread=1)
        static.settings.state_dir.mkdir()
        static.settings.config_path.write_text(static.config())
        targets = {"static": (static.settings.config_path, static.settings.socket_path, ports[0])}
        for label, module in [("working tree", haproxy_config), *((r, _config_module(r, tmp)) for r in args.rev)]:
            port = free_port()
            targets[f"edge ({label})"] = (
                *_edge_config(module, tmp / f"edge-{len(targets)}", port, origin.closing_port),
                port,
            )
        results = {}
        for name, (config, socket, port) in targets.items():
            results[name] = instructions_per_connection(
                name.split()[0] + str(len(results)), config, socket, port, args.connections, tmp
            )
            print(f"{name}: {results[name]:,.0f}", file=sys.stderr)
    base = results["static"]
    print(f"| HAProxy ({args.connections:,} connections, one thread) | instructions per connection | x static | more |")
    print("|---|---|---|---|")
    for name, value in results.items():
        print(f"| {name} | {value:,.0f} | {value / base:.2f} | {value - base:,.0f} |")


if __name__ == "__main__":
    main()
