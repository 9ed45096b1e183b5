"""Random control-plane states for the edge compiler's tests, and an independent reference.

The states are small but dense: a few IPv4 /24 and IPv6 /48 prefixes (some unapproved), delegations and
bindings anchored on a shared pool of addresses so they nest, overlap, override each other and sit on
each other's edges, apps whose port ranges overlap (active and blocked, in paused zones or not),
hostnames with and without origins. Queries are drawn from the same pool, from every range's edges and
their neighbours, and from outside every prefix.

The reference answers a query the way `service.edge.resolve` does, with the domain's own functions
(`decide_ip_access`, `effective_binding`, `service_problem`, `resolve_connection`, `resolve_request`)
over plain lists (a linear scan where the database has an index), and `resolution_record` to say what
an answer shows.
"""

from __future__ import annotations

import contextlib
import ipaddress
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from hypothesis import strategies as st

from prefixgate.domain.bindings import (
    CDN,
    MAGIC_TRANSIT,
    SERVICES,
    SPECTRUM,
    Binding,
    effective_binding,
    service_by_id,
    service_problem,
)
from prefixgate.domain.dnsname import parse_hostname
from prefixgate.domain.errors import InvalidInput
from prefixgate.domain.hostnames import CustomHostname, SslRequest, resolve_request
from prefixgate.domain.model import Delegation, Prefix, ReceivedDelegation
from prefixgate.domain.net import IPAddress, IPNetwork
from prefixgate.domain.rules import decide_ip_access
from prefixgate.domain.spectrum import (
    EdgeIps,
    OriginDns,
    PortRange,
    SpectrumApp,
    parse_protocol,
    resolve_connection,
)
from prefixgate.edge.state import (
    KINDS,
    AppRow,
    BindingRow,
    DelegationRow,
    EdgeState,
    FallbackOriginRow,
    HostnameRow,
    PrefixRow,
    ZoneRow,
)
from prefixgate.edge.table import Answer
from prefixgate.service.records import resolution_record

ACCOUNTS = ("acct-a", "acct-b", "acct-c", "acct-d")
PREFIX_SLOTS: tuple[IPNetwork, ...] = (
    ipaddress.ip_network("203.0.113.0/24"),
    ipaddress.ip_network("198.51.100.0/24"),
    ipaddress.ip_network("198.51.101.0/24"),  # adjacent to the one before
    ipaddress.ip_network("2001:db8:1::/48"),
    ipaddress.ip_network("2001:db8:2::/48"),
)
OUTSIDE = tuple(ipaddress.ip_address(a) for a in ("192.0.2.9", "203.0.114.0", "2001:db8:3::1", "::1"))
_OFFSETS = (0, 1, 5, 63, 64, 100, 127, 128, 129, 200, 255, 1 << 16, 1 << 64, (1 << 79) + 3)
_LENGTHS = {4: (24, 25, 26, 27, 28, 30, 31, 32), 6: (48, 49, 56, 64, 96, 120, 126, 127, 128)}
PORT_CHOICES = ((22, 22), (80, 80), (443, 443), (20, 25), (1000, 1010), (1005, 1020), (1010, 1010), (1, 65535))
ORIGIN_NAMES = ("origin1.example.net", "origin2.example.net", "fallback.example.com", "fb2.example.com")
HOST_NAMES = ("www.example.com", "shop.example.net", "api.example.org", "a.b.example.com", "xn--bcher-kva.example")
BASE_TIME = datetime(2026, 12, 1, tzinfo=UTC)


def anchors(net: IPNetwork) -> list[IPAddress]:
    """Addresses inside `net` that ranges start at and queries probe: its ends and a few in between."""
    out = [net.network_address + o for o in _OFFSETS if o < net.num_addresses]
    out.append(net.broadcast_address)
    return sorted(set(out))


def _sub(draw: st.DrawFn, net: IPNetwork) -> IPNetwork:
    anchor = draw(st.sampled_from(anchors(net)))
    length = draw(st.sampled_from([n for n in _LENGTHS[net.version] if n >= net.prefixlen]))
    return ipaddress.ip_network((anchor, length), strict=False)


