"""Read models for the dashboard's zone pages: a zone's Spectrum apps and custom hostnames, each page
gathered in one read, with what the visitor may change given as data (templates decide nothing)."""

from __future__ import annotations

from dataclasses import dataclass

from ..domain.hostnames import FallbackOrigin, HostnameQuery
from ..domain.model import Page, PageRequest, Zone
from ..domain.roles import Permission
from ..domain.spectrum import SpectrumApp
from .context import Actor
from .hostname_records import Record, hostname_record
from .ports import Database
from .zones import list_zones, zone_for

__all__ = ["HostnamesView", "SpectrumView", "ZonesView", "hostnames_view", "spectrum_view", "zones_view"]


@dataclass(frozen=True, slots=True)
class ZonesView:
    """An account's zones, and which of their pages and forms the visitor may use."""

    zones: Page[Zone]
    may_add: bool
    may_see_apps: bool
    may_see_hostnames: bool


@dataclass(frozen=True, slots=True)
class SpectrumView:
    zone: Zone
    apps: Page[SpectrumApp]
    may_write: bool


@dataclass(frozen=True, slots=True)
class HostnamesView:
    """A zone's custom hostnames as the API shows them (so the TXT record to add is the API's), and its
    fallback origin, if it has one."""

    zone: Zone
    fallback_origin: FallbackOrigin | None
    hostnames: list[Record]
    total: int
    request: PageRequest
    may_write: bool


def zones_view(db: Database, actor: Actor, account_id: str, page: PageRequest) -> ZonesView:
    """The account's zones by name.

    Raises:
        AccessDenied: the visitor is not a member of the account, or may not read its zones.
    """
    actor.require(account_id, Permission.ZONES_READ)
    return ZonesView(
        zones=list_zones(db, actor, page, account_id=account_id),
        may_add=actor.may(account_id, Permission.ZONES_WRITE),
        may_see_apps=actor.may(account_id, Permission.SPECTRUM_READ),
        may_see_hostnames=actor.may(account_id, Permission.SSL_READ),
    )


def spectrum_view(db: Database, actor: Actor, zone_id: str, page: PageRequest) -> SpectrumView:
    """The zone's Spectrum apps ordered by DNS name, blocked ones included (with their reason).

    Raises:
        NotFound: no such zone, or not the visitor's.
    """
    with db.read() as uow:
        zone = zone_for(uow, actor, zone_id, Permission.SPECTRUM_READ)
        apps = uow.spectrum.page(zone.id, page, order="dns", descending=False)
    return SpectrumView(zone, apps, actor.may(zone.account_id, Permission.SPECTRUM_WRITE))


def hostnames_view(db: Database, actor: Actor, zone_id: str, page: PageRequest) -> HostnamesView:
    """The zone's custom hostnames, oldest first, and its fallback origin.

    Raises:
        NotFound: no such zone, or not the visitor's.
    """
    with db.read() as uow:
        zone = zone_for(uow, actor, zone_id, Permission.SSL_READ)
        fallback = uow.fallback_origins.get(zone.id)
        hosts = uow.hostnames.page(zone.id, page, HostnameQuery())
    return HostnamesView(
        zone=zone,
        fallback_origin=fallback,
        hostnames=[hostname_record(h) for h in hosts.items],
        total=hosts.total,
        request=hosts.request,
        may_write=actor.may(zone.account_id, Permission.SSL_WRITE),
    )
