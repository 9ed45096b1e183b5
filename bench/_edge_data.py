"""The edge benchmark's data set, bulk-loaded straight into the tables (no service layer, no audit rows).

Per D delegations: D/250 prefixes (IPv4 /24s and IPv6 /48s, alternating, owned round-robin by 1,000
accounts), each with one whole-prefix Spectrum binding; 250 host delegations per prefix (hosts 1..250) to
D/100 (at least 100) tenant accounts that each have a zone; and D/10 Spectrum apps, one on every tenth
delegated host, in its delegatee's zone, on a common port (90%) or a 100-port range (10%).
"""

from __future__ import annotations

import ipaddress
import json
import random
import time
from typing import Any

from sqlalchemy import insert, text

from _common import Tenants, prefix_row
from prefixgate.adapters.db.tables import (
    accounts,
    delegations,
    prefixes,
    service_bindings,
    spectrum_app_ips,
    spectrum_apps,
    zones,
)
from prefixgate.domain.bindings import SPECTRUM
from prefixgate.domain.net import address_key, range_key
from prefixgate.service.context import new_id, utcnow

OWNERS = 1000
PER_PREFIX = 250  # host delegations per prefix: hosts 1..250
APP_EVERY = 10  # an app on every tenth delegated host: D/10 apps
PREFIXES_PER_BATCH = 20
PORTS = [22, 25, 53, 80, 443, 993, 1194, 3306, 3389, 5432, 8080, 8443]
Net = ipaddress.IPv4Network | ipaddress.IPv6Network
IP = ipaddress.IPv4Address | ipaddress.IPv6Address


def nth_prefix(i: int) -> Net:
    """The i-th loaded prefix: even i → IPv4 /24 from 11.0.0.0 up; odd i → IPv6 /48 from 2a01::."""
    j = i // 2
    if i % 2 == 0:
        return ipaddress.IPv4Network((int(ipaddress.IPv4Address("11.0.0.0")) + (j << 8), 24))
    return ipaddress.IPv6Network((int(ipaddress.IPv6Address("2a01::")) + (j << 80), 48))


def host(net: Net, n: int) -> IP:
    return net.network_address + n


def _account_rows(ids: list[str], label: str, now: Any) -> list[dict[str, Any]]:
    return [{"id": a, "name": f"{label} {a[:6]}", "type": "standard", "created_at": now} for a in ids]


