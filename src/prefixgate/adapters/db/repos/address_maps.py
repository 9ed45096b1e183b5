"""Address maps, their IPs (indexed by (family, ip_key)) and their memberships."""

from __future__ import annotations

import ipaddress
from typing import Any

from sqlalchemy import Connection, delete, insert, select, text, update

from ....domain.address_maps import AddressMap, Kind, MapIp, MapMembership
from ....domain.model import Page, PageRequest
from ....domain.net import IPAddress, IPNetwork, address_key, range_key
from ..tables import address_map_ips, address_map_memberships, address_maps
from ._paging import paged

__all__ = ["SqlAddressMapRepo"]

_IPS_LOCK = 0x70676D70  # advisory lock naming "map IPs" on PostgreSQL


def _map(r: Any) -> AddressMap:
    return AddressMap(
        id=r.id,
        account_id=r.account_id,
        description=r.description,
        default_sni=r.default_sni,
        enabled=bool(r.enabled),
        created_at=r.created_at,
        modified_at=r.modified_at,
        can_delete=bool(r.can_delete),
        can_modify_ips=bool(r.can_modify_ips),
    )


def _values(m: AddressMap) -> dict[str, Any]:
    return {
        "account_id": m.account_id,
        "description": m.description,
        "default_sni": m.default_sni,
        "enabled": m.enabled,
        "can_delete": m.can_delete,
        "can_modify_ips": m.can_modify_ips,
        "created_at": m.created_at,
        "modified_at": m.modified_at,
    }


def _ip(r: Any) -> MapIp:
    return MapIp(map_id=r.map_id, account_id=r.account_id, ip=ipaddress.ip_address(r.ip), created_at=r.created_at)


def _membership(r: Any) -> MapMembership:
    kind: Kind = "zone" if r.kind == "zone" else "account"
    return MapMembership(
        map_id=r.map_id, kind=kind, identifier=r.identifier, created_at=r.created_at, can_delete=bool(r.can_delete)
    )


class SqlAddressMapRepo:
    def __init__(self, conn: Connection, *, postgres: bool) -> None:
        self._c = conn
        self._postgres = postgres

    def lock_ips(self) -> None:
        if self._postgres:  # SQLite's BEGIN IMMEDIATE already serialises writers
            self._c.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _IPS_LOCK})

    def add(self, m: AddressMap) -> None:
        self._c.execute(insert(address_maps).values(id=m.id, **_values(m)))

    def get(self, account_id: str, map_id: str) -> AddressMap | None:
        q = select(address_maps).where(address_maps.c.account_id == account_id, address_maps.c.id == map_id)
        r = self._c.execute(q).first()
        return _map(r) if r else None

    def page(self, account_id: str, page: PageRequest) -> Page[AddressMap]:
        q = (
            select(address_maps)
            .where(address_maps.c.account_id == account_id)
            .order_by(address_maps.c.created_at, address_maps.c.id)
        )
        return paged(self._c, q, page, _map)

    def update(self, m: AddressMap) -> None:
        self._c.execute(update(address_maps).where(address_maps.c.id == m.id).values(**_values(m)))

    def delete(self, map_id: str) -> None:
        self._c.execute(delete(address_map_ips).where(address_map_ips.c.map_id == map_id))
        self._c.execute(delete(address_map_memberships).where(address_map_memberships.c.map_id == map_id))
        self._c.execute(delete(address_maps).where(address_maps.c.id == map_id))

    def ips(self, map_id: str) -> list[MapIp]:
        c = address_map_ips.c
        q = select(address_map_ips).where(c.map_id == map_id).order_by(c.family, c.ip_key)
        return [_ip(r) for r in self._c.execute(q)]

    def has_ip(self, map_id: str, ip: IPAddress) -> bool:
        c = address_map_ips.c
        return self._c.execute(select(c.ip).where(c.map_id == map_id, c.ip == str(ip))).first() is not None

    def add_ips(self, ips: list[MapIp]) -> None:
        rows = []
        for m in ips:
            family, key = address_key(m.ip)
            rows.append(
                {
                    "map_id": m.map_id,
                    "ip": str(m.ip),
                    "account_id": m.account_id,
                    "family": family,
                    "ip_key": key,
                    "created_at": m.created_at,
                }
            )
        if rows:
            self._c.execute(insert(address_map_ips), rows)

    def remove_ip(self, map_id: str, ip: IPAddress) -> None:
        c = address_map_ips.c
        self._c.execute(delete(address_map_ips).where(c.map_id == map_id, c.ip == str(ip)))

    def ips_in_range(self, net: IPNetwork, *, account_id: str | None) -> list[MapIp]:
        """Map IPs inside `net`: of maps of `account_id`, or of anyone's maps."""
        key = range_key(net)
        c = address_map_ips.c
        q = select(address_map_ips).where(c.family == key.family, c.ip_key >= key.start, c.ip_key <= key.end)
        if account_id is not None:
            q = q.where(c.account_id == account_id)
        return [_ip(r) for r in self._c.execute(q.order_by(c.map_id, c.family, c.ip_key))]

    def memberships(self, map_id: str) -> list[MapMembership]:
        c = address_map_memberships.c
        q = select(address_map_memberships).where(c.map_id == map_id).order_by(c.kind, c.created_at, c.identifier)
        return [_membership(r) for r in self._c.execute(q)]

    def membership(self, map_id: str, kind: Kind, identifier: str) -> MapMembership | None:
        c = address_map_memberships.c
        q = select(address_map_memberships).where(c.map_id == map_id, c.kind == kind, c.identifier == identifier)
        r = self._c.execute(q).first()
        return _membership(r) if r else None

    def add_memberships(self, memberships: list[MapMembership]) -> None:
        rows = [
            {
                "map_id": m.map_id,
                "kind": m.kind,
                "identifier": m.identifier,
                "zone_id": m.identifier if m.kind == "zone" else None,
                "can_delete": m.can_delete,
                "created_at": m.created_at,
            }
            for m in memberships
        ]
        if rows:
            self._c.execute(insert(address_map_memberships), rows)

    def remove_membership(self, map_id: str, kind: Kind, identifier: str) -> None:
        c = address_map_memberships.c
        self._c.execute(
            delete(address_map_memberships).where(c.map_id == map_id, c.kind == kind, c.identifier == identifier)
        )

    def with_zone(self, zone_id: str) -> list[MapMembership]:
        """The zone's memberships, in every map."""
        c = address_map_memberships.c
        q = select(address_map_memberships).where(c.zone_id == zone_id).order_by(c.map_id)
        return [_membership(r) for r in self._c.execute(q)]
