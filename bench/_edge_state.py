"""A large synthetic serving state for the edge benchmarks, built directly as an `EdgeState` (no database).

At scale 1 it holds 1,004,000 delegations, 100,000 Spectrum apps and 100,000 active custom hostnames;
every count scales linearly (scale 0.1: about 100,000 delegations, 10,000 apps, 10,000 hostnames):
  - 4,000 prefixes (IPv4 /24s and IPv6 /48s, alternating) owned round-robin by 1,000 accounts, all
    approved but every 50th; each bound whole, alternately by pairs to Spectrum and to CDN, every 10th
    with a /28 (/124) binding to the other service;
  - per prefix, 250 host delegations (.1 to .250) spread over 10,000 tenant accounts, plus a /26 (/122)
    over the first 64 hosts to another tenant;
  - one zone per tenant (1% paused), each with a fallback origin;
  - apps on every fifth delegated host of the Spectrum prefixes (5% blocked; 90% on one port, 10% on a
    100-port range; half origin_direct, half origin_dns among 1,000 names; PROXY off, v1 or v2);
  - hostnames spread over the tenants' zones, half with a custom origin server among the 1,000 names.
`resolved` gives every origin name an address but one (which then reads `origin_unresolved`).
"""

from __future__ import annotations

import ipaddress
import random
from datetime import UTC, datetime, timedelta

from prefixgate.domain.bindings import CDN, SPECTRUM
from prefixgate.domain.net import IPAddress, IPNetwork
from prefixgate.edge.state import (
    AppRow,
    BindingRow,
    DelegationRow,
    EdgeState,
    FallbackOriginRow,
    HostnameRow,
    PrefixRow,
    Row,
    ZoneRow,
)

HOSTS_PER_PREFIX = 250
_BASE_TIME = datetime(2026, 12, 1, tzinfo=UTC)
_PORTS = (22, 80, 443, 3306, 5432)


def _prefix_net(i: int) -> tuple[IPNetwork, int, int]:
    """The i-th prefix, the length of its nested delegation and of its override binding."""
    if i % 2 == 0:
        return ipaddress.IPv4Network(((20 << 24) + (i << 8), 24)), 26, 28
    return ipaddress.IPv6Network(((0x2A0F << 112) + (i << 80), 48)), 122, 124


def _app(k: int, tenant: str, zone_id: str, ip: IPAddress, names: list[str], rnd: random.Random) -> AppRow:
    ranged = rnd.random() < 0.1
    port = 10_000 + rnd.randrange(50) * 100 if ranged else rnd.choice(_PORTS)
    ports = f"{port}-{port + 99}" if ranged else str(port)
    by_name = rnd.random() < 0.5
    return AppRow(
        id=f"app{k:06d}",
        zone_id=zone_id,
        account_id=tenant,
        protocol=f"tcp/{ports}",
        edge_ips=(ip,),
        origin_direct=() if by_name else (f"tcp://192.0.2.{k % 250 + 1}:{port}",),
        origin_dns_name=rnd.choice(names) if by_name else None,
        origin_port=ports if by_name else None,
        proxy_protocol=rnd.choice(("off", "v1", "v2")),
        traffic_type="direct",
        status="blocked" if rnd.random() < 0.05 else "active",
        modified_on=_BASE_TIME + timedelta(seconds=k),
    )


def build_state(scale: float, rnd: random.Random) -> tuple[EdgeState, dict[str, IPAddress | None]]:
    """The state at `scale` (revision 1) and the addresses of its origin names."""
    n_prefixes = max(4, int(4000 * scale))
    n_tenants = max(10, int(10_000 * scale))
    n_apps = n_hosts = int(100_000 * scale)
    owners = [f"owner{i:04d}" for i in range(1000)]
    tenants = [f"tenant{i:05d}" for i in range(n_tenants)]
    zone_of = {t: f"zone-{t}" for t in tenants}
    names = [f"origin{i}.example.net" for i in range(1000)]
    rows: list[Row] = []
    for t in tenants:
        rows.append(ZoneRow(zone_of[t], t, rnd.random() < 0.01))
        rows.append(FallbackOriginRow(zone_of[t], f"fallback.{t}.example.com"))
    app_hosts: list[tuple[str, IPAddress]] = []
    for i in range(n_prefixes):
        net, nested, override = _prefix_net(i)
        pid = f"p{i:05d}"
        rows.append(PrefixRow(pid, owners[i % len(owners)], net, i % 50 != 49))
        service, other = (SPECTRUM, CDN) if (i // 2) % 2 == 0 else (CDN, SPECTRUM)
        rows.append(BindingRow(f"b{i:05d}", pid, net, service.id))
        first = int(net.network_address)
        if i % 10 == 0:
            rows.append(BindingRow(f"o{i:05d}", pid, type(net)((first + 128, override)), other.id))
        for h in range(1, HOSTS_PER_PREFIX + 1):
            tenant = tenants[(i * HOSTS_PER_PREFIX + h) % n_tenants]
            cidr = type(net)((first + h, net.max_prefixlen))
            rows.append(DelegationRow(f"d{i:05d}-{h:03d}", pid, cidr, tenant))
            if service is SPECTRUM and h % 5 == 0:
                app_hosts.append((tenant, cidr.network_address))
        rows.append(DelegationRow(f"n{i:05d}", pid, type(net)((first, nested)), tenants[(i * 7) % n_tenants]))
    for k, (tenant, ip) in enumerate(app_hosts[:n_apps]):
        rows.append(_app(k, tenant, zone_of[tenant], ip, names, rnd))
    for k in range(n_hosts):
        tenant = tenants[k % n_tenants]
        custom = rnd.choice(names) if rnd.random() < 0.5 else None
        rows.append(HostnameRow(f"h{k:06d}", zone_of[tenant], tenant, f"www{k}.shop.example.org", custom))
    resolved: dict[str, IPAddress | None] = {
        n: ipaddress.IPv4Address(f"198.51.100.{i % 250 + 1}") for i, n in enumerate(names)
    }
    resolved |= {f"fallback.{t}.example.com": ipaddress.IPv4Address("198.51.100.7") for t in tenants}
    resolved[names[0]] = None
    return EdgeState.of(1, rows), resolved
