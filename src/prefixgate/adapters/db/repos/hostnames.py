"""Custom hostnames, the addresses active ones are validated on, and zones' fallback origins."""

from __future__ import annotations

import ipaddress
import json
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from ....domain.codes import Code
from ....domain.errors import Conflict
from ....domain.hostnames import ACTIVE, CustomHostname, FallbackOrigin, HostnameQuery, SslRequest
from ....domain.model import Page, PageRequest
from ....domain.net import IPAddress, IPNetwork, address_key, range_key
from ..tables import custom_hostname_ips, custom_hostnames, fallback_origins
from ._paging import paged

__all__ = ["SqlFallbackOriginRepo", "SqlHostnameRepo"]

_H = custom_hostnames.c
_IPS = custom_hostname_ips.c


def _ssl_json(ssl: SslRequest) -> str:
    return json.dumps(
        {
            "method": ssl.method,
            "type": ssl.type,
            "settings": dict(ssl.settings),
            "bundle_method": ssl.bundle_method,
            "wildcard": ssl.wildcard,
            "certificate_authority": ssl.certificate_authority,
        }
    )


def _ssl(text_: str) -> SslRequest:
    d = json.loads(text_)
    return SslRequest(
        method=d["method"],
        type=d["type"],
        settings=d["settings"],
        bundle_method=d["bundle_method"],
        wildcard=d["wildcard"],
        certificate_authority=d["certificate_authority"],
    )


def _host(r: Any, ips: list[str]) -> CustomHostname:
    return CustomHostname(
        id=r.id,
        zone_id=r.zone_id,
        account_id=r.account_id,
        hostname=r.hostname,
        status=r.status,
        ssl_id=r.ssl_id,
        ssl=_ssl(r.ssl),
        ownership_token=r.ownership_token,
        custom_origin_server=r.custom_origin_server,
        custom_origin_sni=r.custom_origin_sni,
        custom_metadata=json.loads(r.custom_metadata) if r.custom_metadata is not None else None,
        verification_errors=tuple(json.loads(r.verification_errors)),
        created_at=r.created_at,
        addresses=tuple(ipaddress.ip_address(ip) for ip in ips),
        route=r.route,
        verified_at=r.verified_at,
        checked_at=r.checked_at,
    )


def _values(h: CustomHostname) -> dict[str, Any]:
    return {
        "zone_id": h.zone_id,
        "account_id": h.account_id,
        "hostname": h.hostname,
        "status": h.status,
        "ssl_id": h.ssl_id,
        "ssl": _ssl_json(h.ssl),
        "ownership_token": h.ownership_token,
        "custom_origin_server": h.custom_origin_server,
        "custom_origin_sni": h.custom_origin_sni,
        "custom_metadata": json.dumps(dict(h.custom_metadata)) if h.custom_metadata is not None else None,
        "verification_errors": json.dumps(list(h.verification_errors)),
        "route": h.route,
        "created_at": h.created_at,
        "verified_at": h.verified_at,
        "checked_at": h.checked_at,
    }


def _ssl_field(name: str, value: object) -> ColumnElement[bool]:
    """The `ssl` JSON holds `name: value`. _ssl_json writes it with json.dumps' separators, so the pair
    reads exactly so there, and a quote inside a string value is always escaped."""
    return _H.ssl.contains(f"{json.dumps(name)}: {json.dumps(value)}", autoescape=True)


def _filters(query: HostnameQuery) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if query.hostname is not None:
        where.append(_H.hostname == query.hostname)
    if query.contains is not None:
        where.append(_H.hostname.contains(query.contains, autoescape=True))
    if query.starts_with is not None:
        where.append(_H.hostname.startswith(query.starts_with, autoescape=True))
    if query.id is not None:
        where.append(_H.id == query.id)
    if query.status is not None:
        where.append(_H.status == query.status)
    if query.custom_origin_server is not None:
        where.append(_H.custom_origin_server == query.custom_origin_server)
    if query.wildcard is not None:
        where.append(_ssl_field("wildcard", query.wildcard))
    if query.certificate_authority is not None:
        where.append(_ssl_field("certificate_authority", query.certificate_authority))
    return where


