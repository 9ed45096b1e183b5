"""Raw TCP load on loopback for bench_edge_proxy.py: the C echo origin and load client of bench/tcpload.c
(built here with `cc -O2`), PROXY v2 headers, a plain HAProxy with a static configuration, and CPU
accounting of processes from /proc."""

from __future__ import annotations

import ipaddress
import json
import os
import shutil
import socket
import statistics
import struct
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

from prefixgate.edge.haproxy_config import HAPROXY_BIN, HaproxySettings, render_config
from prefixgate.edge.haproxy_runtime import RuntimeApi, RuntimeApiError

SOURCE = Path(__file__).resolve().parent / "tcpload.c"
_V2_SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"
Addr = tuple[str, int]


def build_tcpload(out_dir: Path) -> Path:
    """Compile bench/tcpload.c into `out_dir` (installing Debian's gcc first when there is no cc and we
    are root), or exit saying what is missing."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None and os.geteuid() == 0 and shutil.which("apt-get"):
        print("no C compiler on PATH; installing the Debian package gcc", file=sys.stderr)
        subprocess.run(["apt-get", "install", "-y", "-q", "gcc"], capture_output=True)
        cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        raise SystemExit("bench_edge_proxy needs a C compiler (apt-get install gcc) to build bench/tcpload.c")
    binary = out_dir / "tcpload"
    subprocess.run([cc, "-O2", "-Wall", "-o", str(binary), str(SOURCE)], check=True)
    return binary


def proxy_v2(src: Addr, dst: Addr) -> bytes:
    """A PROXY v2 header (command PROXY, TCP over IPv4) saying `src` connected to `dst`."""
    body = ipaddress.IPv4Address(src[0]).packed + ipaddress.IPv4Address(dst[0]).packed
    body += struct.pack("!HH", src[1], dst[1])
    return _V2_SIGNATURE + bytes([0x21, 0x11]) + struct.pack("!H", len(body)) + body


def cpu_seconds(pid: int) -> float:
    """User+system CPU seconds of one process (all its threads) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid: int, key: str = "VmRSS") -> int:
    """A memory figure of /proc/<pid>/status in KiB (VmRSS, VmHWM, ...)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(key)


class EchoOrigin:
    """`tcpload echo` as a subprocess: a single-threaded epoll echo server on 127.0.0.1, echoing on `port`
    and, on `closing_port`, echoing 64 bytes and then closing (for conn/s: see bench/tcpload.c)."""

    def __init__(self, binary: Path) -> None:
        self.binary = binary
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = self.closing_port = 0

    def __enter__(self) -> Self:
        self.proc = subprocess.Popen([str(self.binary), "echo"], stdout=subprocess.PIPE)
        assert self.proc.stdout is not None
        self.closing_port, self.port = (int(p) for p in self.proc.stdout.readline().split())
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


@dataclass
class Load:
    """What the client processes of one measurement did together, and the CPU the watched processes used."""

    mode: str
    seconds: float
    done: int = 0
    errors: int = 0
    bytes: int = 0
    hist: Counter[int] = field(default_factory=Counter)  # microseconds (10 us buckets) -> connections
    cpu: dict[str, float] = field(default_factory=dict)  # name (and "client") -> CPU seconds in the window

    @property
    def conns_per_s(self) -> float:
        return self.done / self.seconds

    @property
    def mb_per_s(self) -> float:
        return self.bytes / self.seconds / 1e6

    def pct_us(self, q: float) -> float:
        total = sum(self.hist.values())
        if not total:
            return float("nan")
        rank, seen = q / 100 * total, 0
        for us in sorted(self.hist):
            seen += self.hist[us]
            if seen >= rank:
                return float(us)
        return float(max(self.hist))

    def cpu_per_unit(self, name: str) -> float:
        """CPU microseconds of `name` per connection (conn mode) or per MB echoed (stream mode)."""
        units = self.done if self.mode == "conn" else self.bytes / 1e6
        return 1e6 * self.cpu.get(name, 0.0) / units if units else float("nan")


def run_load(
    binary: Path,
    mode: str,
    port: int,
    *,
    seconds: float,
    count: int,
    header: bytes = b"",
    processes: int = 2,
    watch: dict[str, int] | None = None,
) -> Load:
    """`processes` tcpload clients in `mode` ("conn" or "stream") against 127.0.0.1:port, all measuring the
    same window of `seconds`; `count` connections in flight per process. `watch` names processes whose CPU
    over that window is recorded."""
    start = time.time() + 0.3
    args = [str(binary), mode, str(port), f"{start:.6f}", str(seconds), str(count)]
    if header:
        args.append(header.hex())
    procs = [subprocess.Popen(args, stdout=subprocess.PIPE) for _ in range(processes)]
    watch = watch or {}
    time.sleep(max(0.0, start - time.time()))
    before = {name: cpu_seconds(pid) for name, pid in watch.items()}
    time.sleep(max(0.0, start + seconds - time.time()))
    after = {name: cpu_seconds(pid) for name, pid in watch.items()}
    load = Load(mode, seconds)
    client_cpu = 0.0
    for proc in procs:
        out, _ = proc.communicate(timeout=seconds + 30)
        if proc.returncode != 0:
            raise RuntimeError(f"tcpload {mode} exited {proc.returncode}")
        part = json.loads(out)
        load.done += part["done"]
        load.errors += part["errors"]
        load.bytes += part["bytes"]
        load.hist.update({int(us): int(n) for us, n in part["hist"]})
        client_cpu += part["cpu"]
    load.cpu = {name: after[name] - before[name] for name in watch} | {"client": client_cpu}
    return load


def median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


class StaticHaproxy:
    """Debian's HAProxy with a fixed configuration, in a session of its own like the edge's: the edge's
    `global` and `defaults` (so the same threads and timeouts), and per origin port an `accept-proxy`
    frontend (`ports[i]` in front of `origins[i]`) with one `server`. No maps, no rules, no stick tables."""

    def __init__(self, state_dir: Path, ports: list[int], origins: list[int], haproxy_bin: str = HAPROXY_BIN) -> None:
        self.settings = HaproxySettings(state_dir=state_dir, listen_port=ports[0])
        self.ports, self.origins = ports, origins
        self.bin = haproxy_bin
        self.proc: subprocess.Popen[bytes] | None = None

    def config(self) -> str:
        edge = render_config(self.settings).splitlines()
        lines = edge[: next(i for i, line in enumerate(edge) if line.startswith("backend "))]
        for i, (port, origin) in enumerate(zip(self.ports, self.origins, strict=True)):
            lines += [
                f"frontend static{i}",
                "    mode tcp",
                f"    bind 127.0.0.1:{port} accept-proxy",
                f"    default_backend origin{i}",
                "",
                f"backend origin{i}",
                f"    server echo 127.0.0.1:{origin}",
                "",
            ]
        return "\n".join(lines)

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def __enter__(self) -> Self:
        s = self.settings
        s.state_dir.mkdir(parents=True, exist_ok=True)
        s.config_path.write_text(self.config(), encoding="ascii")
        log = (s.state_dir / "haproxy.out").open("ab")
        # A session of its own, as the edge's HAProxy has (see _edge_stack.EdgeProcess: autogroup scheduling).
        self.proc = subprocess.Popen(
            [self.bin, "-db", "-f", str(s.config_path)], stdout=log, stderr=log, start_new_session=True
        )
        log.close()
        runtime = RuntimeApi(s.socket_path, timeout=2)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if runtime.show_info().get("Pid") == str(self.proc.pid):
                    return self
            except RuntimeApiError:
                time.sleep(0.02)
        self.__exit__()
        raise RuntimeError(f"the static HAProxy did not start; see {s.state_dir}/haproxy.out")

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


def echo_once(address: Addr, header: bytes, payload: bytes = b"ping\n", timeout: float = 1.0) -> bool:
    """One connection: header and payload, then whether the payload comes back (False if closed first)."""
    try:
        with socket.create_connection(address, timeout=timeout) as sock:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.sendall(header + payload)
            got = b""
            while len(got) < len(payload):
                chunk = sock.recv(len(payload) - len(got))
                if not chunk:
                    return False
                got += chunk
            return got == payload
    except OSError:
        return False
