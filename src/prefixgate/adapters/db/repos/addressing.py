"""Prefixes and delegations, indexed by (family, start_key, end_key)."""

from __future__ import annotations

import ipaddress
from typing import Any

from sqlalchemy import Connection, bindparam, cast, delete, func, insert, literal, literal_column, select, text, update
from sqlalchemy.dialects.postgresql import CIDR, INET
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.elements import ColumnElement

from ....domain.codes import Code
from ....domain.errors import Conflict
from ....domain.model import Delegation, Page, PageRequest, Prefix, ReceivedDelegation
from ....domain.net import IPAddress, IPNetwork, address_key, range_key
from ..tables import delegations, prefixes
from ._paging import PagedQuery, paged

# PostgreSQL's generated cidr column (migration 0002), not part of the portable table description.
_NET: ColumnElement[Any] = literal_column("prefixes.net")

# An arbitrary constant naming prefixgate's advisory lock on the address space of one family.
_SPACE_LOCK = 0x70676174


_PREFIX = select(prefixes).where(prefixes.c.id == bindparam("prefix_id"))
_OWNED_PREFIX = _PREFIX.where(prefixes.c.account_id == bindparam("account_id"))
_PREFIX_STATEMENTS = {  # (scoped to an account, locked) -> statement
    (False, False): _PREFIX,
    (True, False): _OWNED_PREFIX,
    (False, True): _PREFIX.with_for_update(),
    (True, True): _OWNED_PREFIX.with_for_update(),
}
_DELEGATIONS_OF = PagedQuery(
    select(delegations)
    .where(delegations.c.prefix_id == bindparam("prefix_id"))
    .order_by(delegations.c.start_key, delegations.c.end_key, delegations.c.id)
)
_DELEGATION = select(delegations).where(
    delegations.c.prefix_id == bindparam("prefix_id"), delegations.c.id == bindparam("delegation_id")
)
_DELEGATIONS_WITH_CIDR = select(delegations).where(
    delegations.c.prefix_id == bindparam("prefix_id"), delegations.c.cidr == bindparam("cidr")
)
_ADD_DELEGATION = insert(delegations)


def _prefix(r: Any) -> Prefix:
    return Prefix(
        id=r.id,
        account_id=r.account_id,
        cidr=ipaddress.ip_network(r.cidr),
        asn=r.asn,
        description=r.description,
        approved=r.approved,
        created_at=r.created_at,
        modified_at=r.modified_at,
        loa_document_id=r.loa_document_id,
        delegate_loa_creation=bool(r.delegate_loa_creation),
        on_demand_enabled=bool(r.on_demand_enabled),
        on_demand_locked=bool(r.on_demand_locked),
        advertised=r.advertised,
        advertised_modified_at=r.advertised_modified_at,
        irr_validation_state=r.irr_validation_state,
        rpki_validation_state=r.rpki_validation_state,
        ownership_validation_state=r.ownership_validation_state,
        ownership_validation_token=r.ownership_validation_token,
    )


def _prefix_values(p: Prefix) -> dict[str, Any]:
    return {
        "account_id": p.account_id,
        "cidr": str(p.cidr),
        "asn": p.asn,
        "description": p.description,
        "approved": p.approved,
        "loa_document_id": p.loa_document_id,
        "delegate_loa_creation": p.delegate_loa_creation,
        "on_demand_enabled": p.on_demand_enabled,
        "on_demand_locked": p.on_demand_locked,
        "advertised": p.advertised,
        "advertised_modified_at": p.advertised_modified_at,
        "irr_validation_state": p.irr_validation_state,
        "rpki_validation_state": p.rpki_validation_state,
        "ownership_validation_state": p.ownership_validation_state,
        "ownership_validation_token": p.ownership_validation_token,
        "created_at": p.created_at,
        "modified_at": p.modified_at,
    }


def _delegation(r: Any) -> Delegation:
    return Delegation(
        id=r.id,
        prefix_id=r.prefix_id,
        owner_account_id=r.owner_account_id,
        cidr=ipaddress.ip_network(r.cidr),
        delegated_account_id=r.delegated_account_id,
        created_at=r.created_at,
        modified_at=r.modified_at,
    )