class SqlHostnameRepo:
    def __init__(self, conn: Connection, *, postgres: bool) -> None:
        self._c = conn
        self._postgres = postgres

    def _ips(self, ids: list[str]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {i: [] for i in ids}
        if ids:
            q = select(_IPS.hostname_id, _IPS.ip).where(_IPS.hostname_id.in_(ids))
            for r in self._c.execute(q.order_by(_IPS.hostname_id, _IPS.family, _IPS.ip_key)):
                out[r.hostname_id].append(r.ip)
        return out

    def _load(self, rows: list[Any]) -> list[CustomHostname]:
        ips = self._ips([r.id for r in rows])
        return [_host(r, ips[r.id]) for r in rows]

    def _one(self, *where: Any) -> CustomHostname | None:
        rows = list(self._c.execute(select(custom_hostnames).where(*where)).all())
        return self._load(rows)[0] if rows else None

    def _write_ips(self, h: CustomHostname) -> None:
        self._c.execute(delete(custom_hostname_ips).where(_IPS.hostname_id == h.id))
        rows = []
        for ip in h.addresses:
            family, key = address_key(ip)
            rows.append(
                {"hostname_id": h.id, "ip": str(ip), "account_id": h.account_id, "family": family, "ip_key": key}
            )
        if rows:
            self._c.execute(insert(custom_hostname_ips), rows)

    def add(self, host: CustomHostname, *, next_check_at: datetime) -> None:
        try:
            self._c.execute(insert(custom_hostnames).values(id=host.id, next_check_at=next_check_at, **_values(host)))
        except IntegrityError:
            raise Conflict(
                f"{host.hostname} is already a custom hostname of this zone", code=Code.HOSTNAME_EXISTS
            ) from None

    def get(self, zone_id: str, hostname_id: str) -> CustomHostname | None:
        return self._one(_H.zone_id == zone_id, _H.id == hostname_id)

    def by_id(self, hostname_id: str) -> CustomHostname | None:
        return self._one(_H.id == hostname_id)

    def named_in_zone(self, zone_id: str, hostname: str) -> CustomHostname | None:
        return self._one(_H.zone_id == zone_id, _H.hostname == hostname)

    def active_named(self, hostname: str) -> CustomHostname | None:
        return self._one(_H.hostname == hostname, _H.status == ACTIVE)

    def page(self, zone_id: str, page: PageRequest, query: HostnameQuery) -> Page[CustomHostname]:
        q = select(custom_hostnames).where(_H.zone_id == zone_id, *_filters(query))
        cols = (_H.created_at, _H.id)
        q = q.order_by(*(c.desc() if query.descending else c for c in cols))
        raw = paged(self._c, q, page, lambda r: r)
        return Page(self._load(raw.items), raw.total, page)

    def in_zone(self, zone_id: str) -> list[CustomHostname]:
        return self._load(list(self._c.execute(select(custom_hostnames).where(_H.zone_id == zone_id))))

    def replace(self, host: CustomHostname) -> None:
        self._c.execute(update(custom_hostnames).where(_H.id == host.id).values(**_values(host)))
        self._write_ips(host)

    def delete(self, hostname_id: str) -> None:
        # The hostname's row first, then its addresses: the order `replace` (a validation) takes them in,
        # so a delete and a concurrent validation of one hostname queue instead of deadlocking.
        self._c.execute(select(_H.id).where(_H.id == hostname_id).with_for_update())
        self._c.execute(delete(custom_hostname_ips).where(_IPS.hostname_id == hostname_id))
        self._c.execute(delete(custom_hostnames).where(_H.id == hostname_id))

    def using_range(self, net: IPNetwork, *, account_id: str | None) -> list[tuple[CustomHostname, IPAddress]]:
        """Active hostnames (of `account_id`, or anyone's) validated on an address inside `net`."""
        key = range_key(net)
        q = select(_IPS.hostname_id, _IPS.ip).where(
            _IPS.family == key.family, _IPS.ip_key >= key.start, _IPS.ip_key <= key.end
        )
        if account_id is not None:
            q = q.where(_IPS.account_id == account_id)
        hits = list(self._c.execute(q))
        if not hits:
            return []
        rows = self._c.execute(
            select(custom_hostnames).where(_H.id.in_({h.hostname_id for h in hits}), _H.status == ACTIVE)
        ).all()
        hosts = {h.id: h for h in self._load(list(rows))}
        return [(hosts[h.hostname_id], ipaddress.ip_address(h.ip)) for h in hits if h.hostname_id in hosts]

    def any_due(self, now: datetime) -> bool:
        q = select(_H.id).where(_H.next_check_at <= now).limit(1)
        return self._c.execute(q).first() is not None

    def claim_due(self, now: datetime, until: datetime, limit: int) -> list[str]:
        """Claim up to `limit` hostnames due for re-validation, longest-waiting first, by moving their next
        check to `until` in this transaction. Rows another process is claiming are skipped, not waited for."""
        q = select(_H.id).where(_H.next_check_at <= now).order_by(_H.next_check_at, _H.id).limit(limit)
        if self._postgres:
            q = q.with_for_update(skip_locked=True)
        ids = [r.id for r in self._c.execute(q)]
        if ids:
            self._c.execute(update(custom_hostnames).where(_H.id.in_(ids)).values(next_check_at=until))
        return ids

    def next_due(self) -> datetime | None:
        """When the hostname due soonest is due (it may be past), or None when there are none."""
        due: datetime | None = self._c.execute(select(func.min(_H.next_check_at))).scalar()
        return due

    def schedule(self, hostname_id: str, when: datetime) -> None:
        self._c.execute(update(custom_hostnames).where(_H.id == hostname_id).values(next_check_at=when))


class SqlFallbackOriginRepo:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def get(self, zone_id: str) -> FallbackOrigin | None:
        r = self._c.execute(select(fallback_origins).where(fallback_origins.c.zone_id == zone_id)).first()
        if r is None:
            return None
        return FallbackOrigin(
            zone_id=r.zone_id,
            origin=r.origin,
            status=r.status,
            errors=tuple(json.loads(r.errors)),
            created_at=r.created_at,
            updated_at=r.updated_at,
        )

    def put(self, fo: FallbackOrigin) -> None:
        values = {
            "origin": fo.origin,
            "status": fo.status,
            "errors": json.dumps(list(fo.errors)),
            "created_at": fo.created_at,
            "updated_at": fo.updated_at,
        }
        done = self._c.execute(
            update(fallback_origins).where(fallback_origins.c.zone_id == fo.zone_id).values(**values)
        )
        if not done.rowcount:
            self._c.execute(insert(fallback_origins).values(zone_id=fo.zone_id, **values))

    def delete(self, zone_id: str) -> None:
        self._c.execute(delete(fallback_origins).where(fallback_origins.c.zone_id == zone_id))
