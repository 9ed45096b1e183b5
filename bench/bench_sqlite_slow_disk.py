"""SQLite writes on a slow disk: group commit when every fsync takes D ms.

    .venv/bin/python bench/bench_sqlite_slow_disk.py [--delays-ms 0,20,200] [--clients 16] [--seconds 10]
        [--workers 2] [--out BENCHMARKS.md]

A slow or stalled disk cannot be arranged here, so it is simulated: `prefixgate serve` (SQLite, --workers
processes sharing one file) runs under strace, which delays the return of every fsync and fdatasync by D
ms and counts them. For each D in one run: --clients keep-alive clients POST delegations (a new /128 each)
for --seconds; writes/s, p50/p99 latency, and fsyncs per acknowledged write. With D = 0 strace still runs,
so its own cost is the same in every row and the rows compare as ratios.

Group commit shares one COMMIT among the writers queued behind each other, and keeps it open for as long as
the last durable COMMIT took (adapters/db/sqlite_writer.py): fsyncs per write should fall as D grows.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import httpx

from prefixgate.service import prefixes
from prefixgate.service.context import Actor

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    Server,
    Stats,
    bootstrap,
    code_version,
    debian_tool,
    fresh_database,
    machine,
    nth_host,
    run_concurrent,
    table,
    write_section,
)

PREFIX, NET = "2001:db8::/32", "2001:db8:5000::/48"  # the documentation range, with the lab setting
SYNC_CALLS = ("fsync", "fdatasync")
LAB = {"PREFIXGATE_LOG_LEVEL": "WARNING", "PREFIXGATE_ALLOW_NON_PUBLIC_PREFIXES": "1"}


class StracedServer(Server):
    """`prefixgate serve` whose every fsync and fdatasync returns `delay_ms` late, counted into `counts`."""

    def __init__(self, url: str, log_dir: str, *, workers: int, delay_ms: int) -> None:
        super().__init__(url, log_dir, workers=workers, env=LAB)
        self.counts = Path(log_dir) / f"strace-{delay_ms}.txt"
        calls = ",".join(SYNC_CALLS)
        strace = [debian_tool("strace", "strace", "bench_sqlite_slow_disk"), "--seccomp-bpf", "-f", "-qq", "-c"]
        strace += ["-o", str(self.counts), "-e", f"trace={calls}"]
        if delay_ms:
            strace += ["-e", f"inject={calls}:delay_exit={delay_ms * 1000}"]
        self.cmd = [*strace, *self.cmd]

    def syncs(self) -> int:
        """fsync and fdatasync calls so far (strace writes its summary when the server exits)."""
        total = 0
        for line in self.counts.read_text().splitlines():
            fields = line.split()
            if fields and fields[-1] in SYNC_CALLS:
                total += int(fields[3])
        return total


def measure(url: str, tmp: str, delay_ms: int, args: argparse.Namespace) -> tuple[Stats, int]:
    tenants = bootstrap(url)
    cli = Actor.cli()
    prefix = prefixes.create_prefix(tenants.db, cli, tenants.owner, PREFIX, asn=64500, allow_non_public=True).id
    prefixes.approve_prefix(tenants.db, cli, prefix)
    tenants.db.dispose()
    path = f"/accounts/{tenants.owner}/addressing/prefixes/{prefix}/delegations"

    def create(c: httpx.Client, n: int) -> httpx.Response:
        return c.post(path, json={"cidr": nth_host(NET, n), "delegated_account_id": tenants.delegatee})

    server = StracedServer(url, tmp, workers=args.workers, delay_ms=delay_ms)
    with server:
        stats = run_concurrent(server, tenants.headers, create, clients=args.clients, seconds=args.seconds)
    return stats, server.syncs()


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--delays-ms", default="0,20,200", help="fsync delays to simulate, comma-separated")
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args(argv)
    rows, base = [], None
    for delay in (int(d) for d in args.delays_ms.split(",")):
        with tempfile.TemporaryDirectory() as tmp, fresh_database(tmp) as url:
            stats, syncs = measure(url, tmp, delay, args)
        writes = stats.count - stats.errors
        base = base or stats.rps
        print(f"  fsync +{delay} ms: {stats.rps:,.1f} writes/s, {syncs} syncs, {stats.errors} errors", file=sys.stderr)
        rows.append(
            [
                f"+{delay} ms",
                f"{stats.rps:,.1f}",
                f"{stats.rps / base:.2f}" if base else "-",
                f"{stats.pct(50):,.0f} / {stats.pct(99):,.0f}",
                f"{syncs / writes:.2f}" if writes else "-",
                str(stats.errors),
            ]
        )
    m = machine()
    command = "python bench/bench_sqlite_slow_disk.py " + shlex.join(argv if argv is not None else sys.argv[1:])
    body = "\n".join(
        [
            "## SQLite writes on a slow disk (simulated)",
            "",
            f"`{command}` · code {code_version()} · {m['date']} · {m['nproc']} cores, {m['cpu']}",
            "",
            f"`prefixgate serve --workers {args.workers}` on SQLite under strace, which delays every fsync and "
            f"fdatasync; {args.clients} clients POST delegations for {args.seconds:g} s per row.",
            "",
            table(["fsync delay", "writes/s", "vs +0 ms", "p50 / p99 ms", "fsyncs per write", "errors"], rows),
        ]
    )
    print(body)
    if args.out:
        write_section(args.out, "sqlite_slow_disk", body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