@st.composite
def states(draw: st.DrawFn) -> EdgeState:
    nets = draw(st.lists(st.sampled_from(PREFIX_SLOTS), min_size=1, max_size=len(PREFIX_SLOTS), unique=True))
    prefixes = [
        PrefixRow(f"p{i}", draw(st.sampled_from(ACCOUNTS)), net, draw(st.integers(0, 3)) > 0)
        for i, net in enumerate(nets)
    ]
    delegations = []
    for i in range(draw(st.integers(0, 10))):
        p = draw(st.sampled_from(prefixes))
        delegations.append(DelegationRow(f"d{i}", p.id, _sub(draw, p.cidr), draw(st.sampled_from(ACCOUNTS))))
    bindings = []
    for p in prefixes:
        cidrs = [p.cidr] if draw(st.integers(0, 9)) else []
        cidrs += [_sub(draw, p.cidr) for _ in range(draw(st.integers(0, 4)))]
        for cidr in dict.fromkeys(cidrs):
            service = draw(st.sampled_from((SPECTRUM, CDN, CDN, SPECTRUM, MAGIC_TRANSIT)))
            bindings.append(BindingRow(f"b{len(bindings)}", p.id, cidr, service.id))
    zones = [ZoneRow(f"z{i}-{a}", a, draw(st.integers(0, 5)) == 0) for a in ACCOUNTS for i in (1, 2)]
    partial = EdgeState.of(0, [*prefixes, *delegations])
    pool = [ip for p in prefixes for ip in anchors(p.cidr)] + list(OUTSIDE)
    apps = []
    for i in range(draw(st.integers(0, 10))):
        zone = draw(st.sampled_from(zones))
        mine = probe_ips_for(partial, zone.account_id)
        apps.append(_app(draw, i, zone, mine if mine and draw(st.integers(0, 3)) else pool))
    names = draw(st.lists(st.sampled_from(HOST_NAMES), max_size=len(HOST_NAMES), unique=True))
    hostnames = []
    for i, name in enumerate(names):
        zone = draw(st.sampled_from(zones))
        custom = draw(st.one_of(st.none(), st.sampled_from(ORIGIN_NAMES[:2])))
        hostnames.append(HostnameRow(f"00000000-0000-4000-8000-{i:012d}", zone.id, zone.account_id, name, custom))
    fallbacks = [FallbackOriginRow(z.id, draw(st.sampled_from(ORIGIN_NAMES[2:]))) for z in zones if draw(st.booleans())]
    return EdgeState.of(
        draw(st.integers(0, 99)), [*prefixes, *delegations, *bindings, *zones, *apps, *hostnames, *fallbacks]
    )


@st.composite
def evolved(draw: st.DrawFn, state: EdgeState) -> EdgeState:
    """`state` after one to three changes, as the change feed brings them: a row of some kind dropped,
    edited (replaced by another random state's row of the same id) or added from that state."""
    other = draw(states())
    tables = {kind: dict(state.table(kind)) for kind in KINDS}
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(KINDS))
        mine, theirs = tables[kind], other.table(kind)
        keys = sorted(set(mine) | set(theirs))
        if not keys:
            continue
        key = draw(st.sampled_from(keys))
        if key in theirs and (key not in mine or draw(st.booleans())):
            mine[key] = theirs[key]
        else:
            mine.pop(key, None)
    rows = [row for kind in KINDS for row in tables[kind].values()]
    cidrs: set[object] = set()
    names: set[str] = set()
    kept: list[object] = []
    for row in rows:  # prefixes never overlap, and a name is active once
        if isinstance(row, PrefixRow):
            if row.cidr in cidrs:
                continue
            cidrs.add(row.cidr)
        if isinstance(row, HostnameRow):
            if row.hostname in names:
                continue
            names.add(row.hostname)
        kept.append(row)
    return EdgeState.of(state.revision + 1, kept)  # type: ignore[arg-type]


def _app(draw: st.DrawFn, i: int, zone: ZoneRow, pool: Sequence[IPAddress]) -> AppRow:
    transport = draw(st.sampled_from(("tcp", "tcp", "tcp", "udp")))
    start, end = draw(st.sampled_from(PORT_CHOICES))
    protocol = f"{transport}/{start}" if start == end else f"{transport}/{start}-{end}"
    ips = tuple(draw(st.lists(st.sampled_from(pool), max_size=3, unique=True)))
    direct: tuple[str, ...] = ()
    dns_name = origin_port = None
    if draw(st.booleans()):
        dns_name = draw(st.sampled_from(ORIGIN_NAMES[:2]))
        first = draw(st.integers(1, 65536 - (end - start + 1)))
        last = first + end - start
        origin_port = str(first) if first == last else f"{first}-{last}"
    else:
        port = draw(st.integers(1, 65535))
        host = draw(st.sampled_from(("192.0.2.1", "[2001:db8::7]", "198.51.100.77")))
        direct = tuple(f"{transport}://{host}:{port + k}" for k in range(draw(st.integers(1, 2))))
    return AppRow(
        id=f"app{i:02d}",
        zone_id=zone.id,
        account_id=zone.account_id,
        protocol=protocol,
        edge_ips=ips,
        origin_direct=direct,
        origin_dns_name=dns_name,
        origin_port=origin_port,
        proxy_protocol=draw(st.sampled_from(("off", "v1", "v2", "simple"))),
        traffic_type="direct",
        status=draw(st.sampled_from(("active", "active", "blocked"))),
        # distinct times: the database orders equal ones arbitrarily (the table's tie-break has its own test)
        modified_on=BASE_TIME + timedelta(minutes=draw(st.integers(0, 30)), microseconds=i),
    )


