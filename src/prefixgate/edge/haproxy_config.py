"""HAProxy's whole configuration, generated once from the agent's settings (docs/edge.md section 3).

Nothing in it changes while the edge runs: routing lives in the five maps (haproxy_maps.py), which the
runtime API updates in place. Structure of the one frontend:

1. Once per connection (`tcp-request session`, after the PROXY header set `dst` to the address the
   client asked for): Spectrum, edge IP -> slot (spectrum_ip.map), slot*65536+port -> app
   (spectrum_port.map), in one converter chain. Served: track the connection, set-dst/set-dst-port to
   the origin, then one of pp_off/pp_v1/pp_v2. Nothing here reads client data, so server-first
   protocols (SSH) work although the frontend has an inspect-delay. Not served: the edge address is
   kept in session variables (later rules change `dst`, and after the HTTP upgrade every request of a
   keep-alive connection is a new stream of the same session); a port other than 80 and 443 is
   counted and closed.
2. Per stream: port 80 goes to http_route (mode http; HAProxy upgrades the TCP stream), which routes
   each request by its Host; port 443 waits for a ClientHello with SNI (the only rule that reads client
   data, so the only one the inspect-delay applies to) and is passed through to the origin's TLS port.
3. Refusals and HTTP requests are counted in st_outcomes (key `path|reason`, gpc0); served Spectrum and
   TLS connections are counted by HAProxy as sessions of their backends (SERVED_BY_BACKEND), which the
   agent reads beside st_outcomes. Every served connection is tracked in st_conns with key
   `realsrc|edge_ip:port|object_id|hostname` (realsrc: the socket's source; both addresses in hex,
   which HAProxy writes far cheaper than text) so revocation can find it.

What each rule costs was measured (BENCHMARKS.md, "The edge data plane"): hence each converter chain
(a `field()` scan, an address formatted as text) runs once, and later rules test a variable's presence.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from .haproxy_maps import CDN_GRANT, CDN_IP, HOSTNAME, SPECTRUM_IP, SPECTRUM_PORT

__all__ = [
    "CONNS_TABLE",
    "FRONTEND",
    "HAPROXY_BIN",
    "OUTCOMES_TABLE",
    "SERVED_BY_BACKEND",
    "ConfigError",
    "HaproxySettings",
    "check_config",
    "render_config",
]

HAPROXY_BIN: Final = "/usr/sbin/haproxy"
FRONTEND: Final = "edge"
CONNS_TABLE: Final = "st_conns"
OUTCOMES_TABLE: Final = "st_outcomes"
# Outcomes not counted in st_outcomes: every session of these backends is one (HAProxy counts them anyway).
SERVED_BY_BACKEND: Final = {"spectrum|served": ("pp_off", "pp_v1", "pp_v2"), "tls|served": ("tls_pass",)}
_SAFE_PATH: Final = re.compile(r"^[A-Za-z0-9_./+-]+$")


class ConfigError(ValueError):
    """A setting HAProxy's configuration cannot hold, or a configuration `haproxy -c` refuses."""


