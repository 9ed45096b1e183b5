"""wrk for bench/: find or install it, run it with a Lua script of bench/wrk/, and read back what that
script's done() hook printed (counts, wrk's error counts and latency quantiles)."""

from __future__ import annotations

import json
import resource
import subprocess
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from _common import debian_tool

SCRIPTS = Path(__file__).resolve().parent / "wrk"
REPORT = SCRIPTS / "report.lua"  # counts and latencies only: the script of plain GET phases
CREATE = SCRIPTS / "create.lua"  # every request creates a new delegation or Spectrum app
_MARK = "BENCH_JSON "
ERROR_KINDS = ("connect", "read", "write", "status", "timeout")  # wrk's own counters; status: answers >= 400


def find_wrk() -> str:
    """The `wrk` on PATH; otherwise install the Debian package (as root, with apt-get), or exit saying how."""
    return debian_tool("wrk", "wrk", "bench_http")


@dataclass
class WrkResult:
    """One or more wrk runs of the same phase, merged. Each run's latency comes as its 1000 quantiles, each
    standing for a thousandth of its requests; a merged percentile is read off all of them together (for
    one run that is wrk's own figure)."""

    requests: int = 0
    seconds: float = 0.0
    errors: Counter[str] = field(default_factory=Counter)
    quantiles: list[tuple[int, float]] = field(default_factory=list)  # (latency in µs, requests it stands for)
    server_cpu: float = 0.0  # CPU seconds the server used
    wrk_cpu: float = 0.0  # CPU seconds wrk used

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    def pct(self, p: float) -> float:
        """Latency percentile in milliseconds: the first quantile whose cumulative weight reaches p."""
        points = sorted(self.quantiles)
        total = sum(w for _, w in points)
        if not total:
            return float("nan")
        seen = 0.0
        for us, w in points:
            seen += w
            if seen >= p / 100 * total * (1 - 1e-9):
                return us / 1000
        return points[-1][0] / 1000

    def add(self, other: WrkResult) -> None:
        self.requests += other.requests
        self.seconds += other.seconds
        self.errors += other.errors
        self.quantiles += other.quantiles
        self.server_cpu += other.server_cpu
        self.wrk_cpu += other.wrk_cpu


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_wrk(
    wrk: str,
    url: str,
    *,
    script: Path = REPORT,
    script_args: tuple[str, ...] = (),
    headers: tuple[str, ...] = (),
    threads: int = 2,
    connections: int = 8,
    seconds: int = 6,
    timeout_s: int = 5,
) -> WrkResult:
    """Run `wrk -t threads -c connections -d seconds` against `url` once and parse the script's report.

    Raises:
        RuntimeError: wrk failed or printed no report (its output is quoted).
    """
    cmd = [wrk, "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "--timeout", f"{timeout_s}s"]
    cmd += ["-s", str(script)]
    for h in headers:
        cmd += ["-H", h]
    cmd += [url, "--", *script_args]
    cpu0 = _children_cpu()  # wrk is the only child reaped in between
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60)
    wrk_cpu = _children_cpu() - cpu0
    line = next((x for x in done.stdout.splitlines() if x.startswith(_MARK)), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stdout[-1500:]}{done.stderr[-1500:]}")
    report = json.loads(line[len(_MARK) :])
    qs: list[int] = report["quantiles_us"]
    return WrkResult(
        requests=report["requests"],
        seconds=report["duration_us"] / 1e6,
        errors=Counter({k: report["errors"][k] for k in ERROR_KINDS if report["errors"][k]}),
        quantiles=[(us, report["requests"] / len(qs)) for us in qs],
        wrk_cpu=wrk_cpu,
    )
