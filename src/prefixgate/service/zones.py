"""Zones: the DNS domains Spectrum apps (and later custom hostnames) live in."""

from __future__ import annotations

import dataclasses

from ..domain.codes import Code
from ..domain.dnsname import parse_hostname
from ..domain.errors import Conflict, InvalidInput, NotFound
from ..domain.model import Page, PageRequest, Zone
from ..domain.roles import Permission
from .context import Actor, new_id, record, utcnow
from .hostname_records import hostname_audit_record
from .ports import Database, UnitOfWork
from .records import app_record, zone_record

__all__ = ["create_zone", "delete_zone", "edit_zone", "get_zone", "list_zones", "zone_for"]

ZONE_TYPES = ("full", "partial", "secondary")


def zone_for(uow: UnitOfWork, actor: Actor, zone_id: str, permission: Permission) -> Zone:
    """The zone, if the caller may see it; NotFound otherwise (a zone's existence never leaks).

    Raises:
        NotFound: no such zone, or the caller is not a member of its account.
        AccessDenied: a member whose role lacks `permission`.
    """
    zone = uow.zones.get(zone_id)
    if zone is None or not actor.is_member(zone.account_id):
        raise NotFound("zone not found", code=Code.NOT_FOUND)
    actor.require(zone.account_id, permission)
    return zone


def create_zone(db: Database, actor: Actor, account_id: str, name: str, *, type: str = "full") -> Zone:
    """Add a zone to an account. Its name must be a valid DNS name no other zone has.

    prefixgate is not a DNS provider: the zone is active at once (no nameserver check).
    """
    actor.require(account_id, Permission.ZONES_WRITE)
    name = parse_hostname(name, what="zone name", code=Code.INVALID_ZONE_NAME)
    if type not in ZONE_TYPES:
        raise InvalidInput(f"type must be one of {', '.join(ZONE_TYPES)}", code=Code.INVALID_FIELD)
    now = utcnow()
    zone = Zone(
        id=new_id(), account_id=account_id, name=name, created_on=now, modified_on=now, type=type, activated_on=now
    )
    with db.write() as uow:
        if uow.accounts.get(account_id) is None:
            raise NotFound("account not found", code=Code.NOT_FOUND)
        if uow.zones.by_name(name) is not None:
            raise Conflict(f"a zone named {name} already exists", code=Code.ZONE_EXISTS)
        uow.zones.add(zone)
        record(
            uow,
            actor,
            "zone.created",
            zone.id,
            owners=[("account", account_id)],
            new=zone_record(zone),
        )
        uow.commit()
    return zone


def list_zones(
    db: Database, actor: Actor, page: PageRequest, *, account_id: str | None = None, name: str | None = None
) -> Page[Zone]:
    """Zones of the accounts where the caller may read zones (optionally one account, one name)."""
    accounts = [a for a in actor.grants if actor.may(a, Permission.ZONES_READ)]
    if account_id is not None:
        accounts = [a for a in accounts if a == account_id]
    if name is not None:
        name = name.strip().lower().removesuffix(".")
    with db.read() as uow:
        return uow.zones.page(accounts, page, name=name)


def get_zone(db: Database, actor: Actor, zone_id: str) -> Zone:
    with db.read() as uow:
        return zone_for(uow, actor, zone_id, Permission.ZONES_READ)


def edit_zone(db: Database, actor: Actor, zone_id: str, *, paused: bool | None) -> Zone:
    with db.write() as uow:
        before = zone_for(uow, actor, zone_id, Permission.ZONES_WRITE)
        after = dataclasses.replace(before, paused=before.paused if paused is None else paused, modified_on=utcnow())
        uow.zones.update(after)
        record(
            uow,
            actor,
            "zone.updated",
            zone_id,
            owners=[("account", after.account_id)],
            old=zone_record(before),
            new=zone_record(after),
        )
        uow.commit()
    return after


def delete_zone(db: Database, actor: Actor, zone_id: str) -> Zone:
    """Delete a zone with the Spectrum apps, custom hostnames and fallback origin in it, and its
    address-map memberships."""
    with db.write() as uow:
        zone = zone_for(uow, actor, zone_id, Permission.ZONES_WRITE)
        for membership in uow.address_maps.with_zone(zone.id):
            uow.address_maps.remove_membership(membership.map_id, "zone", zone.id)
            record(
                uow,
                actor,
                "address_map.member_removed",
                membership.map_id,
                owners=[("account", zone.account_id)],
                metadata={"kind": "zone", "identifier": zone.id, "reason": f"zone {zone.name} was deleted"},
            )
        uow.spectrum.lock_claims()
        for app in uow.spectrum.in_zone(zone.id):
            uow.spectrum.delete(app.id)
            record(
                uow,
                actor,
                "spectrum_app.deleted",
                app.id,
                owners=[("account", zone.account_id)],
                old=app_record(app),
                metadata={"zone_id": zone.id},
            )
        for host in uow.hostnames.in_zone(zone.id):
            uow.hostnames.delete(host.id)
            record(
                uow,
                actor,
                "custom_hostname.deleted",
                host.id,
                owners=[("account", zone.account_id)],
                old=hostname_audit_record(host),
                metadata={"zone_id": zone.id},
            )
        uow.fallback_origins.delete(zone.id)
        uow.zones.delete(zone.id)
        record(
            uow,
            actor,
            "zone.deleted",
            zone.id,
            owners=[("account", zone.account_id)],
            old=zone_record(zone),
        )
        uow.commit()
    return zone
