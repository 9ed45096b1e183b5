"""Read models for the prefix pages of the dashboard: a prefix's edit page, the confirmations before a
delegation or a binding is removed, and what an account was delegated.

Accounts are named only where the viewer may know the name: the accounts the viewer belongs to, and the
owner of a delegation the viewer's account received. Any other account shows as its id (what the API
gives its owner).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from ..domain.bindings import Binding
from ..domain.codes import Code
from ..domain.edge_feed import DEFAULT_STALE_S
from ..domain.errors import NotFound
from ..domain.model import Account, Delegation, Page, PageRequest, Prefix, ReceivedDelegation
from ..domain.roles import Permission
from . import bindings, delegations
from .console import PrefixRow
from .context import Actor
from .ports import Database, UnitOfWork
from .prefix_map import PrefixMap, prefix_map
from .revocation import Impact

__all__ = [
    "DelegationRow",
    "ImpactLine",
    "PrefixPage",
    "ReceivedRow",
    "Removal",
    "binding_removal",
    "delegation_removal",
    "prefix_page",
    "received_rows",
]

_BATCH = 1000
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class DelegationRow:
    delegation: Delegation
    account: str  # the delegatee's name if the viewer belongs to it, else its id


@dataclass(frozen=True, slots=True)
class PrefixPage:
    """Everything the edit page of one prefix shows, read at one moment."""

    prefix: Prefix
    may_edit: bool
    delegations: tuple[DelegationRow, ...]
    bindings: tuple[Binding, ...]
    map: PrefixMap
    candidates: tuple[Account, ...]  # the viewer's other accounts: whom the dashboard may delegate to

    @property
    def approval(self) -> str:
        return PrefixRow(self.prefix, len(self.delegations), self.may_edit).approval


def _my_accounts(uow: UnitOfWork, actor: Actor) -> list[Account]:
    if actor.user is None:
        return []
    return uow.accounts.all_for_user(actor.user.id)


def _every(fetch: Callable[[PageRequest], Page[T]]) -> list[T]:
    """Every item of a paged query, read in large pages."""
    found: list[T] = []
    number = 1
    while True:
        page = fetch(PageRequest(page=number, per_page=_BATCH))
        found += page.items
        if number * _BATCH >= page.total:
            return found
        number += 1


def prefix_page(
    db: Database, actor: Actor, account_id: str, prefix_id: str, *, stale_s: float = DEFAULT_STALE_S
) -> PrefixPage:
    """The edit page of a prefix: its delegations, bindings (provisioning as it stands now, see
    bindings.settled) and map, and whom it may be delegated to.

    Raises:
        AccessDenied: not a member of the account, or no addressing read permission.
        NotFound: not this account's prefix.
    """
    actor.require(account_id, Permission.ADDRESSING_READ)
    with db.read() as uow:
        prefix = uow.prefixes.get(account_id, prefix_id)
        if prefix is None:
            raise NotFound("prefix not found", code=Code.NOT_FOUND)
        mine = _my_accounts(uow, actor)
        names = {a.id: a.name for a in mine}
        given = _every(lambda p: uow.delegations.page(prefix.id, p))
        bound = bindings.settled(db, uow, uow.bindings.for_prefix(prefix.id), stale_s)
        picture = prefix_map(uow, prefix, given, bound, names)
    return PrefixPage(
        prefix=prefix,
        may_edit=actor.may(account_id, Permission.ADDRESSING_WRITE),
        delegations=tuple(DelegationRow(d, names.get(d.delegated_account_id, d.delegated_account_id)) for d in given),
        bindings=tuple(bound),
        map=picture,
        candidates=tuple(a for a in mine if a.id != prefix.account_id),
    )


@dataclass(frozen=True, slots=True)
class ImpactLine:
    """One thing a removal would affect, and what would happen to it."""

    kind: str  # "Spectrum app" | "Custom hostname" | "Address map"
    name: str  # the app's, hostname's or map's id, with its name where the viewer may read it
    zone_id: str | None
    account: str
    ips: str
    outcome: str


@dataclass(frozen=True, slots=True)
class Removal:
    """What the confirmation before a removal shows."""

    subject: str  # e.g. "the delegation of 1.2.3.0/24 to Account B"
    lines: tuple[ImpactLine, ...]
    may_remove: bool


def _lines(impact: Impact, names: dict[str, str]) -> tuple[ImpactLine, ...]:
    def ips(found: tuple[object, ...]) -> str:
        return ", ".join(str(ip) for ip in found)

    lines = [
        ImpactLine(
            "Spectrum app",
            f"{a.app.id} ({a.app.protocol}" + (f", {a.app.dns_name})" if a.app.account_id in names else ")"),
            a.app.zone_id,
            names.get(a.app.account_id, a.app.account_id),
            ips(a.ips),
            "would be blocked",
        )
        for a in impact.apps
    ]
    lines += [
        ImpactLine(
            "Custom hostname",
            f"{h.host.hostname} ({h.host.id})",
            h.host.zone_id,
            names.get(h.host.account_id, h.host.account_id),
            ips(h.ips),
            "would go back to pending",
        )
        for h in impact.hostnames
    ]
    lines += [
        ImpactLine(
            "Address map",
            m.map_id,
            None,
            names.get(m.account_id, m.account_id),
            ips(m.ips),
            "would lose these IPs",
        )
        for m in impact.maps
    ]
    return tuple(lines)


def _names(db: Database, actor: Actor) -> dict[str, str]:
    with db.read() as uow:
        return {a.id: a.name for a in _my_accounts(uow, actor)}


def delegation_removal(db: Database, actor: Actor, account_id: str, prefix_id: str, delegation_id: str) -> Removal:
    """The confirmation before removing a delegation: the delegatee's apps, hostnames and map IPs that
    depend on it (delegations.delegation_impact), with the accounts named where the viewer may.

    Raises:
        AccessDenied, NotFound: as delegation_impact.
    """
    delegation, impact = delegations.delegation_impact(db, actor, account_id, prefix_id, delegation_id)
    names = _names(db, actor)
    whom = names.get(delegation.delegated_account_id, delegation.delegated_account_id)
    may = actor.may(account_id, Permission.ADDRESSING_WRITE)
    return Removal(f"the delegation of {delegation.cidr} to {whom}", _lines(impact, names), may)


def binding_removal(db: Database, actor: Actor, account_id: str, prefix_id: str, binding_id: str) -> Removal:
    """The confirmation before removing a service binding (bindings.binding_impact).

    Raises:
        AccessDenied, NotFound: as binding_impact.
    """
    binding, impact = bindings.binding_impact(db, actor, account_id, prefix_id, binding_id)
    may = actor.may(account_id, Permission.ADDRESSING_WRITE)
    return Removal(f"the binding of {binding.cidr} to {binding.service.name}", _lines(impact, _names(db, actor)), may)


@dataclass(frozen=True, slots=True)
class ReceivedRow:
    received: ReceivedDelegation
    owner: str  # the delegating account's name: a delegatee may know who delegated to it


def received_rows(db: Database, actor: Actor, account_id: str) -> list[ReceivedRow]:
    """Every delegation other accounts made to `account_id`, oldest first, with each owner's name.

    Raises:
        AccessDenied: not a member of the account, or no addressing read permission.
    """
    actor.require(account_id, Permission.ADDRESSING_READ)
    with db.read() as uow:
        received = _every(lambda p: uow.delegations.received(account_id, p))
        owners = {r.delegation.owner_account_id for r in received}
        names = {o: a.name if (a := uow.accounts.get(o)) is not None else o for o in sorted(owners)}
    return [ReceivedRow(r, names[r.delegation.owner_account_id]) for r in received]
