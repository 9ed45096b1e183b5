"""Spectrum apps: L4 proxies on edge IPs and ports. Parsing, validation and the serving decision."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from datetime import datetime

from .bindings import SPECTRUM, Binding, service_problem
from .codes import Code
from .errors import InvalidInput
from .model import IpAccess
from .net import IPAddress, parse_ip

__all__ = [
    "CONNECTIVITIES",
    "PROXY_PROTOCOLS",
    "TLS_MODES",
    "TRAFFIC_TYPES",
    "EdgeIps",
    "OriginDns",
    "PortRange",
    "Protocol",
    "Resolution",
    "SpectrumApp",
    "check_option",
    "edge_ip_problem",
    "parse_origin_direct",
    "parse_origin_port",
    "parse_protocol",
    "parse_static_ips",
    "resolve_connection",
]

TRANSPORTS = ("tcp", "udp")
TRAFFIC_TYPES = ("direct", "http", "https")
PROXY_PROTOCOLS = ("off", "v1", "v2", "simple")
TLS_MODES = ("off", "flexible", "full", "strict")
CONNECTIVITIES = ("all", "ipv4", "ipv6")
MAX_STATIC_IPS = 16
_PORTS = re.compile(r"(0|[1-9][0-9]{0,4})(?:-(0|[1-9][0-9]{0,4}))?")  # canonical: no leading zeros


@dataclass(frozen=True, slots=True)
class PortRange:
    start: int
    end: int

    @property
    def size(self) -> int:
        return self.end - self.start + 1

    def overlaps(self, other: PortRange) -> bool:
        return self.start <= other.end and other.start <= self.end

    def __contains__(self, port: object) -> bool:
        return isinstance(port, int) and self.start <= port <= self.end

    def __str__(self) -> str:
        return str(self.start) if self.start == self.end else f"{self.start}-{self.end}"


def _ports(text: str, what: str, code: Code) -> PortRange:
    m = _PORTS.fullmatch(text)
    if not m:
        raise InvalidInput(f"{what} {text!r} must be a port (1-65535) or a range like 1000-2000", code=code)
    start = int(m.group(1))
    end = int(m.group(2)) if m.group(2) else start
    if not (1 <= start <= 65535 and 1 <= end <= 65535):
        raise InvalidInput(f"{what} {text!r}: ports must be between 1 and 65535", code=code)
    if end < start:
        raise InvalidInput(f"{what} {text!r}: the range ends before it starts", code=code)
    return PortRange(start, end)


@dataclass(frozen=True, slots=True)
class Protocol:
    transport: str
    ports: PortRange

    def __str__(self) -> str:
        return f"{self.transport}/{self.ports}"


def parse_protocol(text: str) -> Protocol:
    """Parse `tcp/22`, `udp/53` or `tcp/1000-2000`.

    Raises:
        InvalidInput: unknown transport (e.g. icmp/1), port 0 or above 65535, a reversed range.
    """
    transport, slash, ports = text.partition("/")
    if not slash or transport not in TRANSPORTS:
        raise InvalidInput(
            f"protocol {text!r} must be tcp/<port> or udp/<port>, e.g. tcp/22 or tcp/1000-2000",
            code=Code.INVALID_PROTOCOL,
        )
    return Protocol(transport, _ports(ports, "protocol", Code.INVALID_PROTOCOL))


def check_option(what: str, value: str, allowed: tuple[str, ...]) -> str:
    """Return `value` if it is one of `allowed` (e.g. proxy_protocol among PROXY_PROTOCOLS).

    Raises:
        InvalidInput: any other value, quoted.
    """
    if value not in allowed:
        raise InvalidInput(f"{what} must be one of {', '.join(allowed)}, not {value!r}", code=Code.INVALID_FIELD)
    return value


def parse_origin_port(value: int | str, protocol: Protocol) -> PortRange:
    """Parse origin_port (an integer or "1000-2000"); a range must have as many ports as the protocol's."""
    ports = PortRange(value, value) if isinstance(value, int) else _ports(value, "origin_port", Code.INVALID_ORIGIN)
    if isinstance(value, int) and not 1 <= value <= 65535:
        raise InvalidInput(f"origin_port {value} must be between 1 and 65535", code=Code.INVALID_ORIGIN)
    if ports.size != protocol.ports.size:
        raise InvalidInput(
            f"origin_port {ports} has {ports.size} port(s) but protocol {protocol} has {protocol.ports.size}; "
            "the sizes must match",
            code=Code.INVALID_ORIGIN,
        )
    return ports


_ORIGIN_URI = re.compile(r"^(tcp|udp)://(\[[0-9a-fA-F:.]+\]|[0-9.]+):([0-9]{1,5})$")


