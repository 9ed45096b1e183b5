"""Markdown for bench_edge_proxy.py's three sections (throughput, scale, propagation)."""

from __future__ import annotations

import math
import subprocess
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from _common import table
from _tcpload import Load, median

TARGETS = ("direct", "edge", "static")
_LABEL = {
    "direct": "direct to the origin",
    "edge": "through `prefixgate edge`",
    "static": "through a static HAProxy",
}


def _haproxy_version() -> str:
    out = subprocess.run(["/usr/sbin/haproxy", "-v"], capture_output=True, text=True, check=False).stdout
    return " ".join(out.split()[:3]) if out else "HAProxy (version unknown)"


def _head(title: str, meta: Mapping[str, str], extra: str = "") -> list[str]:
    return [
        f"## {title}",
        "",
        f"- Command: `{meta['command']}`",
        f"- Code: prefixgate {meta['code']}",
        f"- Machine: {meta['nproc']} CPUs ({meta['cpu']}), {meta['os']}, Python {meta['python']}{extra}",
        f"- Date: {meta['date']}; the machine is shared with other work and noisy.",
    ]


def _spread(xs: Sequence[float], fmt: str) -> str:
    return f"{format(median(list(xs)), fmt)} ({format(min(xs), fmt)}-{format(max(xs), fmt)})"


def _ratios(a: Sequence[Load], b: Sequence[Load], fn: Callable[[Load], float]) -> list[float]:
    return [fn(x) / fn(y) for x, y in zip(a, b, strict=True) if fn(y)]


def throughput_section(result: Mapping[str, Any], meta: Mapping[str, str]) -> str:
    loads: dict[str, dict[str, list[Load]]] = result["loads"]
    conn, stream = loads["conn"], loads["stream"]
    lines = _head(
        "Edge data plane: raw TCP through `prefixgate edge` and through a static HAProxy",
        meta,
        f", {_haproxy_version()}",
    )
    lines += [
        f"- Load: bench/tcpload.c, 2 client processes; conn/s: 16 connections in flight per process, each opened,"
        " sent the PROXY v2 header (naming 1.2.3.4:22; none when direct) and 64 bytes in one write, echoed, closed"
        " by the origin (so no side runs out of loopback ephemeral ports), then by the client; MB/s (app"
        " 1.2.3.4:23): 2 long connections per process streaming 64 KiB chunks (at most 256 KiB unanswered),"
        f" counted as bytes echoed back. {result['rounds']} rounds of {result['seconds']:g} s per measurement, the"
        " targets in a rotating order; medians (min-max over the rounds). One single-threaded C echo origin for all.",
        "- CPU: user+system seconds from /proc over each measurement window, per connection (conn/s) or per MB"
        " echoed (MB/s): HAProxy's, the echo origin's, and the client processes' together.",
        "",
    ]
    rows = []
    for t in TARGETS:
        c, s = conn[t], stream[t]
        merged = Load("conn", 1.0)
        for x in c:
            merged.hist.update(x.hist)
        haproxy_c = "-" if t == "direct" else f"{median([x.cpu_per_unit('haproxy') for x in c]):.1f}"
        haproxy_s = "-" if t == "direct" else f"{median([x.cpu_per_unit('haproxy') for x in s]):.0f}"
        rows.append(
            [
                _LABEL[t],
                _spread([x.conns_per_s for x in c], ",.0f"),
                f"{merged.pct_us(50):,.0f} / {merged.pct_us(99):,.0f}",
                f"{haproxy_c} / {median([x.cpu_per_unit('origin') for x in c]):.1f}"
                f" / {median([x.cpu_per_unit('client') for x in c]):.1f}",
                _spread([x.mb_per_s for x in s], ",.0f"),
                f"{haproxy_s} / {median([x.cpu_per_unit('origin') for x in s]):.0f}",
                str(sum(x.errors for x in c) + sum(x.errors for x in s)),
            ]
        )
    lines.append(
        table(
            [
                "Target",
                "conn/s",
                "open-to-echo p50 / p99 µs",
                "CPU µs/conn: HAProxy / origin / client",
                "MB/s",
                "CPU µs/MB: HAProxy / origin",
                "Errors",
            ],
            rows,
        )
    )
    lines.append("")
    ratio_rows = []
    for a, b in (("edge", "static"), ("edge", "direct"), ("static", "direct")):
        r = [
            _spread(_ratios(conn[a], conn[b], lambda x: x.conns_per_s), ".2f"),
            _spread(_ratios(stream[a], stream[b], lambda x: x.mb_per_s), ".2f"),
        ]
        if b == "static":
            r.append(_spread(_ratios(conn[a], conn[b], lambda x: x.cpu_per_unit("haproxy")), ".2f"))
            r.append(_spread(_ratios(stream[a], stream[b], lambda x: x.cpu_per_unit("haproxy")), ".2f"))
        else:
            r += ["", ""]
        ratio_rows.append([f"{a} / {b}", *r])
    lines.append(
        table(
            ["Ratio, per round: median (min-max)", "conn/s", "MB/s", "HAProxy CPU per conn", "HAProxy CPU per MB"],
            ratio_rows,
        )
    )
    cost_c = 1 - median(_ratios(conn["edge"], conn["static"], lambda x: x.conns_per_s))
    cost_s = 1 - median(_ratios(stream["edge"], stream["static"], lambda x: x.mb_per_s))
    before, after = result["rss_before"], result["rss_after"]
    lines += [
        "",
        f"Cost of the edge against the static HAProxy (target: at most 10 %): **{100 * cost_c:.0f} % of conn/s**,"
        f" **{100 * cost_s:.0f} % of MB/s** (medians of the per-round ratios).",
        f"HAProxy RSS before / after the rounds: edge {before['edge'] / 1024:.0f} / {after['edge'] / 1024:.0f} MiB"
        f" (st_conns keeps a key per connection for 30 s), static {before['static'] / 1024:.0f} /"
        f" {after['static'] / 1024:.0f} MiB.",
    ]
    return "\n".join(lines)