@dataclass(frozen=True, slots=True)
class HaproxySettings:
    """What the generated configuration depends on.

    Args:
        state_dir: holds haproxy.cfg, haproxy.pid, the stats socket and maps/.
        listen_host, listen_port: the one frontend (`accept-proxy`: every connection starts with PROXY).
        origin_http_port, origin_tls_port: where custom hostnames' origins are reached.
        hello_timeout_s: how long port 443 waits for the ClientHello.
        client_timeout_s: client inactivity before a connection is proxied (the PROXY header: HAProxy 2.6
            has no separate handshake timeout) and while HTTP requests are read.
        server_timeout_s: an HTTP origin's time to answer.
        idle_timeout_s: inactivity of an established TCP connection (Spectrum, TLS passthrough): the
            tunnel timeout, which replaces the two above once both sides are connected.
        conns_table_size, conns_expire_s: st_conns capacity, and how long after it was written a closed
            connection's key is dropped (an open one's stays). Not shorter: with many connections open, a
            1 s or 5 s expiry halved conn/s where 30 s cost a few percent (bench/bench_edge_conns_expiry.py).
        nbthread: HAProxy threads (None: HAProxy's default, one per CPU).
        maxconn: the process's connection limit (None: HAProxy derives it from the file limit).
        master_worker: add `master-worker` (for running the configuration by hand: the supervisor runs
            HAProxy without it and reloads with `-x` and `-sf`).
    """

    state_dir: Path
    listen_host: str = "127.0.0.1"
    listen_port: int = 8443
    origin_http_port: int = 80
    origin_tls_port: int = 443
    connect_timeout_s: float = 5.0
    hello_timeout_s: float = 5.0
    client_timeout_s: float = 30.0
    server_timeout_s: float = 60.0
    idle_timeout_s: float = 600.0
    http_request_timeout_s: float = 10.0
    conns_table_size: int = 1_000_000
    conns_expire_s: float = 30.0
    nbthread: int | None = None
    maxconn: int | None = None
    master_worker: bool = False

    @property
    def maps_dir(self) -> Path:
        return self.state_dir / "maps"

    @property
    def socket_path(self) -> Path:
        return self.state_dir / "haproxy.sock"

    @property
    def config_path(self) -> Path:
        return self.state_dir / "haproxy.cfg"

    @property
    def pid_path(self) -> Path:
        """The running HAProxy's pid and configuration digest (haproxy_process.py)."""
        return self.state_dir / "haproxy.pid"

    def map_path(self, name: str) -> str:
        """The map's identifier on the runtime API: its file path, as the configuration names it."""
        return str(self.maps_dir / name)


def _ms(seconds: float) -> str:
    return f"{max(1, round(seconds * 1000))}ms"


def _bind_address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _validate(s: HaproxySettings) -> None:
    if not _SAFE_PATH.match(str(s.state_dir.resolve())):
        raise ConfigError(f"state dir {s.state_dir} must be a path of letters, digits and ./_+-")
    for name, port in (("listen", s.listen_port), ("origin_http", s.origin_http_port), ("tls", s.origin_tls_port)):
        if not 0 < port < 65536:
            raise ConfigError(f"{name} port {port} is out of range")
    if not re.fullmatch(r"[0-9A-Fa-f.:]+", s.listen_host):
        raise ConfigError(f"listen host {s.listen_host!r} must be an IP address")


def _count(cond: str = "") -> list[str]:
    """Count the outcome in txn.outcome (once per stream: only the first track-sc1 tracks)."""
    suffix = f" {cond}" if cond else ""
    return [
        f"track-sc1 var(txn.outcome) table {OUTCOMES_TABLE}{suffix}",
        f"sc-inc-gpc0(1){suffix}",
    ]


def _cdn_lookup(kind: str, s: HaproxySettings) -> list[str]:
    """Rules (without their `tcp-request content` / `http-request` prefix) that look txn.host up."""
    return [
        f"set-var(txn.h) var(txn.host),map_str({s.map_path(HOSTNAME)})",
        f"set-var(txn.block) var(sess.edge_ip),map_ip({s.map_path(CDN_IP)})",
        'set-var-fmt(txn.gkey) "%[var(txn.block)]|%[var(txn.h),field(2,|)]"',
        f"set-var(txn.outcome) str({kind}|hostname_not_active)",
        f'set-var-fmt(txn.outcome) "{kind}|%[var(txn.h),field(3,|)]" if cdn_known',
        f"set-var(txn.outcome) str({kind}|ip_not_usable) if cdn_hostname_served !cdn_granted",
        'set-var-fmt(txn.ck) "%[fc_src,hex]:%[fc_src_port]|%[var(sess.edge_ip),hex]:%[var(sess.edge_port)]|'
        '%[var(txn.h),field(1,|)]|%[var(txn.host)]" if cdn_served',
    ]