class SqlPrefixRepo:
    def __init__(self, conn: Connection, *, postgres: bool) -> None:
        self._c = conn
        self._postgres = postgres

    def lock_space(self, family: int) -> None:
        if self._postgres:  # SQLite's BEGIN IMMEDIATE already serialises writers
            self._c.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _SPACE_LOCK + family})

    def add(self, prefix: Prefix) -> None:
        key = range_key(prefix.cidr)
        stmt = insert(prefixes).values(
            id=prefix.id, family=key.family, start_key=key.start, end_key=key.end, **_prefix_values(prefix)
        )
        try:
            self._c.execute(stmt)
        except IntegrityError as exc:
            if "ex_prefixes_no_overlap" in str(exc.orig):
                raise Conflict(
                    f"prefix {prefix.cidr} overlaps a prefix onboarded concurrently", code=Code.PREFIX_OVERLAP
                ) from None
            raise

    def get(self, account_id: str | None, prefix_id: str, *, for_update: bool = False) -> Prefix | None:
        q = _PREFIX_STATEMENTS[account_id is not None, for_update and self._postgres]
        r = self._c.execute(q, {"prefix_id": prefix_id, "account_id": account_id}).first()
        return _prefix(r) if r else None

    def page(self, account_id: str, page: PageRequest) -> Page[Prefix]:
        q = (
            select(prefixes)
            .where(prefixes.c.account_id == account_id)
            .order_by(prefixes.c.family, prefixes.c.start_key)
        )
        return paged(self._c, q, page, _prefix)

    def overlapping(self, net: IPNetwork) -> list[Prefix]:
        """Prefixes sharing an address with `net`, in O(log n + k): prefixes never overlap one another,
        so only the last one starting at or before `net` can reach into it from the left."""
        if self._postgres:  # the exclusion constraint's GiST index answers this directly
            q = select(prefixes).where(_NET.op("&&")(cast(literal(str(net)), CIDR)))
            return [_prefix(r) for r in self._c.execute(q)]
        key = range_key(net)
        same_family = prefixes.c.family == key.family
        inside = select(prefixes).where(same_family, prefixes.c.start_key.between(key.start, key.end))
        before = (
            select(prefixes)
            .where(same_family, prefixes.c.start_key < key.start)
            .order_by(prefixes.c.start_key.desc())
            .limit(1)
        )
        found = [_prefix(r) for r in self._c.execute(inside)]
        left = self._c.execute(before).first()
        if left is not None and left.end_key >= key.start:
            found.append(_prefix(left))
        return found

    def containing(self, ip: IPAddress) -> Prefix | None:
        if self._postgres:
            q = select(prefixes).where(_NET.op(">>=")(cast(literal(str(ip)), INET))).limit(1)
            r = self._c.execute(q).first()
            return _prefix(r) if r else None
        family, key = address_key(ip)
        q = (
            select(prefixes)
            .where(prefixes.c.family == family, prefixes.c.start_key <= key)
            .order_by(prefixes.c.start_key.desc())
            .limit(1)
        )
        r = self._c.execute(q).first()
        return _prefix(r) if r is not None and r.end_key >= key else None

    def update(self, prefix: Prefix) -> None:
        self._c.execute(update(prefixes).where(prefixes.c.id == prefix.id).values(**_prefix_values(prefix)))

    def delete(self, prefix_id: str) -> None:
        self._c.execute(delete(prefixes).where(prefixes.c.id == prefix_id))