def _ms(xs: Sequence[float], q: float) -> str:
    finite = sorted(x for x in xs if math.isfinite(x))
    if not finite:
        return "-"
    rank = min(len(finite) - 1, max(0, math.ceil(q / 100 * len(finite)) - 1))
    return f"{1000 * finite[rank]:.1f}"


def propagation_section(delays: Mapping[tuple[str, str], list[tuple[str, float]]], meta: Mapping[str, str]) -> str:
    lines = _head("Edge propagation: a committed change until the edge serves it", meta)
    lines += [
        "- Each change is a Spectrum app on 1.2.3.4 created (a new port each time) or deleted again through the"
        " service layer; the clock starts when the call returns (committed) and stops when a connection through"
        " the edge, opened every ~1 ms, first gets the new answer (echoed / closed). 5-30 ms between changes."
        " Control plane: one `prefixgate serve` worker; edge: one `prefixgate edge`. State: the docs' scene, and"
        " with more delegations and apps bulk-loaded into other prefixes (bench/_edge_data.py), which every change"
        " recompiles.",
        "",
    ]
    rows = []
    for (engine, label), got in delays.items():
        every = [d for _, d in got]
        created = [d for k, d in got if k == "create"]
        deleted = [d for k, d in got if k == "delete"]
        rows.append(
            [
                engine,
                label,
                str(len(got)),
                f"**{_ms(every, 50)}**",
                _ms(every, 90),
                f"**{_ms(every, 99)}**",
                _ms(every, 100),
                f"{_ms(created, 50)} / {_ms(created, 99)}",
                f"{_ms(deleted, 50)} / {_ms(deleted, 99)}",
                str(sum(not math.isfinite(d) for d in every)),
            ]
        )
    header = ["Control plane", "State", "Changes", "p50 ms", "p90 ms", "p99 ms (target 100)", "max ms",
              "create p50 / p99", "delete p50 / p99", "Not seen in 10 s"]  # fmt: skip
    lines.append(table(header, rows))
    return "\n".join(lines)


def _s(x: float) -> str:
    return f"{x:.2f}" if x < 10 else f"{x:.1f}"