def _prefix_rows(pid: str, net: Net, owner: str, now: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """An approved prefix row and its whole-prefix Spectrum binding row."""
    key = range_key(net)
    binding = {"id": new_id(), "prefix_id": pid, "account_id": owner, "family": key.family}
    binding |= {"start_key": key.start, "end_key": key.end, "cidr": str(net), "service_id": SPECTRUM.id}
    return prefix_row(pid, net, owner, now), binding | {"state": "active", "created_at": now}


def _app_rows(ip: IP, account: str, zone: tuple[str, str], rng: random.Random, now: Any) -> list[dict[str, Any]]:
    app_id, (zone_id, zone_name) = new_id(), zone
    lo = rng.choice(PORTS) if rng.random() < 0.9 else 10000 + 100 * rng.randrange(50)
    hi = lo if lo < 10000 else lo + 99
    protocol = f"tcp/{lo}" if lo == hi else f"tcp/{lo}-{hi}"
    family, key = address_key(ip)
    app = {
        "id": app_id,
        "zone_id": zone_id,
        "account_id": account,
        "dns_type": "ADDRESS",
        "dns_name": f"a{app_id[:8]}.{zone_name}",
        "protocol": protocol,
        "traffic_type": "direct",
        "edge_ips_type": "static",
        "origin_direct": json.dumps([f"tcp://192.0.2.1:{lo}"]),
        "proxy_protocol": "off",
        "ip_firewall": False,
        "argo_smart_routing": False,
        "status": "active",
        "created_on": now,
        "modified_on": now,
    }
    claim = {
        "app_id": app_id,
        "ip": str(ip),
        "account_id": account,
        "family": family,
        "ip_key": key,
        "transport": "tcp",
        "port_start": lo,
        "port_end": hi,
        "active": True,
    }
    return [app, claim]


def load(t: Tenants, n_delegations: int, seed: int = 11) -> tuple[float, list[tuple[str, int]]]:
    """Bulk-load; return (rows per second, every loaded app's (ip, first port))."""
    rng, now = random.Random(seed), utcnow()
    n_prefixes = -(-n_delegations // PER_PREFIX)
    owners = [new_id() for _ in range(OWNERS)]
    tenants = [new_id() for _ in range(max(100, n_delegations // 100))]
    tenant_zone = {a: (new_id(), f"t{i}.edge.bench") for i, a in enumerate(tenants)}
    apps: list[tuple[str, int]] = []
    rows = 0
    started = time.perf_counter()
    with t.db.engine.begin() as conn:
        conn.execute(insert(accounts), _account_rows(owners, "owner", now) + _account_rows(tenants, "tenant", now))
        conn.execute(
            insert(zones),
            [
                {"id": z, "account_id": a, "name": name, "status": "active", "paused": False, "type": "full"}
                | {"created_on": now, "modified_on": now, "activated_on": now}
                for a, (z, name) in tenant_zone.items()
            ],
        )
    rows += len(owners) + 2 * len(tenants)
    for lo in range(0, n_prefixes, PREFIXES_PER_BATCH):
        prows, brows, drows, arows, crows = [], [], [], [], []
        for i in range(lo, min(lo + PREFIXES_PER_BATCH, n_prefixes)):
            net, pid, owner = nth_prefix(i), new_id(), owners[i % OWNERS]
            prefix, binding = _prefix_rows(pid, net, owner, now)
            prows.append(prefix)
            brows.append(binding)
            for h in range(1, min(PER_PREFIX, n_delegations - i * PER_PREFIX) + 1):
                cidr = ipaddress.ip_network(f"{host(net, h)}/{net.max_prefixlen}")
                key, to = range_key(cidr), rng.choice(tenants)
                drows.append(
                    {"id": new_id(), "prefix_id": pid, "owner_account_id": owner, "delegated_account_id": to}
                    | {"family": key.family, "start_key": key.start, "end_key": key.end, "cidr": str(cidr)}
                    | {"created_at": now, "modified_at": now}
                )
                if h % APP_EVERY == 1:
                    app, claim = _app_rows(host(net, h), to, tenant_zone[to], rng, now)
                    arows.append(app)
                    crows.append(claim)
                    apps.append((claim["ip"], claim["port_start"]))
        with t.db.engine.begin() as conn:
            for tbl, batch in ((prefixes, prows), (service_bindings, brows), (delegations, drows)):
                conn.execute(insert(tbl), batch)
            if arows:
                conn.execute(insert(spectrum_apps), arows)
                conn.execute(insert(spectrum_app_ips), crows)
        rows += len(prows) + len(brows) + len(drows) + len(arows) + len(crows)
    elapsed = time.perf_counter() - started
    with t.db.engine.connect() as conn:
        conn.execute(text("ANALYZE"))
        conn.commit()
    return rows / elapsed, apps


HEAVY_BASE = 0x10000  # a heavy tenant's host delegations start here in their prefix, above the loaded hosts


def load_heavy(t: Tenants, prefix_id: str, owner: str, net: Net, account: str, count: int) -> list[str]:
    """Delegate `count` hosts of `net` (from HEAVY_BASE up) to `account`: one tenant holding many delegations
    in one prefix. Returns the last 8 delegated addresses: every other of its delegations starts below them."""
    now = utcnow()
    for lo in range(0, count, 10_000):
        rows = []
        for n in range(lo, min(lo + 10_000, count)):
            cidr = ipaddress.ip_network(f"{host(net, HEAVY_BASE + n)}/{net.max_prefixlen}")
            key = range_key(cidr)
            rows.append(
                {"id": new_id(), "prefix_id": prefix_id, "owner_account_id": owner, "delegated_account_id": account}
                | {"family": key.family, "start_key": key.start, "end_key": key.end, "cidr": str(cidr)}
                | {"created_at": now, "modified_at": now}
            )
        with t.db.engine.begin() as conn:
            conn.execute(insert(delegations), rows)
    with t.db.engine.connect() as conn:
        conn.execute(text("ANALYZE delegations"))
        conn.commit()
    return [str(host(net, HEAVY_BASE + count - 1 - k)) for k in range(8)]
