"""Services and service bindings: which service a prefix's addresses are bound to."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from ..domain.bindings import SERVICES, Binding, Service, check_new_binding, service_by_id
from ..domain.codes import Code
from ..domain.edge_feed import DEFAULT_STALE_S, is_settled, settle_limit
from ..domain.errors import InvalidInput, NotFound
from ..domain.model import Prefix
from ..domain.net import parse_cidr
from ..domain.roles import Permission
from . import revocation
from .context import Actor, new_id, record, utcnow
from .ports import Database, UnitOfWork
from .records import binding_record
from .revocation import Impact, enforce

__all__ = [
    "binding_impact",
    "create_binding",
    "delete_binding",
    "get_binding",
    "list_bindings",
    "list_services",
    "settled",
]


def list_services(actor: Actor, account_id: str) -> tuple[Service, ...]:
    actor.require(account_id, Permission.ADDRESSING_READ)
    return SERVICES


def _prefix(uow: UnitOfWork, account_id: str, prefix_id: str, *, for_update: bool = False) -> Prefix:
    prefix = uow.prefixes.get(account_id, prefix_id, for_update=for_update)
    if prefix is None:
        raise NotFound("prefix not found", code=Code.NOT_FOUND)
    return prefix


def settled(db: Database, uow: UnitOfWork, found: Sequence[Binding], stale_s: float) -> list[Binding]:
    """`found` as provisioning stands now: a binding every live edge serves (or any, when no edge is live,
    say because the only one went stale) is active, and is stored so when the write lock is free at once
    (otherwise a later read or an edge's report stores it)."""
    if not any(b.state == "provisioning" for b in found):
        return list(found)
    limit = settle_limit(uow.edge_feed.nodes(), utcnow(), stale_s)
    now_active = {b.id for b in found if b.state == "provisioning" and is_settled(b.revision, limit)}
    if now_active:
        with db.write_if_free() as w:
            if w is not None:
                w.bindings.settle(limit)
                w.commit()
    return [dataclasses.replace(b, state="active") if b.id in now_active else b for b in found]


def list_bindings(
    db: Database, actor: Actor, account_id: str, prefix_id: str, *, stale_s: float = DEFAULT_STALE_S
) -> list[Binding]:
    actor.require(account_id, Permission.ADDRESSING_READ)
    with db.read() as uow:
        return settled(db, uow, uow.bindings.for_prefix(_prefix(uow, account_id, prefix_id).id), stale_s)


def get_binding(
    db: Database, actor: Actor, account_id: str, prefix_id: str, binding_id: str, *, stale_s: float = DEFAULT_STALE_S
) -> Binding:
    actor.require(account_id, Permission.ADDRESSING_READ)
    with db.read() as uow:
        binding = uow.bindings.get(_prefix(uow, account_id, prefix_id).id, binding_id)
        if binding is None:
            raise NotFound("binding not found", code=Code.NOT_FOUND)
        return settled(db, uow, [binding], stale_s)[0]


def create_binding(
    db: Database,
    actor: Actor,
    account_id: str,
    prefix_id: str,
    cidr: str,
    service_id: str,
    *,
    force: bool = False,
    stale_s: float = DEFAULT_STALE_S,
) -> Binding:
    """Bind part or all of a prefix to a service. Only the prefix's owner may.

    The binding starts `provisioning` with the feed revision its commit takes, and becomes `active` once
    every live edge (one heard from within `stale_s`) serves that revision: on commit when no edge is live,
    otherwise when the last of them reports it (report_node) or a read finds it so.

    Raises:
        InvalidInput: bad CIDR, unknown service, outside the prefix, a first binding not covering it all.
        Conflict: the CIDR already has a binding, or apps would lose Spectrum (without force).
    """
    actor.require(account_id, Permission.ADDRESSING_WRITE)
    net = parse_cidr(cidr)
    service = service_by_id(service_id)
    if service is None:
        raise InvalidInput(
            f"service_id {service_id!r} is not a service; GET .../addressing/services lists them",
            code=Code.UNKNOWN_SERVICE,
        )
    with db.write() as uow:
        prefix = _prefix(uow, account_id, prefix_id, for_update=True)
        uow.spectrum.lock_claims()
        existing = uow.bindings.for_prefix(prefix.id)
        check_new_binding(prefix, net, existing)
        binding = Binding(
            id=new_id(),
            prefix_id=prefix.id,
            account_id=account_id,
            cidr=net,
            service=service,
            state="provisioning",
            created_at=utcnow(),
        )
        change = f"binding {net} to {service.name}"
        after = [*existing, binding]
        enforce(
            uow,
            actor,
            revocation.binding_impact(uow, net, after, change),
            force=force,
            change=change,
            owner_account_id=account_id,
            hostnames=revocation.binding_hostname_impact(uow, net, after, change),
        )
        uow.bindings.add(binding)
        record(
            uow,
            actor,
            "binding.created",
            binding.id,
            owners=[("account", account_id)],
            new=binding_record(binding),
        )
        uow.commit()
        revision = uow.committed_revision
    with db.write() as uow:  # committed: the binding is in effect for every API process
        if is_settled(revision, settle_limit(uow.edge_feed.nodes(), utcnow(), stale_s)):
            uow.bindings.set_state(binding.id, "active")
        uow.commit()
    return dataclasses.replace(binding, revision=revision)


def _removal(uow: UnitOfWork, prefix: Prefix, binding_id: str) -> tuple[Binding, Impact, str]:
    """The binding, what removing it would affect, and the change as the refusal names it."""
    existing = uow.bindings.for_prefix(prefix.id)
    binding = next((b for b in existing if b.id == binding_id), None)
    if binding is None:
        raise NotFound("binding not found", code=Code.NOT_FOUND)
    remaining = [b for b in existing if b.id != binding.id]
    change = f"deleting binding {binding.id} ({binding.cidr} to {binding.service.name})"
    impact = Impact(
        apps=revocation.binding_impact(uow, binding.cidr, remaining, change),
        hostnames=revocation.binding_hostname_impact(uow, binding.cidr, remaining, change),
        maps=[],  # a map IP needs access to its address, not a service
    )
    return binding, impact, change


def binding_impact(
    db: Database, actor: Actor, account_id: str, prefix_id: str, binding_id: str
) -> tuple[Binding, Impact]:
    """What deleting the binding would affect (apps losing Spectrum, hostnames losing CDN), changing nothing.

    Raises:
        NotFound: not this account's prefix or binding.
    """
    actor.require(account_id, Permission.ADDRESSING_READ)
    with db.read() as uow:
        binding, impact, _ = _removal(uow, _prefix(uow, account_id, prefix_id), binding_id)
    return binding, impact


def delete_binding(
    db: Database, actor: Actor, account_id: str, prefix_id: str, binding_id: str, *, force: bool = False
) -> Binding:
    """Remove a binding; apps that would lose their Spectrum binding refuse it unless force blocks them."""
    actor.require(account_id, Permission.ADDRESSING_WRITE)
    with db.write() as uow:
        prefix = _prefix(uow, account_id, prefix_id, for_update=True)
        uow.spectrum.lock_claims()
        binding, impact, change = _removal(uow, prefix, binding_id)
        enforce(
            uow,
            actor,
            impact.apps,
            force=force,
            change=change,
            owner_account_id=account_id,
            hostnames=impact.hostnames,
        )
        uow.bindings.delete(binding.id)
        record(
            uow,
            actor,
            "binding.deleted",
            binding.id,
            owners=[("account", account_id)],
            old=binding_record(binding),
        )
        uow.commit()
    return binding
