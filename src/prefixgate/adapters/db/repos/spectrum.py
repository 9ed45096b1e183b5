"""Spectrum apps and their claims on (edge IP, transport, ports)."""

from __future__ import annotations

import ipaddress
import json
from typing import Any

from sqlalchemy import Connection, delete, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from ....domain.codes import Code
from ....domain.errors import Conflict
from ....domain.model import Page, PageRequest
from ....domain.net import IPAddress, IPNetwork, address_key, range_key
from ....domain.spectrum import EdgeIps, OriginDns, PortRange, SpectrumApp, parse_protocol
from ..tables import spectrum_app_ips, spectrum_apps
from ._paging import paged

_CLAIMS_LOCK = 0x70677370  # advisory lock naming "spectrum claims" on PostgreSQL

_ORDER = {
    "dns": (spectrum_apps.c.dns_name,),
    "protocol": (spectrum_apps.c.protocol,),
    "app_id": (spectrum_apps.c.id,),
    "created_on": (spectrum_apps.c.created_on,),
    "modified_on": (spectrum_apps.c.modified_on,),
}


def _ports(text_: str | None) -> PortRange | None:
    if text_ is None:
        return None
    lo, _, hi = text_.partition("-")
    return PortRange(int(lo), int(hi or lo))


def _app(r: Any, ips: list[str]) -> SpectrumApp:
    dns = OriginDns(r.origin_dns_name, r.origin_dns_type or "", r.origin_dns_ttl) if r.origin_dns_name else None
    edge = EdgeIps(
        type=r.edge_ips_type,
        connectivity=r.edge_connectivity,
        ips=tuple(ipaddress.ip_address(ip) for ip in ips),
    )
    return SpectrumApp(
        id=r.id,
        zone_id=r.zone_id,
        account_id=r.account_id,
        dns_type=r.dns_type,
        dns_name=r.dns_name,
        protocol=parse_protocol(r.protocol),
        traffic_type=r.traffic_type,
        edge_ips=edge,
        origin_direct=tuple(json.loads(r.origin_direct)) if r.origin_direct else (),
        origin_dns=dns,
        origin_port=_ports(r.origin_port),
        proxy_protocol=r.proxy_protocol,
        ip_firewall=bool(r.ip_firewall),
        tls=r.tls,
        argo_smart_routing=bool(r.argo_smart_routing),
        created_on=r.created_on,
        modified_on=r.modified_on,
        status=r.status,
        blocked_reason=r.blocked_reason,
    )


def _values(a: SpectrumApp) -> dict[str, Any]:
    return {
        "zone_id": a.zone_id,
        "account_id": a.account_id,
        "dns_type": a.dns_type,
        "dns_name": a.dns_name,
        "protocol": str(a.protocol),
        "traffic_type": a.traffic_type,
        "edge_ips_type": a.edge_ips.type,
        "edge_connectivity": a.edge_ips.connectivity,
        "origin_direct": json.dumps(list(a.origin_direct)) if a.origin_direct else None,
        "origin_dns_name": a.origin_dns.name if a.origin_dns else None,
        "origin_dns_type": a.origin_dns.type if a.origin_dns else None,
        "origin_dns_ttl": a.origin_dns.ttl if a.origin_dns else None,
        "origin_port": str(a.origin_port) if a.origin_port else None,
        "proxy_protocol": a.proxy_protocol,
        "ip_firewall": a.ip_firewall,
        "tls": a.tls,
        "argo_smart_routing": a.argo_smart_routing,
        "status": a.status,
        "blocked_reason": a.blocked_reason,
        "created_on": a.created_on,
        "modified_on": a.modified_on,
    }


