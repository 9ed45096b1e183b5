"""The serving state as edges see it (prefixgate.edge.state): the whole of it, or chosen rows.

Plain selects over the tables that decide serving, converted in one place. Run them inside one
consistent read transaction to get the state at one revision.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable
from typing import Any, Final

from sqlalchemy import Connection, Select, select

from ....domain.hostnames import ACTIVE
from ....edge.state import (
    KINDS,
    AppRow,
    BindingRow,
    DelegationRow,
    EdgeState,
    FallbackOriginRow,
    HostnameRow,
    PrefixRow,
    Row,
    ZoneRow,
    address_from_text,
    network_from_text,
)
from ..tables import (
    custom_hostnames,
    delegations,
    fallback_origins,
    prefixes,
    service_bindings,
    spectrum_app_ips,
    spectrum_apps,
    zones,
)

__all__ = ["SqlEdgeStateRepo"]

_CHUNK: Final = 500  # ids per IN (...) list: well under SQLite's and PostgreSQL's parameter limits


def _prefix(r: Any) -> PrefixRow:
    return PrefixRow(r.id, r.account_id, network_from_text(r.cidr), r.approved == "V")


def _delegation(r: Any) -> DelegationRow:
    return DelegationRow(r.id, r.prefix_id, network_from_text(r.cidr), r.delegated_account_id)


def _binding(r: Any) -> BindingRow:
    return BindingRow(r.id, r.prefix_id, network_from_text(r.cidr), r.service_id)


def _zone(r: Any) -> ZoneRow:
    return ZoneRow(r.id, r.account_id, bool(r.paused))


def _hostname(r: Any) -> HostnameRow:
    return HostnameRow(r.id, r.zone_id, r.account_id, r.hostname, r.custom_origin_server or None)


def _fallback(r: Any) -> FallbackOriginRow:
    return FallbackOriginRow(r.zone_id, r.origin)


_P, _D, _B, _Z = prefixes.c, delegations.c, service_bindings.c, zones.c
_A, _AI, _H, _F = spectrum_apps.c, spectrum_app_ips.c, custom_hostnames.c, fallback_origins.c

# kind -> (the select of its rows, the column its ids are in, the conversion)
_SIMPLE: Final[dict[str, tuple[Select[Any], Any, Callable[[Any], Row]]]] = {
    "prefix": (select(_P.id, _P.account_id, _P.cidr, _P.approved), _P.id, _prefix),
    "delegation": (select(_D.id, _D.prefix_id, _D.cidr, _D.delegated_account_id), _D.id, _delegation),
    "binding": (select(_B.id, _B.prefix_id, _B.cidr, _B.service_id), _B.id, _binding),
    "zone": (select(_Z.id, _Z.account_id, _Z.paused), _Z.id, _zone),
    "hostname": (
        select(_H.id, _H.zone_id, _H.account_id, _H.hostname, _H.custom_origin_server).where(_H.status == ACTIVE),
        _H.id,
        _hostname,
    ),
    "fallback_origin": (select(_F.zone_id, _F.origin), _F.zone_id, _fallback),
}
_APPS: Final = select(
    _A.id,
    _A.zone_id,
    _A.account_id,
    _A.protocol,
    _A.origin_direct,
    _A.origin_dns_name,
    _A.origin_port,
    _A.proxy_protocol,
    _A.traffic_type,
    _A.status,
    _A.modified_on,
)


def _chunks(ids: Collection[str]) -> Iterable[list[str]]:
    items = sorted(ids)
    for i in range(0, len(items), _CHUNK):
        yield items[i : i + _CHUNK]


class SqlEdgeStateRepo:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def read_state(self, revision: int) -> EdgeState:
        """Every row that decides serving, labelled `revision` (the caller read it in the same
        transaction)."""
        rows: list[Row] = []
        for kind in KINDS:
            if kind == "app":
                rows.extend(self._apps(_APPS))
            else:
                q, _, convert = _SIMPLE[kind]
                rows.extend(convert(r) for r in self._c.execute(q))
        return EdgeState.of(revision, rows)

    def read_rows(self, kind: str, ids: Collection[str]) -> dict[str, Row]:
        """The rows of `kind` with these ids (fallback origins: zone ids) that exist now; a hostname
        only while active. Ids without a row are missing from the answer."""
        out: dict[str, Row] = {}
        for chunk in _chunks(ids):
            if kind == "app":
                found: Iterable[Row] = self._apps(_APPS.where(_A.id.in_(chunk)))
            else:
                q, column, convert = _SIMPLE[kind]
                found = [convert(r) for r in self._c.execute(q.where(column.in_(chunk)))]
            for row in found:
                out[row.zone_id if isinstance(row, FallbackOriginRow) else row.id] = row
        return out

    def _apps(self, q: Select[Any]) -> list[AppRow]:
        apps = list(self._c.execute(q))
        ips: dict[str, list[str]] = {a.id: [] for a in apps}
        ip_q = select(_AI.app_id, _AI.ip).order_by(_AI.app_id, _AI.family, _AI.ip_key)
        if len(apps) <= _CHUNK:
            ip_q = ip_q.where(_AI.app_id.in_(list(ips)))
        for r in self._c.execute(ip_q):
            if r.app_id in ips:
                ips[r.app_id].append(r.ip)
        return [
            AppRow(
                id=a.id,
                zone_id=a.zone_id,
                account_id=a.account_id,
                protocol=a.protocol,
                edge_ips=tuple(address_from_text(ip) for ip in ips[a.id]),
                origin_direct=tuple(json.loads(a.origin_direct)) if a.origin_direct else (),
                origin_dns_name=a.origin_dns_name,
                origin_port=a.origin_port,
                proxy_protocol=a.proxy_protocol,
                traffic_type=a.traffic_type,
                status=a.status,
                modified_on=a.modified_on,
            )
            for a in apps
        ]
