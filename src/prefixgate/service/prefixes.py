"""BYOIP prefixes: onboard, list, describe, validate, approve, delete."""

from __future__ import annotations

import dataclasses
import secrets

from ..domain.codes import Code
from ..domain.errors import InvalidInput, NotFound
from ..domain.model import Page, PageRequest, Prefix
from ..domain.net import parse_cidr
from ..domain.roles import Permission
from ..domain.rules import check_asn, check_prefix_cidr, check_prefix_deletable, check_prefix_overlap
from .context import Actor, new_id, record, utcnow
from .ports import Database, UnitOfWork
from .records import prefix_record
from .revocation import enforce, prefix_hostname_impact, prefix_impact, prefix_map_impact

__all__ = [
    "approve_prefix",
    "create_prefix",
    "delete_prefix",
    "edit_prefix",
    "get_prefix",
    "list_prefixes",
    "validate_prefix",
]

MAX_DESCRIPTION = 1000


def _check_description(description: str) -> str:
    if len(description) > MAX_DESCRIPTION:
        raise InvalidInput(f"description must be at most {MAX_DESCRIPTION} characters", code=Code.INVALID_FIELD)
    return description


def _owned(uow: UnitOfWork, account_id: str, prefix_id: str, *, for_update: bool = False) -> Prefix:
    prefix = uow.prefixes.get(account_id, prefix_id, for_update=for_update)
    if prefix is None:
        raise NotFound("prefix not found", code=Code.NOT_FOUND)
    return prefix


def _record(
    uow: UnitOfWork,
    actor: Actor,
    action: str,
    account_id: str,
    *,
    before: Prefix | None = None,
    after: Prefix | None = None,
) -> None:
    subject = after or before
    assert subject is not None
    record(
        uow,
        actor,
        action,
        subject.id,
        owners=[("account", account_id)],
        old=prefix_record(before) if before else None,
        new=prefix_record(after) if after else None,
    )


def create_prefix(
    db: Database,
    actor: Actor,
    account_id: str,
    cidr: str,
    *,
    asn: int | None,
    description: str = "",
    loa_document_id: str | None = None,
    delegate_loa_creation: bool = False,
    allow_non_public: bool = False,
) -> Prefix:
    """Onboard a prefix, pending approval.

    Raises:
        InvalidInput: the CIDR is malformed, not canonical, too specific or not public.
        Conflict: it overlaps a prefix already onboarded by any account.
    """
    actor.require(account_id, Permission.ADDRESSING_WRITE)
    net = parse_cidr(cidr)
    check_prefix_cidr(net, allow_non_public=allow_non_public)
    check_asn(asn)
    _check_description(description)
    now = utcnow()
    prefix = Prefix(
        id=new_id(),
        account_id=account_id,
        cidr=net,
        asn=asn,
        description=description,
        approved="P",
        created_at=now,
        modified_at=now,
        loa_document_id=loa_document_id,
        delegate_loa_creation=delegate_loa_creation,
        ownership_validation_token=secrets.token_hex(16),
    )
    with db.write() as uow:
        uow.prefixes.lock_space(net.version)
        check_prefix_overlap(net, uow.prefixes.overlapping(net))
        uow.prefixes.add(prefix)
        _record(uow, actor, "prefix.created", account_id, after=prefix)
        uow.commit()
    return prefix


def list_prefixes(db: Database, actor: Actor, account_id: str, page: PageRequest) -> Page[Prefix]:
    actor.require(account_id, Permission.ADDRESSING_READ)
    with db.read() as uow:
        return uow.prefixes.page(account_id, page)


def get_prefix(db: Database, actor: Actor, account_id: str, prefix_id: str) -> Prefix:
    actor.require(account_id, Permission.ADDRESSING_READ)
    with db.read() as uow:
        return _owned(uow, account_id, prefix_id)


def edit_prefix(db: Database, actor: Actor, account_id: str, prefix_id: str, *, description: str) -> Prefix:
    actor.require(account_id, Permission.ADDRESSING_WRITE)
    _check_description(description)
    with db.write() as uow:
        before = _owned(uow, account_id, prefix_id, for_update=True)
        after = dataclasses.replace(before, description=description, modified_at=utcnow())
        uow.prefixes.update(after)
        _record(uow, actor, "prefix.updated", account_id, before=before, after=after)
        uow.commit()
    return after


def validate_prefix(db: Database, actor: Actor, account_id: str, prefix_id: str) -> Prefix:
    """Start a new validation round: the IRR, RPKI and ownership states go back to `pending`.

    The checks themselves arrive with real onboarding; an operator's approval marks them valid.
    """
    actor.require(account_id, Permission.ADDRESSING_WRITE)
    with db.write() as uow:
        before = _owned(uow, account_id, prefix_id, for_update=True)
        if before.is_approved:
            return before
        after = dataclasses.replace(
            before,
            irr_validation_state="pending",
            rpki_validation_state="pending",
            ownership_validation_state="pending",
            modified_at=utcnow(),
        )
        uow.prefixes.update(after)
        _record(uow, actor, "prefix.validation_requested", account_id, before=before, after=after)
        uow.commit()
    return after


def approve_prefix(db: Database, actor: Actor, prefix_id: str) -> Prefix:
    """Operators mark a prefix approved ("V") once its ownership is established."""
    actor.require_operator()
    with db.write() as uow:
        before = uow.prefixes.get(None, prefix_id, for_update=True)
        if before is None:
            raise NotFound("prefix not found", code=Code.NOT_FOUND)
        after = dataclasses.replace(
            before,
            approved="V",
            irr_validation_state="valid",
            rpki_validation_state="valid",
            ownership_validation_state="valid",
            modified_at=utcnow(),
        )
        uow.prefixes.update(after)
        _record(uow, actor, "prefix.approved", before.account_id, before=before, after=after)
        uow.commit()
    return after


def delete_prefix(db: Database, actor: Actor, account_id: str, prefix_id: str, *, force: bool = False) -> Prefix:
    """Delete an unapproved prefix that has no delegations.

    Raises:
        NotFound: not this account's prefix. Conflict: approved, or still delegated.
    """
    actor.require(account_id, Permission.ADDRESSING_WRITE)
    with db.write() as uow:
        prefix = _owned(uow, account_id, prefix_id, for_update=True)
        check_prefix_deletable(prefix, uow.delegations.count(prefix.id))
        uow.spectrum.lock_claims()
        uow.address_maps.lock_ips()
        change = f"deleting prefix {prefix.cidr}"
        enforce(
            uow,
            actor,
            prefix_impact(uow, prefix),
            force=force,
            change=change,
            owner_account_id=account_id,
            hostnames=prefix_hostname_impact(uow, prefix),
            maps=prefix_map_impact(uow, prefix),
        )
        for binding in uow.bindings.for_prefix(prefix.id):
            uow.bindings.delete(binding.id)
        uow.prefixes.delete(prefix.id)
        _record(uow, actor, "prefix.deleted", account_id, before=prefix)
        uow.commit()
    return prefix