class SqlSpectrumRepo:
    def __init__(self, conn: Connection, *, postgres: bool) -> None:
        self._c = conn
        self._postgres = postgres

    def lock_claims(self) -> None:
        if self._postgres:  # SQLite's BEGIN IMMEDIATE already serialises writers
            self._c.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _CLAIMS_LOCK})

    def _ips(self, app_ids: list[str]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {a: [] for a in app_ids}
        if app_ids:
            q = select(spectrum_app_ips.c.app_id, spectrum_app_ips.c.ip).where(spectrum_app_ips.c.app_id.in_(app_ids))
            for r in self._c.execute(
                q.order_by(spectrum_app_ips.c.app_id, spectrum_app_ips.c.family, spectrum_app_ips.c.ip_key)
            ):
                out[r.app_id].append(r.ip)
        return out

    def _load(self, rows: list[Any]) -> list[SpectrumApp]:
        ips = self._ips([r.id for r in rows])
        return [_app(r, ips[r.id]) for r in rows]

    def _write_ips(self, a: SpectrumApp) -> None:
        rows = []
        for ip in a.edge_ips.ips:
            family, key = address_key(ip)
            rows.append(
                {
                    "app_id": a.id,
                    "ip": str(ip),
                    "account_id": a.account_id,
                    "family": family,
                    "ip_key": key,
                    "transport": a.protocol.transport,
                    "port_start": a.protocol.ports.start,
                    "port_end": a.protocol.ports.end,
                    "active": a.status == "active",
                }
            )
        if rows:
            try:
                self._c.execute(insert(spectrum_app_ips), rows)
            except IntegrityError as exc:
                if "ex_spectrum_app_ips_no_overlap" in str(exc.orig):
                    raise Conflict(
                        "another app claimed one of these edge IPs and ports concurrently", code=Code.EDGE_PORT_TAKEN
                    ) from None
                raise

    def add(self, app: SpectrumApp) -> None:
        self._c.execute(insert(spectrum_apps).values(id=app.id, **_values(app)))
        self._write_ips(app)

    def get(self, zone_id: str, app_id: str) -> SpectrumApp | None:
        q = select(spectrum_apps).where(spectrum_apps.c.zone_id == zone_id, spectrum_apps.c.id == app_id)
        rows = self._c.execute(q).all()
        return self._load(list(rows))[0] if rows else None

    def page(self, zone_id: str, page: PageRequest, *, order: str, descending: bool) -> Page[SpectrumApp]:
        cols = [*_ORDER[order], spectrum_apps.c.id]
        q = select(spectrum_apps).where(spectrum_apps.c.zone_id == zone_id)
        q = q.order_by(*(c.desc() if descending else c for c in cols))
        raw = paged(self._c, q, page, lambda r: r)
        return Page(self._load(raw.items), raw.total, page)

    def replace(self, app: SpectrumApp) -> None:
        self._c.execute(delete(spectrum_app_ips).where(spectrum_app_ips.c.app_id == app.id))
        self._c.execute(update(spectrum_apps).where(spectrum_apps.c.id == app.id).values(**_values(app)))
        self._write_ips(app)

    def delete(self, app_id: str) -> None:
        self._c.execute(delete(spectrum_app_ips).where(spectrum_app_ips.c.app_id == app_id))
        self._c.execute(delete(spectrum_apps).where(spectrum_apps.c.id == app_id))

    def claims_on(self, ip: IPAddress, transport: str, ports: PortRange, *, exclude_app: str | None) -> list[str]:
        family, key = address_key(ip)
        c = spectrum_app_ips.c
        q = select(c.app_id).where(
            c.family == family,
            c.ip_key == key,
            c.transport == transport,
            c.active.is_(True),
            c.port_start <= ports.end,
            c.port_end >= ports.start,
        )
        if exclude_app is not None:
            q = q.where(c.app_id != exclude_app)
        return [r.app_id for r in self._c.execute(q)]

    def app_at(self, ip: IPAddress, transport: str, port: int) -> SpectrumApp | None:
        family, key = address_key(ip)
        c = spectrum_app_ips.c
        q = (
            select(spectrum_apps)
            .join(spectrum_app_ips, c.app_id == spectrum_apps.c.id)
            .where(
                c.family == family, c.ip_key == key, c.transport == transport, c.port_start <= port, c.port_end >= port
            )
            .order_by(c.active.desc(), spectrum_apps.c.modified_on.desc())
            .limit(1)
        )
        rows = list(self._c.execute(q).all())
        return self._load(rows)[0] if rows else None

    def using_range(self, net: IPNetwork, *, account_id: str | None) -> list[tuple[SpectrumApp, IPAddress]]:
        key = range_key(net)
        c = spectrum_app_ips.c
        q = select(c.app_id, c.ip).where(
            c.family == key.family, c.ip_key >= key.start, c.ip_key <= key.end, c.active.is_(True)
        )
        if account_id is not None:
            q = q.where(c.account_id == account_id)
        hits = list(self._c.execute(q))
        if not hits:
            return []
        rows = self._c.execute(select(spectrum_apps).where(spectrum_apps.c.id.in_({h.app_id for h in hits}))).all()
        apps = {a.id: a for a in self._load(list(rows))}
        return [(apps[h.app_id], ipaddress.ip_address(h.ip)) for h in hits]

    def in_zone(self, zone_id: str) -> list[SpectrumApp]:
        return self._load(list(self._c.execute(select(spectrum_apps).where(spectrum_apps.c.zone_id == zone_id))))

    def block(self, app_id: str, reason: str) -> None:
        self._c.execute(
            update(spectrum_apps).where(spectrum_apps.c.id == app_id).values(status="blocked", blocked_reason=reason)
        )
        self._c.execute(update(spectrum_app_ips).where(spectrum_app_ips.c.app_id == app_id).values(active=False))
