"""The custom-hostname benchmark's data: bulk-loaded straight into the tables (no service layer, no audit
rows), plus the bench's own tenants made through the service layer.

Per H hostnames: H/250 prefixes (IPv4 /24s and IPv6 /48s, alternating, owned round-robin by up to 100
accounts), each bound whole to CDN; 250 host delegations per prefix (hosts 1..250) to H/100 (at least 10)
tenant accounts that each have a zone with a fallback origin; and one active hostname per delegated host,
in the zone of the host's delegatee, validated on the BYOIP path (its custom_hostname_ips row is the host).
Every loaded hostname's next background check is a month away, so only what a phase makes due is checked.
"""

from __future__ import annotations

import ipaddress
import random
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, text

from _common import Tenants, prefix_row
from _edge_data import IP, Net, host, nth_prefix
from prefixgate.adapters.db.repos.hostnames import _ssl_json  # the repository's encoding: rows read back as made
from prefixgate.adapters.db.tables import (
    accounts,
    custom_hostname_ips,
    custom_hostnames,
    delegations,
    fallback_origins,
    prefixes,
    service_bindings,
    zones,
)
from prefixgate.domain.bindings import CDN
from prefixgate.domain.hostnames import ACTIVE, PENDING, SslRequest
from prefixgate.domain.net import address_key, range_key
from prefixgate.service import hostnames, identity, tokens
from prefixgate.service.context import Actor, new_id, utcnow
from prefixgate.service.zones import create_zone

OWNERS = 100
PER_PREFIX = 250  # host delegations, and hostnames, per prefix: hosts 1..250
PREFIXES_PER_BATCH = 20
SSL = _ssl_json(SslRequest(method="txt"))
LATER = timedelta(days=30)  # loaded hostnames' next background check: not during the run


def hostname_row(
    zone_id: str, account_id: str, name: str, *, status: str, now: datetime, token: str | None = None
) -> dict[str, Any]:
    """A custom_hostnames row: active ones validated on the BYOIP path now, pending ones never checked."""
    active = status == ACTIVE
    return {
        "id": str(uuid.uuid4()),
        "zone_id": zone_id,
        "account_id": account_id,
        "hostname": name,
        "status": status,
        "ssl_id": str(uuid.uuid4()),
        "ssl": SSL,
        "ownership_token": token or str(uuid.uuid4()),
        "custom_origin_server": None,
        "custom_origin_sni": None,
        "custom_metadata": None,
        "verification_errors": "[]",
        "route": "apex" if active else None,
        "created_at": now,
        "verified_at": now if active else None,
        "checked_at": now if active else None,
        "next_check_at": now + LATER,
    }


def ip_row(hostname: dict[str, Any], ip: IP) -> dict[str, Any]:
    family, key = address_key(ip)
    return {"hostname_id": hostname["id"], "ip": str(ip), "account_id": hostname["account_id"]} | {
        "family": family,
        "ip_key": key,
    }


def _delegation_row(pid: str, owner: str, to: str, net: Net, now: datetime) -> dict[str, Any]:
    key = range_key(net)
    return {"id": new_id(), "prefix_id": pid, "owner_account_id": owner, "delegated_account_id": to} | {
        "family": key.family,
        "start_key": key.start,
        "end_key": key.end,
        "cidr": str(net),
        "created_at": now,
        "modified_at": now,
    }


def _cdn_binding(pid: str, net: Net, owner: str, now: datetime) -> dict[str, Any]:
    key = range_key(net)
    return {"id": new_id(), "prefix_id": pid, "account_id": owner, "family": key.family} | {
        "start_key": key.start,
        "end_key": key.end,
        "cidr": str(net),
        "service_id": CDN.id,
        "state": "active",
        "created_at": now,
    }


def loaded_name(i: int) -> str:
    return f"www.customer{i}.example.net"


def unknown_name(i: int) -> str:
    return f"www.stranger{i}.example.net"


