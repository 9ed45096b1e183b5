"""HTTP benchmark of a real `prefixgate serve`, driven by wrk, against bare reference apps in the same run.

    .venv/bin/python bench/bench_http.py [--duration 6] [--rounds 3] [--warmup 1] [--connections 8] [--threads 2]
        [--engines sqlite:1,postgresql:1,postgresql:2] [--pg-url postgresql+psycopg://postgres@127.0.0.1:5432/test]
        [--out BENCHMARKS.md]

For each engine config (engine:workers), on a fresh database (SQLite: a file; PostgreSQL: a throwaway
database made on --pg-url's server and dropped at the end): tenants made through the service layer (account A
owns three approved IPv6 /32s, B receives delegations, an API token of A's Administrator), 10,000 delegations
bulk-loaded into one prefix; then `prefixgate serve --workers N` and two reference apps under uvicorn with the
same settings and worker count (bench/ref_serve.py): a bare async `/healthz` (bench/ref_healthz.py) and a sync
route doing one indexed SELECT on SQLite through SQLAlchemy Core (bench/ref_select.py). Over HTTP: A's third
prefix is bound to Spectrum and A gets a zone. Every phase is first checked with one request (its status must be
the expected one), warmed up, then measured with `wrk -t T -c C` in --rounds slices interleaved with the other
phases, so drift on the shared machine lands on all alike:

    ref /healthz, GET /healthz, ref one SELECT, GET a prefix (authenticated), GET a page of 50 delegations,
    POST a delegation (a new /128 each, to B), POST a Spectrum app (a new edge IP each)

Reported per config: requests, errors (wrk's: connect/read/write/timeout, and answers >= 400), req/s, p50/p99
over all slices, p99/p50, each phase's req/s over its reference's (and that ratio's range over the slices) with
the issue-7 targets, and the CPU the server and wrk used. After the run, the rows the write phases created are
counted in the database and must match wrk's successful answers. Any error makes the run fail (exit 1) and keeps
its section out of --out.
"""

from __future__ import annotations

import argparse
import ipaddress
import shlex
import signal
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, func, select

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    Server,
    ServerProcess,
    Tenants,
    bootstrap,
    bulk_delegations,
    code_version,
    database_version,
    free_port,
    fresh_database,
    machine,
    table,
    write_section,
)
from _wrk import CREATE, REPORT, WrkResult, find_wrk, run_wrk
from prefixgate.adapters.db.tables import delegations, spectrum_apps
from ref_serve import UVICORN_OPTIONS

BENCH = Path(__file__).resolve().parent
CREATE_NET = "2a0f:1000::/32"  # A's: every POST delegation takes a new /128 of it, to B
LIST_NET = "2a0f:2000::/32"  # A's: the prefix read, and the one whose 10,000 delegations are paged
APP_NET = "2a0f:4000::/32"  # A's, bound to Spectrum: every POST app takes a new edge IP of it
LISTED = 10_000
WRITE_TAIL = 4.0  # target: a write's p99 at most this many times its p50, on SQLite
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
REF_HEALTHZ, REF_SELECT = "ref /healthz (bare FastAPI)", "ref one SELECT (FastAPI + Core, SQLite)"


@dataclass(frozen=True)
class Config:
    engine: str  # "sqlite" or "postgresql"
    workers: int

    @property
    def key(self) -> str:
        return f"bench_http:{self.engine}:w{self.workers}"


def parse_configs(text: str) -> list[Config]:
    out = []
    for item in filter(None, (x.strip() for x in text.split(","))):
        engine, _, workers = item.partition(":")
        if engine not in ("sqlite", "postgresql") or not (workers or "1").isdigit() or int(workers or 1) < 1:
            raise SystemExit(f"--engines: {item!r} is not ENGINE[:WORKERS] (ENGINE sqlite or postgresql)")
        out.append(Config(engine, int(workers or 1)))
    return out