def _cdn_acls(s: HaproxySettings) -> list[str]:
    return [
        "acl cdn_known var(txn.h) -m found",
        "acl cdn_hostname_served var(txn.h),field(3,|) -m str served",
        f"acl cdn_granted var(txn.gkey),map_str({s.map_path(CDN_GRANT)}) -m str 1",
        "acl cdn_served var(txn.outcome) -m end |served",
    ]


def _spectrum_session(s: HaproxySettings) -> list[str]:
    """`tcp-request session` rules: run once per connection, after the PROXY header set `dst`.

    Every Spectrum step is here (nothing reads client data), each converter chain run once: the lookup
    into sess.app, "served" into sess.sp (which the later rules only test for presence), the tracking key,
    the origin. A served connection is counted by its pp_* backend, not here. What Spectrum does not
    serve keeps the edge address in sess.edge_ip (the CDN path reads it, per stream) or, on a port that
    is neither 80 nor 443, is counted by its reason and closed.
    """
    return [
        "set-var(sess.edge_port) dst_port",
        f"set-var(sess.app) dst,map_ip({s.map_path(SPECTRUM_IP)},0),mul(65536),add(sess.edge_port),"
        f"map_int({s.map_path(SPECTRUM_PORT)})",
        "set-var(sess.sp) bool(1) if { var(sess.app),field(2,|) -m str served }",
        'set-var-fmt(sess.ck) "%[fc_src,hex]:%[fc_src_port]|%[dst,hex]:%[dst_port]|'
        '%[var(sess.app),field(1,|)]|" if sp_served',
        f"track-sc0 var(sess.ck) table {CONNS_TABLE} if sp_served",
        "set-dst var(sess.app),field(3,|) if sp_served",
        "set-dst-port var(sess.app),field(4,|),add(sess.edge_port) if sp_served",
        "accept if sp_served",
        "set-var(sess.edge_ip) dst",
        "accept if is_http || is_tls",
        "set-var(sess.outcome) str(tcp|no_app)",
        'set-var-fmt(sess.outcome) "tcp|%[var(sess.app),field(2,|)]" if { var(sess.app) -m found }',
        f"track-sc1 var(sess.outcome) table {OUTCOMES_TABLE}",
        "sc-inc-gpc0(1)",
        "reject",
    ]


def _frontend(s: HaproxySettings) -> list[str]:
    rules = [
        "accept if sp_served",
        # HTTP: routed request by request in http_route
        "accept if is_http",
        # TLS (every other port was closed by the session rules): the one rule that waits for client data
        "set-var(txn.outcome) str(tls|no_sni) if !has_sni",
        *_count("if !has_sni"),
        "reject if !has_sni",
        "set-var(txn.host) req.ssl_sni,lower",
        *_cdn_lookup("tls", s),
        *_count("unless cdn_served"),  # served: counted by tls_pass
        "reject unless cdn_served",
        f"track-sc0 var(txn.ck) table {CONNS_TABLE}",
        "set-dst var(txn.h),field(4,|)",
        f"set-dst-port int({s.origin_tls_port})",
    ]
    return [
        f"frontend {FRONTEND}",
        "    mode tcp",
        f"    bind {_bind_address(s.listen_host, s.listen_port)} accept-proxy",
        f"    tcp-request inspect-delay {_ms(s.hello_timeout_s)}",
        "    acl sp_served var(sess.sp) -m found",
        "    acl is_http var(sess.edge_port) -m int 80",
        "    acl is_tls var(sess.edge_port) -m int 443",
        "    acl has_sni req.ssl_sni -m found",
        *(f"    {a}" for a in _cdn_acls(s)),
        *(f"    tcp-request session {r}" for r in _spectrum_session(s)),
        *(f"    tcp-request content {r}" for r in rules),
        # `-m end |off`: the value's last field is exactly off (cheaper than extracting it with field()).
        # Most apps send no PROXY header, so their rule comes first: one test instead of three.
        "    use_backend pp_off if sp_served { var(sess.app) -m end |off }",
        "    use_backend pp_v1 if sp_served { var(sess.app) -m end |v1 }",
        "    use_backend pp_v2 if sp_served { var(sess.app) -m end |v2 }",
        "    use_backend http_route if is_http",
        "    use_backend tls_pass if is_tls",
    ]