def load(t: Tenants, n: int, seed: int = 8) -> tuple[float, int, list[tuple[str, str]]]:
    """Bulk-load n active hostnames with their prefixes, CDN bindings, delegations, tenants, zones and
    fallback origins. Returns (rows per second, rows, a sample of the loaded (hostname, address) pairs)."""
    rng, now = random.Random(seed), utcnow()
    n_prefixes = -(-n // PER_PREFIX)
    owners = [new_id() for _ in range(min(OWNERS, n_prefixes))]
    tenants = [new_id() for _ in range(max(10, n // 100))]
    tenant_zone = {a: (new_id(), f"t{i}.saas.bench") for i, a in enumerate(tenants)}
    started = time.perf_counter()
    with t.db.engine.begin() as conn:
        conn.execute(
            insert(accounts),
            [{"id": a, "name": f"bench {a[:6]}", "type": "standard", "created_at": now} for a in owners + tenants],
        )
        conn.execute(
            insert(zones),
            [
                {"id": z, "account_id": a, "name": name, "status": "active", "paused": False, "type": "full"}
                | {"created_on": now, "modified_on": now, "activated_on": now}
                for a, (z, name) in tenant_zone.items()
            ],
        )
        conn.execute(
            insert(fallback_origins),
            [
                {"zone_id": z, "origin": f"fallback.{name}", "status": "active", "errors": "[]"}
                | {"created_at": now, "updated_at": now}
                for z, name in tenant_zone.values()
            ],
        )
    rows = len(owners) + 3 * len(tenants)
    pairs: list[tuple[str, str]] = []
    for lo in range(0, n_prefixes, PREFIXES_PER_BATCH):
        batch: dict[Any, list[dict[str, Any]]] = {
            prefixes: [],
            service_bindings: [],
            delegations: [],
            custom_hostnames: [],
            custom_hostname_ips: [],
        }
        for p in range(lo, min(lo + PREFIXES_PER_BATCH, n_prefixes)):
            net, pid, owner = nth_prefix(p), new_id(), owners[p % len(owners)]
            batch[prefixes].append(prefix_row(pid, net, owner, now))
            batch[service_bindings].append(_cdn_binding(pid, net, owner, now))
            for h in range(1, min(PER_PREFIX, n - p * PER_PREFIX) + 1):
                i, ip = p * PER_PREFIX + h - 1, host(net, h)
                to = tenants[i % len(tenants)]
                batch[delegations].append(_delegation_row(pid, owner, to, ipaddress.ip_network(ip), now))
                row = hostname_row(tenant_zone[to][0], to, loaded_name(i), status=ACTIVE, now=now)
                batch[custom_hostnames].append(row)
                batch[custom_hostname_ips].append(ip_row(row, ip))
                pairs.append((row["hostname"], str(ip)))
        with t.db.engine.begin() as conn:
            for table, values in batch.items():
                conn.execute(insert(table), values)
        rows += sum(len(v) for v in batch.values())
    elapsed = time.perf_counter() - started
    analyze(t)
    return rows / elapsed, rows, rng.sample(pairs, min(4096, len(pairs)))


def analyze(t: Tenants) -> None:
    with t.db.engine.connect() as conn:
        conn.execute(text("ANALYZE"))
        conn.commit()


@dataclass(frozen=True)
class Tenant:
    """An account with an Administrator's API token and one SSL-for-SaaS zone (with a fallback origin)."""

    account_id: str
    headers: dict[str, str]
    zone_id: str
    zone_name: str


def tenant(t: Tenants, label: str, *, account_id: str | None = None) -> Tenant:
    """A new account (or `account_id`, whose token is then not made), its zone and fallback origin, made
    through the service layer."""
    cli, headers = Actor.cli(), {}
    if account_id is None:
        user, _ = identity.create_user(t.db, cli, f"{label}@bench.example", password=None, operator=False)
        account_id = identity.create_account(t.db, cli, f"Tenant {label}", owner_email=user.email).id
        _, token = tokens.create_token(t.db, cli, f"bench {label}", user=user)
        headers = {"Authorization": f"Bearer {token}"}
    zone = create_zone(t.db, cli, account_id, f"{label}.bench.example")
    hostnames.put_fallback_origin(t.db, cli, zone.id, f"fallback.{zone.name}")
    return Tenant(account_id, headers, zone.id, zone.name)


def insert_hostnames(t: Tenants, rows: list[dict[str, Any]], ips: list[dict[str, Any]]) -> None:
    with t.db.engine.begin() as conn:
        for lo in range(0, len(rows), 5000):
            conn.execute(insert(custom_hostnames), rows[lo : lo + 5000])
        for lo in range(0, len(ips), 5000):
            conn.execute(insert(custom_hostname_ips), ips[lo : lo + 5000])


def active_on(t: Tenants, who: Tenant, net: Net, count: int, label: str) -> None:
    """`count` active hostnames of `who`, on hosts 1..count of `net` (BYOIP path)."""
    now, rows, ips = utcnow(), [], []
    for i in range(count):
        row = hostname_row(who.zone_id, who.account_id, f"{label}{i}.dependent.example.net", status=ACTIVE, now=now)
        rows.append(row)
        ips.append(ip_row(row, host(net, i + 1)))
    insert_hostnames(t, rows, ips)


@dataclass(frozen=True)
class Pending:
    """A pending hostname to validate, and the DNS records that will make it active."""

    id: str
    tenant: Tenant
    hostname: str
    token: str
    address: str


def pending_on(t: Tenants, who: Tenant, net: Net, count: int, label: str) -> list[Pending]:
    """`count` pending hostnames of `who`, each to be pointed (AAAA or A) at its own host of `net`."""
    now, rows, out = utcnow(), [], []
    for i in range(count):
        name = f"{label}{i}.validate.example.net"
        row = hostname_row(who.zone_id, who.account_id, name, status=PENDING, now=now)
        rows.append(row)
        out.append(Pending(row["id"], who, name, row["ownership_token"], str(host(net, i + 1))))
    insert_hostnames(t, rows, [])
    return out
