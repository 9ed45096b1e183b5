"""Zones and service bindings."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, delete, insert, or_, select, update

from ....domain.bindings import Binding, service_by_id
from ....domain.model import Page, PageRequest, Zone
from ....domain.net import range_key
from ..tables import service_bindings, zones
from ._paging import paged


def _zone(r: Any) -> Zone:
    return Zone(
        id=r.id,
        account_id=r.account_id,
        name=r.name,
        created_on=r.created_on,
        modified_on=r.modified_on,
        status=r.status,
        paused=bool(r.paused),
        type=r.type,
        activated_on=r.activated_on,
    )


class SqlZoneRepo:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def add(self, zone: Zone) -> None:
        self._c.execute(
            insert(zones).values(
                id=zone.id,
                account_id=zone.account_id,
                name=zone.name,
                status=zone.status,
                paused=zone.paused,
                type=zone.type,
                created_on=zone.created_on,
                modified_on=zone.modified_on,
                activated_on=zone.activated_on,
            )
        )

    def get(self, zone_id: str) -> Zone | None:
        r = self._c.execute(select(zones).where(zones.c.id == zone_id)).first()
        return _zone(r) if r else None

    def by_name(self, name: str) -> Zone | None:
        r = self._c.execute(select(zones).where(zones.c.name == name)).first()
        return _zone(r) if r else None

    def page(self, account_ids: Sequence[str], page: PageRequest, *, name: str | None = None) -> Page[Zone]:
        q = select(zones).where(zones.c.account_id.in_(list(account_ids)))
        if name is not None:
            q = q.where(zones.c.name == name)
        return paged(self._c, q.order_by(zones.c.name, zones.c.id), page, _zone)

    def update(self, zone: Zone) -> None:
        self._c.execute(
            update(zones)
            .where(zones.c.id == zone.id)
            .values(paused=zone.paused, status=zone.status, modified_on=zone.modified_on)
        )

    def delete(self, zone_id: str) -> None:
        self._c.execute(delete(zones).where(zones.c.id == zone_id))


def _binding(r: Any) -> Binding:
    service = service_by_id(r.service_id)
    assert service is not None, r.service_id
    return Binding(
        id=r.id,
        prefix_id=r.prefix_id,
        account_id=r.account_id,
        cidr=ipaddress.ip_network(r.cidr),
        service=service,
        state=r.state,
        created_at=r.created_at,
        revision=r.revision,
    )


class SqlBindingRepo:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def add(self, b: Binding) -> None:
        key = range_key(b.cidr)
        self._c.execute(
            insert(service_bindings).values(
                id=b.id,
                prefix_id=b.prefix_id,
                account_id=b.account_id,
                family=key.family,
                start_key=key.start,
                end_key=key.end,
                cidr=str(b.cidr),
                service_id=b.service.id,
                state=b.state,
                created_at=b.created_at,
                revision=b.revision,
            )
        )

    def get(self, prefix_id: str, binding_id: str) -> Binding | None:
        q = select(service_bindings).where(
            service_bindings.c.prefix_id == prefix_id, service_bindings.c.id == binding_id
        )
        r = self._c.execute(q).first()
        return _binding(r) if r else None

    def for_prefix(self, prefix_id: str) -> list[Binding]:
        q = (
            select(service_bindings)
            .where(service_bindings.c.prefix_id == prefix_id)
            .order_by(service_bindings.c.start_key, service_bindings.c.end_key.desc(), service_bindings.c.id)
        )
        return [_binding(r) for r in self._c.execute(q)]

    def set_state(self, binding_id: str, state: str) -> None:
        self._c.execute(update(service_bindings).where(service_bindings.c.id == binding_id).values(state=state))

    def delete(self, binding_id: str) -> None:
        self._c.execute(delete(service_bindings).where(service_bindings.c.id == binding_id))

    def settle(self, limit: int | None) -> int:
        """Make active the provisioning bindings created at `limit` or before (None: all of them, as do
        bindings older than the feed); returns how many."""
        b = service_bindings.c
        q = update(service_bindings).where(b.state == "provisioning")
        if limit is not None:
            q = q.where(or_(b.revision.is_(None), b.revision <= limit))
        return int(self._c.execute(q.values(state="active")).rowcount)
