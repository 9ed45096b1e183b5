"""Address maps: create, list, read, edit and delete them; put IPs on them and take them off; add and
remove their account and zone members."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Final

from ..domain.address_maps import (
    AddressMap,
    Kind,
    MapIp,
    MapMembership,
    check_account_member,
    check_ips_modifiable,
    check_map_deletable,
    check_membership_removable,
    ip_problem,
    sni_zone_candidates,
)
from ..domain.codes import Code
from ..domain.dnsname import parse_hostname
from ..domain.errors import InvalidInput, NotFound
from ..domain.model import Page, PageRequest
from ..domain.net import IPAddress, parse_ip
from ..domain.roles import Permission
from .context import Actor, new_id, record, utcnow
from .ports import Database, UnitOfWork
from .records import address_map_full_record, address_map_record
from .usability import account_ip_access

__all__ = [
    "KEEP",
    "Keep",
    "MapDetails",
    "add_ip",
    "add_member",
    "create_address_map",
    "delete_address_map",
    "edit_address_map",
    "get_address_map",
    "list_address_maps",
    "remove_ip",
    "remove_member",
]

MAX_DESCRIPTION = 1000


class Keep(Enum):
    """An edit's "leave this field as it is"."""

    KEEP = "keep"


KEEP: Final = Keep.KEEP


@dataclass(frozen=True, slots=True)
class MapDetails:
    map: AddressMap
    ips: list[MapIp]
    memberships: list[MapMembership]

    def record(self) -> dict[str, object]:
        return address_map_full_record(self.map, self.ips, self.memberships)


def _owned(uow: UnitOfWork, account_id: str, map_id: str) -> AddressMap:
    m = uow.address_maps.get(account_id, map_id)
    if m is None:
        raise NotFound("address map not found", code=Code.NOT_FOUND)
    return m


def _details(uow: UnitOfWork, m: AddressMap) -> MapDetails:
    return MapDetails(m, uow.address_maps.ips(m.id), uow.address_maps.memberships(m.id))


def _check_description(description: str | None) -> None:
    if description is not None and len(description) > MAX_DESCRIPTION:
        raise InvalidInput(f"description must be at most {MAX_DESCRIPTION} characters", code=Code.INVALID_FIELD)


def _check_zone(uow: UnitOfWork, account_id: str, zone_id: str) -> None:
    """Raises NotFound unless the zone is the account's (another tenant's zone looks like no zone)."""
    zone = uow.zones.get(zone_id)
    if zone is None or zone.account_id != account_id:
        raise NotFound(f"zone {zone_id} not found in this account", code=Code.NOT_FOUND)


def _check_member(uow: UnitOfWork, m: AddressMap, kind: Kind, identifier: str) -> None:
    if kind == "account":
        check_account_member(m, identifier)
    else:
        _check_zone(uow, m.account_id, identifier)


def _check_ips(uow: UnitOfWork, m: AddressMap, ips: Sequence[IPAddress]) -> None:
    """Every IP must be usable by the map's account: the shared rule (usability.account_ip_access).

    Raises:
        InvalidInput: the first refused IP names the code and reason; the others follow as details.
    """
    problems = [p for ip in ips if (p := ip_problem(m, account_ip_access(uow, m.account_id, ip))) is not None]
    if problems:
        code, message = problems[0]
        raise InvalidInput(message, code=code, details=tuple(problems[1:]))


def _check_sni(uow: UnitOfWork, account_id: str, text: str) -> str:
    """The normalised default SNI: a zone of the account, or a name (or wildcard) below one."""
    name = parse_hostname(text, what="default_sni", allow_wildcard=True, code=Code.INVALID_DEFAULT_SNI)
    for candidate in sni_zone_candidates(name):
        zone = uow.zones.by_name(candidate)
        if zone is not None and zone.account_id == account_id:
            return name
    raise InvalidInput(
        f"default_sni {name} is not a zone of this account or a name below one", code=Code.INVALID_DEFAULT_SNI
    )


def list_address_maps(db: Database, actor: Actor, account_id: str, page: PageRequest) -> Page[AddressMap]:
    actor.require(account_id, Permission.ADDRESSING_READ)
    with db.read() as uow:
        return uow.address_maps.page(account_id, page)


def get_address_map(db: Database, actor: Actor, account_id: str, map_id: str) -> MapDetails:
    actor.require(account_id, Permission.ADDRESSING_READ)
    with db.read() as uow:
        return _details(uow, _owned(uow, account_id, map_id))


def create_address_map(
    db: Database,
    actor: Actor,
    account_id: str,
    *,
    description: str | None = None,
    enabled: bool = False,
    ips: Sequence[str] = (),
    memberships: Sequence[tuple[Kind, str]] = (),
) -> MapDetails:
    """Create a map (disabled unless `enabled`), with its first IPs and members. Repeats are dropped.

    Raises:
        InvalidInput: a bad IP text, an IP the account may not use, another account as a member.
        NotFound: a zone member that is not a zone of this account.
    """
    actor.require(account_id, Permission.ADDRESSING_WRITE)
    _check_description(description)
    addresses = list(dict.fromkeys(parse_ip(text, what=f"ips[{i}]") for i, text in enumerate(ips)))
    now = utcnow()
    m = AddressMap(new_id(), account_id, description, None, enabled, now, now)
    members = [MapMembership(m.id, kind, identifier, now) for kind, identifier in dict.fromkeys(memberships)]
    with db.write() as uow:
        for member in members:
            _check_member(uow, m, member.kind, member.identifier)
        uow.address_maps.lock_ips()
        _check_ips(uow, m, addresses)
        uow.address_maps.add(m)
        uow.address_maps.add_ips([MapIp(m.id, account_id, ip, now) for ip in addresses])
        uow.address_maps.add_memberships(members)
        details = _details(uow, m)
        record(uow, actor, "address_map.created", m.id, owners=[("account", account_id)], new=details.record())
        uow.commit()
    return details