class RefServer(ServerProcess):
    """A reference app of bench/ (ref_serve.py) on 127.0.0.1 and a free port."""

    def __init__(self, app: str, log_dir: str, *, workers: int, db: Path | None = None) -> None:
        port = free_port()
        cmd = [sys.executable, str(BENCH / "ref_serve.py"), app, "--port", str(port), "--workers", str(workers)]
        cmd += ["--db", str(db)] if db else []
        log = Path(log_dir) / f"ref-{app}-{port}.log"
        super().__init__(cmd, port, log, health_path={"healthz": "/healthz", "select": "/item"}[app], workers=workers)


@dataclass
class Phase:
    """One kind of request against one server, what it is compared with, and what it measured."""

    name: str
    server: ServerProcess
    path: str
    expect: int = 200  # the status every answer must have (checked on a probe; wrk counts answers >= 400)
    probe_body: dict[str, Any] | None = None  # a POST probe's body (outside wrk's address range)
    create: tuple[str, str, str] | None = None  # create.lua's KIND, BASE, EXTRA for a write phase
    auth: tuple[str, ...] = ()
    reference: str | None = None
    target: float | None = None
    tail_target: float | None = None  # p99/p50 at most this
    measured: WrkResult = field(default_factory=WrkResult)
    everything: WrkResult = field(default_factory=WrkResult)  # warm-up included: what the server received
    runs: int = 0
    ratios: list[float] = field(default_factory=list)  # per slice, req/s over the reference's


def _v6_base(net: str) -> str:
    """The first two groups of an IPv6 /32 as canonical text, the start of create.lua's addresses."""
    return ":".join(f"{int(g, 16):x}" for g in ipaddress.ip_network(net).exploded.split(":")[:2])


def setup_spectrum(server: Server, t: Tenants, prefix_id: str) -> dict[str, Any]:
    """Bind A's APP_NET prefix to Spectrum and give A a zone, over HTTP; returns the zone."""
    with httpx.Client(base_url=server.api, headers=t.headers, timeout=30) as c:
        services = _ok(c.get(f"/accounts/{t.owner}/addressing/services"), 200)
        spectrum = next(s["id"] for s in services if s["name"] == "Spectrum")
        body = {"cidr": APP_NET, "service_id": spectrum}
        _ok(c.post(f"/accounts/{t.owner}/addressing/prefixes/{prefix_id}/bindings", json=body), 201)
        zone: dict[str, Any] = _ok(
            c.post("/zones", json={"name": "bench.example.com", "account": {"id": t.owner}}), 200
        )
    return zone


def _ok(r: httpx.Response, status: int) -> Any:
    """The envelope's result, after checking the status and `success`."""
    if r.status_code != status or not r.json().get("success"):
        raise RuntimeError(f"{r.request.method} {r.request.url.path}: expected {status}, got {r.status_code}: {r.text}")
    return r.json()["result"]


def make_phases(
    cfg: Config,
    server: Server,
    ref_h: RefServer,
    ref_s: RefServer,
    t: Tenants,
    ids: dict[str, str],
    zone: dict[str, Any],
) -> list[Phase]:
    prefixes = f"/client/v4/accounts/{t.owner}/addressing/prefixes"
    auth = (f"Authorization: Bearer {t.token}",)
    create_ip = ipaddress.ip_network(CREATE_NET).network_address + 1
    app_ip = ipaddress.ip_network(APP_NET).network_address + 1
    app_probe = {
        "protocol": "tcp/22",
        "dns": {"type": "ADDRESS", "name": f"probe.{zone['name']}"},
        "edge_ips": {"type": "static", "ips": [str(app_ip)]},
        "origin_direct": ["tcp://192.0.2.1:22"],
    }
    write_goal = 0.4 if cfg.engine == "sqlite" else 0.3
    tail = WRITE_TAIL if cfg.engine == "sqlite" else None
    return [
        Phase(REF_HEALTHZ, ref_h, "/healthz"),
        Phase("GET /healthz", server, "/healthz", reference=REF_HEALTHZ, target=0.8),
        Phase(REF_SELECT, ref_s, "/item"),
        Phase("GET a prefix", server, f"{prefixes}/{ids['list']}", auth=auth, reference=REF_SELECT, target=0.6),
        Phase(
            f"GET delegations per_page=50 ({LISTED:,} in prefix)",
            server,
            f"{prefixes}/{ids['list']}/delegations?per_page=50",
            auth=auth,
            reference=REF_SELECT,
        ),
        Phase(
            "POST a delegation (new /128 each)",
            server,
            f"{prefixes}/{ids['create']}/delegations",
            probe_body={"cidr": f"{create_ip}/128", "delegated_account_id": t.delegatee},
            create=("delegation", _v6_base(CREATE_NET), t.delegatee),
            auth=auth,
            reference=REF_SELECT,
            target=write_goal,
            tail_target=tail,
        ),
        Phase(
            "POST a Spectrum app (new edge IP each)",
            server,
            f"/client/v4/zones/{zone['id']}/spectrum/apps",
            probe_body=app_probe,
            create=("app", _v6_base(APP_NET), zone["name"]),
            auth=auth,
            reference=REF_SELECT,
            tail_target=tail,
        ),
    ]