class SqlDelegationRepo:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def add(self, d: Delegation) -> None:
        key = range_key(d.cidr)
        self._c.execute(
            _ADD_DELEGATION,
            {
                "id": d.id,
                "prefix_id": d.prefix_id,
                "owner_account_id": d.owner_account_id,
                "delegated_account_id": d.delegated_account_id,
                "family": key.family,
                "start_key": key.start,
                "end_key": key.end,
                "cidr": str(d.cidr),
                "created_at": d.created_at,
                "modified_at": d.modified_at,
            },
        )

    def get(self, prefix_id: str, delegation_id: str) -> Delegation | None:
        r = self._c.execute(_DELEGATION, {"prefix_id": prefix_id, "delegation_id": delegation_id}).first()
        return _delegation(r) if r else None

    def page(self, prefix_id: str, page: PageRequest) -> Page[Delegation]:
        return _DELEGATIONS_OF.run(self._c, {"prefix_id": prefix_id}, page, _delegation)

    def with_cidr(self, prefix_id: str, cidr: IPNetwork) -> list[Delegation]:
        params = {"prefix_id": prefix_id, "cidr": str(cidr)}
        return [_delegation(r) for r in self._c.execute(_DELEGATIONS_WITH_CIDR, params)]

    def count(self, prefix_id: str) -> int:
        q = select(func.count()).select_from(delegations).where(delegations.c.prefix_id == prefix_id)
        return int(self._c.execute(q).scalar_one())

    def delete(self, delegation_id: str) -> None:
        self._c.execute(delete(delegations).where(delegations.c.id == delegation_id))

    def received(self, account_id: str, page: PageRequest) -> Page[ReceivedDelegation]:
        q = (
            select(*delegations.c, prefixes.c.cidr.label("parent_cidr"))
            .join(prefixes, prefixes.c.id == delegations.c.prefix_id)
            .where(delegations.c.delegated_account_id == account_id)
            .order_by(delegations.c.created_at, delegations.c.id)
        )
        return paged(self._c, q, page, _received)

    def covering(self, prefix: Prefix, account_id: str, ip: IPAddress) -> list[ReceivedDelegation]:
        """The account's delegations of `prefix` that contain `ip`, most specific first.

        Delegations may nest and overlap, so a range condition on (start, end) would read every
        delegation below the address. Instead each network that can contain `ip` inside the prefix
        (at most 33 for IPv4, 81 for IPv6 below a /48) is looked up by equality on the unique
        (prefix_id, cidr, delegated_account_id) index: a bounded number of probes at any size.
        """
        network = type(prefix.cidr)  # IPv4Network or IPv6Network: never guess the family from the integer
        candidates = [
            str(network((int(ip), length), strict=False))
            for length in range(prefix.cidr.prefixlen, ip.max_prefixlen + 1)
        ]
        q = select(delegations).where(
            delegations.c.prefix_id == prefix.id,
            delegations.c.cidr.in_(candidates),
            delegations.c.delegated_account_id == account_id,
        )
        found = [_delegation(r) for r in self._c.execute(q)]
        found.sort(key=lambda d: (-d.cidr.prefixlen, d.id))
        return [ReceivedDelegation(d, prefix.cidr) for d in found]

    def overlapping(self, prefix: Prefix, account_id: str, net: IPNetwork) -> list[Delegation]:
        """The account's delegations of `prefix` that overlap `net`, ordered by id.

        Two CIDRs overlap only when one contains the other, so these are the delegations containing `net`
        (each network from the prefix's length down to `net`'s probed by equality on the unique index, as
        in `covering`) and those inside it (a range on (prefix_id, delegated_account_id, start_key)).
        """
        network = type(prefix.cidr)
        around = [
            str(network((int(net.network_address), length), strict=False))
            for length in range(prefix.cidr.prefixlen, net.prefixlen + 1)
        ]
        key = range_key(net)
        mine = (delegations.c.prefix_id == prefix.id, delegations.c.delegated_account_id == account_id)
        containing = select(delegations).where(*mine, delegations.c.cidr.in_(around))
        inside = select(delegations).where(
            *mine,
            delegations.c.family == key.family,
            delegations.c.start_key >= key.start,
            delegations.c.start_key <= key.end,
        )
        found = {r.id: _delegation(r) for q in (containing, inside) for r in self._c.execute(q)}
        return [found[i] for i in sorted(found)]


def _received(r: Any) -> ReceivedDelegation:
    return ReceivedDelegation(_delegation(r), ipaddress.ip_network(r.parent_cidr))