def edit_address_map(
    db: Database,
    actor: Actor,
    account_id: str,
    map_id: str,
    *,
    description: str | Keep | None = KEEP,
    default_sni: str | Keep | None = KEEP,
    enabled: bool | Keep = KEEP,
) -> AddressMap:
    """Change what was given; None clears `description` and `default_sni`.

    Raises:
        InvalidInput: `default_sni` is not a DNS name in one of the account's zones.
    """
    actor.require(account_id, Permission.ADDRESSING_WRITE)
    if not isinstance(description, Keep):
        _check_description(description)
    with db.write() as uow:
        before = _owned(uow, account_id, map_id)
        sni = default_sni
        if isinstance(sni, str):
            sni = _check_sni(uow, account_id, sni)
        after = dataclasses.replace(
            before,
            description=before.description if isinstance(description, Keep) else description,
            default_sni=before.default_sni if isinstance(sni, Keep) else sni,
            enabled=before.enabled if isinstance(enabled, Keep) else enabled,
            modified_at=utcnow(),
        )
        uow.address_maps.update(after)
        record(
            uow,
            actor,
            "address_map.updated",
            map_id,
            owners=[("account", account_id)],
            old=address_map_record(before),
            new=address_map_record(after),
        )
        uow.commit()
    return after


def delete_address_map(db: Database, actor: Actor, account_id: str, map_id: str) -> AddressMap:
    """Delete a disabled map, with its IPs and memberships.

    Raises:
        Conflict: the map is enabled, or may not be deleted through the API.
    """
    actor.require(account_id, Permission.ADDRESSING_WRITE)
    with db.write() as uow:
        m = _owned(uow, account_id, map_id)
        check_map_deletable(m)
        old = _details(uow, m).record()
        uow.address_maps.delete(m.id)
        record(uow, actor, "address_map.deleted", m.id, owners=[("account", account_id)], old=old)
        uow.commit()
    return m


def add_ip(db: Database, actor: Actor, account_id: str, map_id: str, ip: str) -> None:
    """Put an IP on the map (again: nothing changes). The map's account must be allowed to use it.

    Raises:
        InvalidInput: not a canonical IP (1500, 1101); not the account's to use (2101); pending (2102).
        Conflict: the map's IPs may not be changed through the API.
    """
    actor.require(account_id, Permission.ADDRESSING_WRITE)
    address = parse_ip(ip, what="ip_address")
    with db.write() as uow:
        m = _owned(uow, account_id, map_id)
        check_ips_modifiable(m)
        uow.address_maps.lock_ips()
        _check_ips(uow, m, [address])
        if uow.address_maps.has_ip(m.id, address):
            return
        uow.address_maps.add_ips([MapIp(m.id, account_id, address, utcnow())])
        record(
            uow, actor, "address_map.ip_added", m.id, owners=[("account", account_id)], metadata={"ips": [str(address)]}
        )
        uow.commit()


def remove_ip(db: Database, actor: Actor, account_id: str, map_id: str, ip: str) -> None:
    """Take an IP off the map.

    Raises:
        NotFound: the map does not hold the IP. Conflict: its IPs may not be changed through the API.
    """
    actor.require(account_id, Permission.ADDRESSING_WRITE)
    address = parse_ip(ip, what="ip_address")
    with db.write() as uow:
        m = _owned(uow, account_id, map_id)
        check_ips_modifiable(m)
        if not uow.address_maps.has_ip(m.id, address):
            raise NotFound(f"{address} is not on address map {m.id}", code=Code.NOT_FOUND)
        uow.address_maps.remove_ip(m.id, address)
        record(
            uow,
            actor,
            "address_map.ip_removed",
            m.id,
            owners=[("account", account_id)],
            metadata={"ips": [str(address)]},
        )
        uow.commit()


def add_member(db: Database, actor: Actor, account_id: str, map_id: str, kind: Kind, identifier: str) -> None:
    """Make the map's own account, or one of its zones, a member (again: nothing changes).

    Raises:
        InvalidInput: another account (2106). NotFound: not a zone of this account.
    """
    actor.require(account_id, Permission.ADDRESSING_WRITE)
    with db.write() as uow:
        m = _owned(uow, account_id, map_id)
        _check_member(uow, m, kind, identifier)
        if uow.address_maps.membership(m.id, kind, identifier) is not None:
            return
        uow.address_maps.add_memberships([MapMembership(m.id, kind, identifier, utcnow())])
        metadata = {"kind": kind, "identifier": identifier}
        record(uow, actor, "address_map.member_added", m.id, owners=[("account", account_id)], metadata=metadata)
        uow.commit()


def remove_member(db: Database, actor: Actor, account_id: str, map_id: str, kind: Kind, identifier: str) -> None:
    """Raises NotFound when the map has no such member; Conflict when it may not be removed."""
    actor.require(account_id, Permission.ADDRESSING_WRITE)
    with db.write() as uow:
        m = _owned(uow, account_id, map_id)
        membership = uow.address_maps.membership(m.id, kind, identifier)
        if membership is None:
            raise NotFound(f"{kind} {identifier} is not a member of address map {m.id}", code=Code.NOT_FOUND)
        check_membership_removable(membership)
        uow.address_maps.remove_membership(m.id, kind, identifier)
        metadata = {"kind": kind, "identifier": identifier}
        record(uow, actor, "address_map.member_removed", m.id, owners=[("account", account_id)], metadata=metadata)
        uow.commit()