def parse_origin_direct(uris: list[str], protocol: Protocol) -> tuple[str, ...]:
    """Validate `origin_direct` entries such as `tcp://192.0.2.1:22` or `udp://[2001:db8::1]:53`."""
    if not uris or len(uris) > MAX_STATIC_IPS:
        raise InvalidInput(f"origin_direct must list 1 to {MAX_STATIC_IPS} origins", code=Code.INVALID_ORIGIN)
    out = []
    for uri in uris:
        m = _ORIGIN_URI.fullmatch(uri)
        if not m:
            raise InvalidInput(
                f"origin_direct entry {uri!r} must look like {protocol.transport}://192.0.2.1:22",
                code=Code.INVALID_ORIGIN,
            )
        if m.group(1) != protocol.transport:
            raise InvalidInput(
                f"origin_direct entry {uri!r} uses {m.group(1)} but the protocol is {protocol}",
                code=Code.INVALID_ORIGIN,
            )
        try:
            ipaddress.ip_address(m.group(2).strip("[]"))
        except ValueError:
            raise InvalidInput(
                f"origin_direct entry {uri!r} has no valid IP address", code=Code.INVALID_ORIGIN
            ) from None
        if not 1 <= int(m.group(3)) <= 65535:
            raise InvalidInput(f"origin_direct entry {uri!r} has an invalid port", code=Code.INVALID_ORIGIN)
        out.append(uri)
    return tuple(out)


def parse_static_ips(values: list[str]) -> tuple[IPAddress, ...]:
    """Parse static edge IPs: 1 to 16 distinct canonical addresses."""
    if not values or len(values) > MAX_STATIC_IPS:
        raise InvalidInput(f"edge_ips.ips must list 1 to {MAX_STATIC_IPS} addresses", code=Code.INVALID_EDGE_IPS)
    ips = tuple(parse_ip(v, what="edge_ips.ips entry") for v in values)
    if len(set(ips)) != len(ips):
        dupes = sorted({str(ip) for ip in ips if ips.count(ip) > 1})
        raise InvalidInput(f"edge_ips.ips lists {', '.join(dupes)} more than once", code=Code.INVALID_EDGE_IPS)
    return ips


@dataclass(frozen=True, slots=True)
class EdgeIps:
    type: str  # "dynamic" | "static"
    connectivity: str | None = None  # dynamic only: "all" | "ipv4" | "ipv6"
    ips: tuple[IPAddress, ...] = ()


@dataclass(frozen=True, slots=True)
class OriginDns:
    name: str
    type: str = ""  # "", "A", "AAAA", "SRV"
    ttl: int | None = None


@dataclass(frozen=True, slots=True)
class SpectrumApp:
    id: str
    zone_id: str
    account_id: str
    dns_type: str  # "CNAME" | "ADDRESS"
    dns_name: str
    protocol: Protocol
    traffic_type: str
    edge_ips: EdgeIps
    origin_direct: tuple[str, ...]
    origin_dns: OriginDns | None
    origin_port: PortRange | None
    proxy_protocol: str
    ip_firewall: bool
    tls: str | None
    argo_smart_routing: bool
    created_on: datetime
    modified_on: datetime
    status: str = "active"  # "active" | "blocked"
    blocked_reason: str | None = None

    @property
    def origin(self) -> str:
        if self.origin_dns is not None:
            return f"{self.origin_dns.name}:{self.origin_port}"
        return ",".join(self.origin_direct)


def edge_ip_problem(ip: IPAddress, access: IpAccess, binding: Binding | None) -> tuple[str, str] | None:
    """Why an account may not put a Spectrum app on `ip`, as (reason code, message); None when it may."""
    return service_problem(ip, access, binding, SPECTRUM)


@dataclass(frozen=True, slots=True)
class Resolution:
    """The data plane's decision. `kind` names what serves (or would serve) the request:
    "spectrum_app" or "custom_hostname" (then `object_id`, `account_id`, `zone_id` and `origin` say which)."""

    served: bool
    reason: str
    message: str
    app: SpectrumApp | None = None
    kind: str | None = None
    object_id: str | None = None
    account_id: str | None = None
    zone_id: str | None = None
    origin: str | None = None


def resolve_connection(
    ip: IPAddress,
    protocol: Protocol,
    app: SpectrumApp | None,
    problem: tuple[str, str] | None,
    *,
    zone_paused: bool = False,
) -> Resolution:
    """Who receives a connection to (ip, protocol): the data plane's decision.

    Args:
        app: the app claiming (ip, transport, port), if any.
        problem: edge_ip_problem for that app's account at `ip`, computed now.
        zone_paused: the app's zone is paused, so Cloudflare-style proxying is off for it.
    """
    where = f"{protocol.transport}/{protocol.ports.start} on {ip}"
    if app is None:
        return Resolution(False, "no_app", f"no Spectrum app listens on {where}")
    if app.status == "blocked":
        return Resolution(False, "app_blocked", f"app {app.id} is blocked: {app.blocked_reason}", app)
    if zone_paused:
        return Resolution(False, "zone_paused", f"app {app.id} is not served: zone {app.zone_id} is paused", app)
    if problem is not None:
        return Resolution(False, problem[0], f"app {app.id} is not served: {problem[1]}", app)
    return Resolution(True, "served", f"app {app.id} of account {app.account_id} receives {where}", app)
