"""Address maps: the IPs an account's DNS answers with, for the zones (or the account) that are members.

A map belongs to one account. Its IPs must be usable by that account (owned, or delegated to it, on an
approved prefix: `rules.decide_ip_access` decides); its members are the account itself and zones of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal

from .codes import Code
from .errors import Conflict, InvalidInput
from .model import Access, IpAccess
from .net import IPAddress

__all__ = [
    "KINDS",
    "AddressMap",
    "Kind",
    "MapIp",
    "MapMembership",
    "check_account_member",
    "check_ips_modifiable",
    "check_map_deletable",
    "check_membership_removable",
    "ip_problem",
    "sni_zone_candidates",
]

Kind = Literal["account", "zone"]
KINDS: Final[tuple[Kind, ...]] = ("account", "zone")


@dataclass(frozen=True, slots=True)
class AddressMap:
    id: str
    account_id: str
    description: str | None
    default_sni: str | None
    enabled: bool
    created_at: datetime
    modified_at: datetime
    can_delete: bool = True  # false only for maps the platform manages; no API call makes one
    can_modify_ips: bool = True


@dataclass(frozen=True, slots=True)
class MapIp:
    """One address on one map (`account_id` is the map's account)."""

    map_id: str
    account_id: str
    ip: IPAddress
    created_at: datetime


@dataclass(frozen=True, slots=True)
class MapMembership:
    map_id: str
    kind: Kind
    identifier: str  # an account id or a zone id
    created_at: datetime
    can_delete: bool = True


def check_map_deletable(m: AddressMap) -> None:
    """Raises Conflict unless the map may be deleted: deletable, and disabled first (as on Cloudflare)."""
    if not m.can_delete:
        raise Conflict(f"address map {m.id} cannot be deleted through the API", code=Code.MAP_NOT_DELETABLE)
    if m.enabled:
        raise Conflict(
            f"address map {m.id} is enabled; disable it (PATCH enabled: false) before deleting it",
            code=Code.MAP_ENABLED,
        )


def check_ips_modifiable(m: AddressMap) -> None:
    """Raises Conflict when the map's IPs may not be changed through the API."""
    if not m.can_modify_ips:
        raise Conflict(f"the IPs of address map {m.id} cannot be changed through the API", code=Code.MAP_IPS_LOCKED)


def ip_problem(m: AddressMap, access: IpAccess) -> tuple[int, str] | None:
    """(code, message) when `access` (the map account's, for one IP) forbids putting the IP on `m`."""
    if access.allowed:
        return None
    code = Code.MAP_IP_NOT_USABLE if access.access is Access.NONE else Code.MAP_IP_NOT_APPROVED
    return code, f"{access.ip} cannot be put on address map {m.id}: {access.message}"


def check_account_member(m: AddressMap, account_id: str) -> None:
    """Only the map's own account can be its account member; any other id gets the same answer."""
    if account_id != m.account_id:
        raise InvalidInput(
            f"account {account_id} cannot be a member of address map {m.id}: "
            "only the map's own account can be an account member",
            code=Code.FOREIGN_ACCOUNT_MEMBER,
        )


def check_membership_removable(membership: MapMembership) -> None:
    if not membership.can_delete:
        raise Conflict(
            f"the {membership.kind} membership {membership.identifier} cannot be removed through the API",
            code=Code.MEMBERSHIP_NOT_DELETABLE,
        )


def sni_zone_candidates(name: str) -> list[str]:
    """The zone names a (normalised, possibly wildcard) default SNI could belong to, longest first."""
    labels = name.removeprefix("*.").split(".")
    return [".".join(labels[i:]) for i in range(len(labels) - 1)]