def probe_ips(state: EdgeState) -> list[IPAddress]:
    """Every range's first and last address and their neighbours, the anchors, the edge IPs, outside ones."""
    out: set[IPAddress] = set(OUTSIDE)
    nets = [p.cidr for p in state.prefixes.values()] + [d.cidr for d in state.delegations.values()]
    nets += [b.cidr for b in state.bindings.values()]
    for net in nets:
        for ip, step in ((net.network_address, -1), (net.broadcast_address, 1)):
            out.add(ip)
            with contextlib.suppress(ipaddress.AddressValueError):
                out.add(ip + step)
    for p in state.prefixes.values():
        out.update(anchors(p.cidr))
    for a in state.apps.values():
        out.update(a.edge_ips)
    return sorted(out, key=lambda ip: (ip.version, ip))


def probe_ips_for(state: EdgeState, account_id: str) -> list[IPAddress]:
    """Addresses the account owns or was delegated: the ends of those ranges and the anchors inside."""
    out: set[IPAddress] = set()
    nets = [p.cidr for p in state.prefixes.values() if p.account_id == account_id]
    nets += [d.cidr for d in state.delegations.values() if d.delegated_account_id == account_id]
    for n in nets:
        out.update((n.network_address, n.broadcast_address))
        out.update(a for p in state.prefixes.values() if p.cidr.version == n.version for a in anchors(p.cidr) if a in n)
    return sorted(out, key=lambda ip: (ip.version, ip))


def probe_ports(state: EdgeState) -> list[int]:
    out = {1, 22, 80, 443, 8080, 65535}
    for a in state.apps.values():
        ports = parse_protocol(a.protocol).ports
        out.update(p for p in (ports.start - 1, ports.start, ports.end, ports.end + 1) if 1 <= p <= 65535)
    return sorted(out)


def probe_names(state: EdgeState) -> list[str]:
    names = [*HOST_NAMES, "WWW.Example.COM", "shop.example.net.", "unknown.example.com", "bad..name", "x", ""]
    return names + [h.hostname for h in state.hostnames.values()] * 4