def probe(phases: list[Phase]) -> None:
    """One request of each phase, which must answer the expected status (and `success` for prefixgate)."""
    for ph in phases:
        headers = dict(h.split(": ", 1) for h in ph.auth)
        url = ph.server.base + ph.path
        with httpx.Client(headers=headers, timeout=30) as c:
            r = c.post(url, json=ph.probe_body) if ph.probe_body is not None else c.get(url)
        body = r.json()
        if r.status_code != ph.expect or (isinstance(body, dict) and body.get("success") is False):
            raise RuntimeError(f"probe of {ph.name!r}: expected {ph.expect}, got {r.status_code}: {r.text[:1000]}")


class Runner:
    """Runs wrk for the phases, numbering every write run so no two create the same thing."""

    def __init__(self, wrk: str, args: argparse.Namespace) -> None:
        self.wrk, self.args, self.run_no = wrk, args, 0

    def once(self, ph: Phase, seconds: int) -> WrkResult:
        script, script_args = REPORT, tuple[str, ...]()
        if ph.create:
            self.run_no += 1
            kind, base, extra = ph.create
            script, script_args = CREATE, (kind, ph.path, base, str(self.run_no), extra)
        url = ph.server.base + (ph.path if not ph.create else "/")
        cpu0 = ph.server.cpu_seconds()
        res = run_wrk(
            self.wrk,
            url,
            script=script,
            script_args=script_args,
            headers=ph.auth,
            threads=self.args.threads,
            connections=self.args.connections,
            seconds=seconds,
        )
        res.server_cpu = ph.server.cpu_seconds() - cpu0
        ph.everything.add(res)
        ph.runs += 1
        return res

    def measure(self, phases: list[Phase]) -> None:
        a = self.args
        if a.warmup > 0:
            for ph in phases:
                self.once(ph, a.warmup)
        by_name = {ph.name: ph for ph in phases}
        for i in range(a.rounds):
            slices = {ph.name: self.once(ph, a.duration // a.rounds) for ph in phases}
            for ph in phases:
                ph.measured.add(slices[ph.name])
                if ph.reference and (ref := slices[by_name[ph.reference].name].rps):
                    ph.ratios.append(slices[ph.name].rps / ref)
            print(
                f"  round {i + 1}: " + ", ".join(f"{s.rps:,.0f}" for s in slices.values()) + " req/s", file=sys.stderr
            )


def check_writes(url: str, phases: list[Phase], ids: dict[str, str], zone_id: str, connections: int) -> list[str]:
    """Rows the write phases created (probe excluded) against wrk's successful answers: every success
    must have made one, and at most `connections` requests per run may have ended after wrk stopped."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            made = {
                "delegation": conn.execute(
                    select(func.count()).select_from(delegations).where(delegations.c.prefix_id == ids["create"])
                ).scalar_one(),
                "app": conn.execute(
                    select(func.count()).select_from(spectrum_apps).where(spectrum_apps.c.zone_id == zone_id)
                ).scalar_one(),
            }
    finally:
        engine.dispose()
    problems = []
    for ph in phases:
        if ph.create:
            ok = ph.everything.requests - ph.everything.errors["status"]
            rows = made[ph.create[0]] - 1
            if not ok <= rows <= ok + connections * ph.runs:
                problems.append(f"{ph.name}: {rows:,} rows created for {ok:,} successful answers")
    return problems


def _fmt(x: float, digits: int = 1) -> str:
    return f"{x:,.{digits}f}"


def _verdict(value: float, goal: float, *, at_most: bool = False) -> str:
    good = value <= goal if at_most else value >= goal
    return "pass" if good else "**FAIL**"


def report(cfg: Config, args: argparse.Namespace, url: str, wrk: str, phases: list[Phase], problems: list[str]) -> str:
    by_name = {ph.name: ph for ph in phases}
    rows = []
    for ph in phases:
        m = ph.measured
        ratio, spread, target, verdict = "—", "—", "—", "—"
        if ph.reference:
            ref = by_name[ph.reference].measured
            value = m.rps / ref.rps if ref.rps else float("nan")
            ratio = f"**{value:.2f}x** {'bare /healthz' if ph.reference == REF_HEALTHZ else 'one SELECT'}"
            spread = f"{min(ph.ratios):.2f}-{max(ph.ratios):.2f}" if ph.ratios else "—"
            if ph.target is not None:
                target, verdict = f">= {ph.target}x", _verdict(value, ph.target)
        tail = m.pct(99) / m.pct(50) if m.pct(50) else float("nan")
        if ph.tail_target is not None:
            target = f"{target}; p99/p50 <= {ph.tail_target:g}" if target != "—" else f"p99/p50 <= {ph.tail_target:g}"
            tail_verdict = _verdict(tail, ph.tail_target, at_most=True)
            verdict = tail_verdict if verdict == "—" else f"{verdict}; {tail_verdict}"
        errors = str(m.error_count) if not m.error_count else f"**{m.error_count}** ({dict(m.errors)})"
        rows.append(
            [
                ph.name,
                f"{m.requests:,}",
                errors,
                _fmt(m.rps),
                _fmt(m.pct(50), 2),
                _fmt(m.pct(99), 2),
                f"{tail:.1f}",
                ratio,
                spread,
                target,
                verdict,
                f"{m.server_cpu / m.seconds:.2f} / {m.wrk_cpu / m.seconds:.2f}" if m.seconds else "—",
            ]
        )
    t = table(
        [
            "Phase",
            "Requests",
            "Errors",
            "Req/s",
            "p50 ms",
            "p99 ms",
            "p99/p50",
            "Ratio",
            "Slices",
            "Target",
            "Result",
            "CPU (*)",
        ],
        rows,
    )
    mach = machine()
    wrk_line = subprocess.run([wrk, "-v"], capture_output=True, text=True).stdout.splitlines()[:1] or ["wrk"]
    wrk_version = wrk_line[0].split(" Copyright")[0]
    command = shlex.join([".venv/bin/python", "bench/bench_http.py", *sys.argv[1:]])
    slice_s = args.duration // args.rounds
    loud = "".join(f"\n**ERRORS: {p}**\n" for p in problems)
    return f"""## HTTP with wrk: {cfg.engine}, {cfg.workers} worker(s)
{loud}
- Command: `{command}`
- Code: prefixgate {code_version()}
- Machine: {mach["nproc"]} CPUs ({mach["cpu"]}), {mach["os"]}, Python {mach["python"]}, {database_version(url)};
  {wrk_version}
- Date: {mach["date"]}
- Load: `wrk -t{args.threads} -c{args.connections}`, each phase {args.duration} s in {args.rounds} slices of {slice_s} s
  interleaved with the other phases, after a {args.warmup} s warm-up; p50/p99 over all slices.
- Servers: `prefixgate serve --workers {cfg.workers}` and the reference apps (bench/ref_healthz.py,
  bench/ref_select.py) under uvicorn with {cfg.workers} worker(s), http={UVICORN_OPTIONS["http"]},
  loop={UVICORN_OPTIONS["loop"]}; the servers, the database and wrk share this machine.
- Ratio: the phase's requests/s over its reference app's in the same run; Slices: that ratio's range per slice.

{t}

(*) CPU cores used on average during the phase: the measured server (its process group) / wrk.
"""


def run_config(cfg: Config, args: argparse.Namespace, wrk: str, tmp: str) -> tuple[str, list[str]]:
    """Measure one engine config; returns its Markdown section and the problems found."""
    with ExitStack() as stack:
        url = stack.enter_context(fresh_database(tmp, None if cfg.engine == "sqlite" else args.pg_url))
        print(f"{cfg.engine}, {cfg.workers} worker(s): loading {LISTED:,} delegations", file=sys.stderr)
        t = bootstrap(url)
        try:
            ids = dict(
                zip(("create", "list", "app"), (t.prefix(n) for n in (CREATE_NET, LIST_NET, APP_NET)), strict=True)
            )
            bulk_delegations(t, ids["list"], LIST_NET, LISTED)
        finally:
            t.db.dispose()
        server = stack.enter_context(Server(url, tmp, workers=cfg.workers))
        ref_h = stack.enter_context(RefServer("healthz", tmp, workers=cfg.workers))
        ref_s = stack.enter_context(RefServer("select", tmp, workers=cfg.workers, db=Path(tmp) / "ref-select.db"))
        zone = setup_spectrum(server, t, ids["app"])
        phases = make_phases(cfg, server, ref_h, ref_s, t, ids, zone)
        probe(phases)
        Runner(wrk, args).measure(phases)
        problems = [f"{ph.name}: {dict(ph.everything.errors)}" for ph in phases if ph.everything.error_count]
        problems += check_writes(url, phases, ids, zone["id"], args.connections)
        return report(cfg, args, url, wrk, phases, problems), problems


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")  # unwinds the `with` blocks: servers stop, databases drop


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=int, default=6, help="measured seconds per phase, over all its slices")
    ap.add_argument("--rounds", type=int, default=3, help="slices each phase's time is split into (whole seconds)")
    ap.add_argument("--warmup", type=int, default=1, help="unmeasured seconds of each phase before the first round")
    ap.add_argument("--connections", type=int, default=8, help="wrk -c")
    ap.add_argument("--threads", type=int, default=2, help="wrk -t")
    ap.add_argument("--engines", default="sqlite:1,postgresql:1,postgresql:2", help="ENGINE[:WORKERS],...")
    ap.add_argument("--pg-url", default=DEFAULT_PG, help="PostgreSQL admin URL; a throwaway database is made there")
    ap.add_argument("--out", type=Path, help="replace (or append) each config's section in a Markdown file")
    args = ap.parse_args(argv)
    args.rounds = max(1, min(args.rounds, args.duration))
    if args.duration < 1 or args.duration % args.rounds:
        ap.error("--duration must be a positive multiple of --rounds (wrk runs whole seconds)")
    if args.threads > args.connections:
        ap.error("--threads must not exceed --connections")
    configs = parse_configs(args.engines)
    wrk = find_wrk()
    for sig in (signal.SIGINT, signal.SIGTERM):  # SIGINT too: a shell may start us with it ignored
        signal.signal(sig, _interrupt)
    failed = False
    try:
        with tempfile.TemporaryDirectory(prefix="prefixgate-http-") as tmp:
            for cfg in configs:
                body, problems = run_config(cfg, args, wrk, tmp)
                print(body)
                if problems:
                    failed = True
                    print("\n".join(f"ERROR: {cfg.engine} w{cfg.workers}: {p}" for p in problems), file=sys.stderr)
                elif args.out:
                    write_section(args.out, cfg.key, body)
    except KeyboardInterrupt as exc:
        print(f"bench_http: interrupted ({exc or 'Ctrl-C'}); servers stopped, databases dropped", file=sys.stderr)
        return 130
    if failed:
        print("bench_http: errors above; no section with errors was written", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