def _http_backend(s: HaproxySettings) -> list[str]:
    rules = [
        "set-var(txn.host) req.hdr(host,1),field(1,:),lower",
        *_cdn_lookup("http", s),
        "set-var(txn.outcome) str(http|bad_host) unless one_host",
        *_count(),
        'return status 400 content-type text/plain string "Bad Request\\n" unless one_host',
        'return status 421 content-type text/plain string "Misdirected Request\\n" unless cdn_served',
        f"track-sc0 var(txn.ck) table {CONNS_TABLE}",
        "set-dst var(txn.h),field(4,|)",
        f"set-dst-port int({s.origin_http_port})",
    ]
    return [
        "backend http_route",
        "    mode http",
        "    option forwardfor",
        "    acl one_host req.hdr_cnt(host) eq 1",
        *(f"    {a}" for a in _cdn_acls(s)),
        *(f"    http-request {r}" for r in rules),
        "    server any 0.0.0.0:0",
    ]


def render_config(s: HaproxySettings) -> str:
    """The whole haproxy.cfg for these settings.

    Raises:
        ConfigError: a path or address the configuration cannot hold.
    """
    _validate(s)
    lines = [
        "# Generated by prefixgate's edge agent; routing is in maps/, changed through the runtime API.",
        "global",
        *(["    master-worker"] if s.master_worker else []),
        # expose-fd: a new HAProxy started with -x takes the listening sockets over (seamless reload)
        f"    stats socket {s.socket_path} mode 600 level admin expose-fd listeners",
        "    stats timeout 2m",
        # A second HAProxy cannot bind the port beside a running one (and share its connections unseen):
        # it fails, or takes the sockets over with -x.
        "    noreuseport",
        *([f"    maxconn {s.maxconn}"] if s.maxconn else []),
        *([f"    nbthread {s.nbthread}"] if s.nbthread else []),
        "",
        "defaults",
        "    mode tcp",
        f"    timeout connect {_ms(s.connect_timeout_s)}",
        f"    timeout client {_ms(s.client_timeout_s)}",
        f"    timeout server {_ms(s.server_timeout_s)}",
        f"    timeout tunnel {_ms(s.idle_timeout_s)}",
        f"    timeout http-request {_ms(s.http_request_timeout_s)}",
        f"    timeout http-keep-alive {_ms(s.http_request_timeout_s)}",
        "",
        f"backend {CONNS_TABLE}",
        f"    stick-table type string len 432 size {s.conns_table_size} expire {_ms(s.conns_expire_s)} store gpt0",
        "",
        f"backend {OUTCOMES_TABLE}",
        "    stick-table type string len 64 size 1k store gpc0",
        "",
        *_frontend(s),
        "",
        "backend pp_off",
        "    server any 0.0.0.0:0",
        "",
        "backend pp_v1",
        "    server any 0.0.0.0:0 send-proxy",
        "",
        "backend pp_v2",
        "    server any 0.0.0.0:0 send-proxy-v2",
        "",
        "backend tls_pass",
        "    server any 0.0.0.0:0",
        "",
        *_http_backend(s),
        "",
    ]
    return "\n".join(lines)


def check_config(path: Path, haproxy_bin: str = HAPROXY_BIN, extra: Sequence[str] = ()) -> None:
    """Run `haproxy -c` on the file.

    Raises:
        ConfigError: HAProxy refuses it (its messages included).
    """
    proc = subprocess.run(  # noqa: S603 - fixed binary, our own file
        [haproxy_bin, "-c", "-f", str(path), *extra], capture_output=True, text=True, timeout=30, check=False
    )
    if proc.returncode != 0:
        raise ConfigError(f"haproxy -c refused {path}: {(proc.stdout + proc.stderr).strip()}")