def spectrum_probe(state: EdgeState, data: st.DataObject) -> tuple[IPAddress, str, int]:
    """(ip, transport, port) to ask about: half the time on an app's edge IP, in or next to its ports."""
    apps = [a for a in state.apps.values() if a.edge_ips]
    if apps and data.draw(st.booleans()):
        app = data.draw(st.sampled_from(apps))
        protocol = parse_protocol(app.protocol)
        lo, hi = protocol.ports.start, protocol.ports.end
        port = data.draw(st.sampled_from([p for p in (lo - 1, lo, (lo + hi) // 2, hi, hi + 1) if 1 <= p <= 65535]))
        return data.draw(st.sampled_from(app.edge_ips)), protocol.transport, port
    transport = data.draw(st.sampled_from(("tcp", "udp")))
    return probes(state, data), transport, data.draw(st.sampled_from(probe_ports(state)))


def probes(state: EdgeState, data: st.DataObject) -> IPAddress:
    """An address to ask about: half the time one that an app's or hostname's account may use."""
    accounts = sorted({a.account_id for a in state.apps.values()} | {h.account_id for h in state.hostnames.values()})
    if accounts and data.draw(st.booleans()):
        mine = probe_ips_for(state, data.draw(st.sampled_from(accounts)))
        if mine:
            return data.draw(st.sampled_from(mine))
    return data.draw(st.sampled_from(probe_ips(state)))


# ---- the reference ---------------------------------------------------------------------------------


def record(answer: Answer) -> dict[str, object]:
    """An Answer in resolution_record's shape, less the message."""
    return {
        "served": answer.served,
        "kind": answer.kind,
        "id": answer.object_id,
        "account_id": answer.account_id,
        "zone_id": answer.zone_id,
        "origin": answer.origin,
        "reason": answer.reason,
    }


def _prefix(row: PrefixRow) -> Prefix:
    return Prefix(row.id, row.account_id, row.cidr, None, "", "V" if row.approved else "P", BASE_TIME, BASE_TIME)


def usability(state: EdgeState, account_id: str, ip: IPAddress, service_id: str) -> tuple[str, str] | None:
    """service.usability.usability_problem, over the state's rows."""
    rows = [p for p in state.prefixes.values() if p.cidr.version == ip.version and ip in p.cidr]
    prefix = _prefix(rows[0]) if rows else None
    covering = []
    if prefix is not None:
        for d in state.delegations.values():
            if d.prefix_id == prefix.id and d.delegated_account_id == account_id and ip in d.cidr:
                delegation = Delegation(d.id, d.prefix_id, prefix.account_id, d.cidr, account_id, BASE_TIME, BASE_TIME)
                covering.append(ReceivedDelegation(delegation, prefix.cidr))
    access = decide_ip_access(account_id, ip, prefix, covering)
    binding = None
    if prefix is not None and access.allowed:
        bound = [
            Binding(b.id, b.prefix_id, prefix.account_id, b.cidr, service, "active", BASE_TIME)
            for b in state.bindings.values()
            if b.prefix_id == prefix.id and (service := service_by_id(b.service_id)) is not None
        ]
        binding = effective_binding(bound, ip)
    wanted = next(s for s in SERVICES if s.id == service_id)
    return service_problem(ip, access, binding, wanted)


def spectrum_app(row: AppRow) -> SpectrumApp:
    protocol = parse_protocol(row.protocol)
    port = None
    if row.origin_port is not None:
        lo, _, hi = row.origin_port.partition("-")
        port = PortRange(int(lo), int(hi or lo))
    return SpectrumApp(
        id=row.id,
        zone_id=row.zone_id,
        account_id=row.account_id,
        dns_type="ADDRESS",
        dns_name="app.example.com",
        protocol=protocol,
        traffic_type=row.traffic_type,
        edge_ips=EdgeIps("static", None, row.edge_ips),
        origin_direct=row.origin_direct,
        origin_dns=OriginDns(row.origin_dns_name) if row.origin_dns_name else None,
        origin_port=port,
        proxy_protocol=row.proxy_protocol,
        ip_firewall=False,
        tls=None,
        argo_smart_routing=False,
        created_on=BASE_TIME,
        modified_on=row.modified_on,
        status=row.status,
        blocked_reason="revoked" if row.status == "blocked" else None,
    )


def app_at(state: EdgeState, ip: IPAddress, transport: str, port: int) -> AppRow | None:
    """The database's app_at: the active claim first, then the newest."""
    claims = [
        a
        for a in state.apps.values()
        if ip in a.edge_ips
        and parse_protocol(a.protocol).transport == transport
        and port in parse_protocol(a.protocol).ports
    ]
    return max(claims, key=lambda a: (a.status == "active", a.modified_on), default=None)


def reference_spectrum(state: EdgeState, ip: IPAddress, transport: str, port: int) -> dict[str, object]:
    row = app_at(state, ip, transport, port)
    app = spectrum_app(row) if row is not None else None
    problem = usability(state, app.account_id, ip, SPECTRUM.id) if app is not None and app.status == "active" else None
    zone = state.zones.get(app.zone_id) if app is not None else None
    resolution = resolve_connection(
        ip, parse_protocol(f"{transport}/{port}"), app, problem, zone_paused=bool(zone and zone.paused)
    )
    return _shown(resolution_record(resolution))


def reference_hostname(state: EdgeState, ip: IPAddress, sni: str) -> dict[str, object]:
    try:
        name = parse_hostname(sni, what="sni")
    except InvalidInput:  # resolve refuses the query; the edge has no hostname of that name
        return record(Answer(False, "hostname_not_active", "custom_hostname"))
    rows = [h for h in state.hostnames.values() if h.hostname == name]
    host = _hostname(rows[0]) if rows else None
    problem = usability(state, host.account_id, ip, CDN.id) if host is not None else None
    zone = state.zones.get(host.zone_id) if host is not None else None
    fallback = state.fallback_origins.get(host.zone_id) if host is not None else None
    origin = host.custom_origin_server if host is not None and host.custom_origin_server else None
    origin = origin or (fallback.origin if fallback is not None else None)
    resolution = resolve_request(ip, name, host, problem, origin=origin, zone_paused=bool(zone and zone.paused))
    return _shown(resolution_record(resolution))


def _hostname(row: HostnameRow) -> CustomHostname:
    return CustomHostname(
        id=row.id,
        zone_id=row.zone_id,
        account_id=row.account_id,
        hostname=row.hostname,
        status="active",
        ssl_id="ssl",
        ssl=SslRequest(),
        ownership_token="token",
        custom_origin_server=row.custom_origin_server,
        custom_origin_sni=None,
        custom_metadata=None,
        verification_errors=(),
        created_at=BASE_TIME,
    )


def _shown(rec: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in rec.items() if k != "message"}
