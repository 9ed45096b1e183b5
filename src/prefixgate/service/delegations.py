"""Prefix delegations, what a delegatee received, and who may use an IP."""

from __future__ import annotations

from ..domain.codes import Code
from ..domain.errors import InvalidInput, NotFound
from ..domain.model import Delegation, IpAccess, Page, PageRequest, Prefix, ReceivedDelegation
from ..domain.net import parse_cidr, parse_ip
from ..domain.roles import Permission
from ..domain.rules import check_delegation
from . import revocation
from .context import Actor, new_id, record, utcnow
from .ports import Database, UnitOfWork
from .records import delegation_record
from .revocation import Impact
from .usability import account_ip_access

__all__ = [
    "DelegationImpact",
    "create_delegation",
    "delegate_whole_prefix",
    "delegation_impact",
    "delete_delegation",
    "ip_access",
    "list_delegations",
    "list_received_delegations",
]


def create_delegation(
    db: Database, actor: Actor, account_id: str, prefix_id: str, cidr: str, delegated_account_id: str
) -> Delegation:
    """Delegate part or all of a prefix to another account.

    The parent prefix is locked for the check and the write, so two identical requests
    can never both succeed.

    Raises:
        NotFound: the prefix is not this account's.
        InvalidInput: the CIDR is bad or outside the prefix; the delegatee is unknown or the owner.
        Conflict: the same CIDR is already delegated to that account.
    """
    actor.require(account_id, Permission.ADDRESSING_WRITE)
    net = parse_cidr(cidr)
    with db.write() as uow:
        prefix = uow.prefixes.get(account_id, prefix_id, for_update=True)
        if prefix is None:
            raise NotFound("prefix not found", code=Code.NOT_FOUND)
        if delegated_account_id != account_id and uow.accounts.get(delegated_account_id) is None:
            raise InvalidInput(
                f"delegated_account_id {delegated_account_id!r} is not an existing account",
                code=Code.UNKNOWN_DELEGATED_ACCOUNT,
            )
        check_delegation(prefix, net, delegated_account_id, uow.delegations.with_cidr(prefix.id, net))
        now = utcnow()
        delegation = Delegation(
            id=new_id(),
            prefix_id=prefix.id,
            owner_account_id=account_id,
            cidr=net,
            delegated_account_id=delegated_account_id,
            created_at=now,
            modified_at=now,
        )
        uow.delegations.add(delegation)
        record(
            uow,
            actor,
            "delegation.created",
            delegation.id,
            owners=[("account", account_id), ("account", delegated_account_id)],
            new=delegation_record(delegation),
            metadata={"prefix_cidr": str(prefix.cidr)},
        )
        uow.commit()
    return delegation


def delegate_whole_prefix(
    db: Database, actor: Actor, account_id: str, prefix_id: str, delegated_account_id: str
) -> Delegation:
    """The dashboard's delegation: always the entire prefix, its CIDR read here (less than the entire
    prefix needs the API's create_delegation). A prefix's CIDR never changes, so reading it first is safe.

    Raises:
        As create_delegation.
    """
    actor.require(account_id, Permission.ADDRESSING_WRITE)
    with db.read() as uow:
        prefix = uow.prefixes.get(account_id, prefix_id)
    if prefix is None:
        raise NotFound("prefix not found", code=Code.NOT_FOUND)
    return create_delegation(db, actor, account_id, prefix.id, str(prefix.cidr), delegated_account_id)


def list_delegations(
    db: Database, actor: Actor, account_id: str, prefix_id: str, page: PageRequest
) -> Page[Delegation]:
    actor.require(account_id, Permission.ADDRESSING_READ)
    with db.read() as uow:
        if uow.prefixes.get(account_id, prefix_id) is None:
            raise NotFound("prefix not found", code=Code.NOT_FOUND)
        return uow.delegations.page(prefix_id, page)


def _owned_delegation(
    uow: UnitOfWork, account_id: str, prefix_id: str, delegation_id: str
) -> tuple[Prefix, Delegation]:
    prefix = uow.prefixes.get(account_id, prefix_id, for_update=True)
    delegation = uow.delegations.get(prefix_id, delegation_id) if prefix is not None else None
    if prefix is None or delegation is None:
        raise NotFound("delegation not found", code=Code.NOT_FOUND)
    return prefix, delegation


DelegationImpact = Impact  # what deleting a delegation would take away from the delegatee


def delegation_impact(
    db: Database, actor: Actor, account_id: str, prefix_id: str, delegation_id: str
) -> tuple[Delegation, DelegationImpact]:
    """What deleting the delegation would affect, without changing anything."""
    actor.require(account_id, Permission.ADDRESSING_READ)
    with db.read() as uow:
        prefix, delegation = _owned_delegation(uow, account_id, prefix_id, delegation_id)
        impact = DelegationImpact(
            apps=revocation.delegation_impact(uow, prefix, delegation),
            hostnames=revocation.delegation_hostname_impact(uow, prefix, delegation),
            maps=revocation.delegation_map_impact(uow, prefix, delegation),
        )
    return delegation, impact


def delete_delegation(
    db: Database, actor: Actor, account_id: str, prefix_id: str, delegation_id: str, *, force: bool = False
) -> Delegation:
    """Remove a delegation. The delegatee loses the addresses at once, unless another grant covers them.

    Raises:
        NotFound: not this account's delegation.
        Conflict: the delegatee's Spectrum apps or address maps still use the addresses (unless force
            blocks the apps and takes the IPs off the maps).
    """
    actor.require(account_id, Permission.ADDRESSING_WRITE)
    with db.write() as uow:
        prefix, delegation = _owned_delegation(uow, account_id, prefix_id, delegation_id)
        uow.spectrum.lock_claims()
        uow.address_maps.lock_ips()
        change = f"deleting delegation {delegation.id} ({delegation.cidr})"
        affected = revocation.delegation_impact(uow, prefix, delegation)
        hostnames = revocation.delegation_hostname_impact(uow, prefix, delegation)
        maps = revocation.delegation_map_impact(uow, prefix, delegation)
        revocation.enforce(
            uow,
            actor,
            affected,
            force=force,
            change=change,
            owner_account_id=account_id,
            hostnames=hostnames,
            maps=maps,
        )
        uow.delegations.delete(delegation.id)
        record(
            uow,
            actor,
            "delegation.deleted",
            delegation.id,
            owners=[("account", account_id), ("account", delegation.delegated_account_id)],
            old=delegation_record(delegation),
            metadata={"prefix_cidr": str(prefix.cidr) if prefix else None},
        )
        uow.commit()
    return delegation


def list_received_delegations(
    db: Database, actor: Actor, account_id: str, page: PageRequest
) -> Page[ReceivedDelegation]:
    """Delegations other accounts made to `account_id`: what it may put to use."""
    actor.require(account_id, Permission.ADDRESSING_READ)
    with db.read() as uow:
        return uow.delegations.received(account_id, page)


def ip_access(db: Database, actor: Actor, account_id: str, ip: str) -> IpAccess:
    """Whether `account_id` may use `ip`, and why. Never reveals other accounts' objects."""
    actor.require(account_id, Permission.ADDRESSING_READ)
    address = parse_ip(ip)
    with db.read() as uow:
        return account_ip_access(uow, account_id, address)