def scale_section(steps: Sequence[Mapping[str, Any]], meta: Mapping[str, str]) -> str:
    lines = _head("Edge table at scale: compile, maps, HAProxy load", meta, f", {_haproxy_version()}")
    lines += [
        "- State built directly (bench/_edge_state.py; no database); one process per size (bench/_edge_scale.py)."
        " Times in seconds: for work in the Python process, its CPU time and (in brackets) the wall time, which"
        " other work on the machine inflates; for HAProxy's steps, wall time. RSS from /proc; tracemalloc only"
        " where asked (it slows Python 2-3x).",
        "",
    ]
    cols = [f"scale {s['scale']:g}" for s in steps]

    def row(label: str, fn: Callable[[Mapping[str, Any]], str]) -> list[str]:
        return [label, *(fn(s) for s in steps)]

    def t(key: str) -> Callable[[Mapping[str, Any]], str]:  # wall time (of HAProxy's work, mostly)
        return lambda s: _s(s["times"][key]) if key in s["times"] else "-"

    def c(key: str) -> Callable[[Mapping[str, Any]], str]:  # CPU (wall) of work done in the Python process
        return lambda s: f"{_s(s['times'][key + '_cpu'])} ({_s(s['times'][key])})" if key in s["times"] else "-"

    def m(key: str) -> Callable[[Mapping[str, Any]], str]:
        return lambda s: f"{s['memory'][key]:.0f}" if key in s["memory"] else "-"

    def h(key: str) -> Callable[[Mapping[str, Any]], str]:
        return lambda s: f"{s['haproxy'][key]:.0f}" if "haproxy" in s else "-"

    rows = [
        row(
            "State: prefixes / delegations / apps / hostnames",
            lambda s: " / ".join(f"{s['rows'][k]:,}" for k in ("prefix", "delegation", "app", "hostname")),
        ),
        row(
            "Map entries: spectrum_ip / spectrum_port / cdn_ip / cdn_grant / hostname",
            lambda s: " / ".join(f"{n:,}" for n in s["entries"].values()),
        ),
        row("Build the state (s)", c("build_s")),
        row("**compile_table (s)**", c("compile_s")),
        row("**render_maps (s)**", c("render_s")),
        row(
            "RSS of the state; peak / kept above it during compile+render (MiB)",
            lambda s: (
                f"{s['memory']['rss_state_mib']:.0f}; {s['memory']['peak_extra_mib']:.0f} /"
                f" {s['memory']['kept_extra_mib']:.0f}"
            ),
        ),
        row(
            "tracemalloc peak: compile / render; kept: table+maps (MiB)",
            lambda s: (
                f"{m('traced_compile_peak_mib')(s)} / {m('traced_render_peak_mib')(s)}; {m('traced_kept_mib')(s)}"
            ),
        ),
        row("One revoking change, compiled whole: apply_changes (s)", c("change_apply_s")),
        row("... compile_table (s)", c("change_compile_s")),
        row("... render_maps with the previous maps (s)", c("change_render_s")),
        row("... plan_changes (s); steps", lambda s: f"{c('change_plan_s')(s)}; {len(s['change_steps'])}"),
        *(
            row(
                f"**{label}, as the agent installs it**: update_table / update_maps / plan_changes (s); steps",
                lambda s, k=key: (
                    f"{c(f'incr_{k}_table_s')(s)} / {c(f'incr_{k}_maps_s')(s)} / {c(f'incr_{k}_plan_s')(s)};"
                    f" {s.get('incremental', {}).get(f'{k}_steps', '-')}"
                ),
            )
            for key, label in (
                ("revoke", "The same revocation"),
                ("app", "An app created"),
                ("hostname", "A hostname added"),
            )
        ),
        row(
            "Save the state (StateStore: JSON + fsync) (s); file MiB",
            lambda s: f"{c('save_s')(s)}; {s['state_file_mib']:.0f}",
        ),
        row("Read it back (StateStore.load: JSON, checksum, rows) (s)", c("load_s")),
        row(
            "HAProxy, maps as files: write (s); MiB on disk",
            lambda s: f"{t('files_write_s')(s)}; {h('map_files_mib')(s)}",
        ),
        row("... `haproxy -c` (s)", t("files_check_s")),
        row("... **HaproxySupervisor.start (s)** (write, -c, start, API answers)", t("files_start_s")),
        row("... RSS (MiB)", h("rss_files_mib")),
        row("HAProxy, empty maps: start (s); RSS (MiB)", lambda s: f"{t('empty_start_s')(s)}; {h('rss_empty_mib')(s)}"),
        row(
            "... **runtime API load, apply_full (s)**; RSS after (MiB)",
            lambda s: f"{t('runtime_load_s')(s)}; {h('rss_loaded_mib')(s)}",
        ),
        row("... read back, show map x5 (s)", t("runtime_read_s")),
        row("... the one change live, apply_diff (s)", t("runtime_diff_s")),
        row("Wall time of the step (s)", lambda s: f"{s['wall_s']:.0f}"),
    ]
    lines.append(table(["", *cols], rows))
    return "\n".join(lines)
