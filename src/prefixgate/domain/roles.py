"""Roles and the permissions they grant. Role ids are stable: clients may store them."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

__all__ = ["ADMINISTRATOR", "ROLES", "Permission", "Role", "permissions_of", "role_by_id", "role_by_name"]


class Permission(StrEnum):
    ACCOUNT_READ = "account.read"
    MEMBERS_READ = "members.read"
    MEMBERS_WRITE = "members.write"
    ADDRESSING_READ = "addressing.read"
    ADDRESSING_WRITE = "addressing.write"
    AUDIT_READ = "audit.read"
    ZONES_READ = "zones.read"
    ZONES_WRITE = "zones.write"
    SPECTRUM_READ = "spectrum.read"
    SPECTRUM_WRITE = "spectrum.write"
    SSL_READ = "ssl.read"
    SSL_WRITE = "ssl.write"


@dataclass(frozen=True, slots=True)
class Role:
    id: str
    name: str
    description: str
    permissions: frozenset[Permission]


ADMINISTRATOR: Final = Role(
    id="05784afa30c1afe1440e79d9351c7430",
    name="Administrator",
    description="Can access the full account, including members, prefixes, delegations and audit logs.",
    permissions=frozenset(Permission),
)

_BASE: Final = frozenset({Permission.ACCOUNT_READ, Permission.MEMBERS_READ, Permission.AUDIT_READ})

ROLES: Final[tuple[Role, ...]] = (
    ADMINISTRATOR,
    Role(
        id="3d5a1e6b9f2c4d7a8e0b1c2d3e4f5a6b",
        name="IP Prefixes: Write",
        description="Can view and edit IP prefixes and their delegations.",
        permissions=_BASE | {Permission.ADDRESSING_READ, Permission.ADDRESSING_WRITE},
    ),
    Role(
        id="7c9e2f4a1b3d5e6f8a0c2e4b6d8f0a1c",
        name="IP Prefixes: Read",
        description="Can view IP prefixes and their delegations.",
        permissions=_BASE | {Permission.ADDRESSING_READ},
    ),
    Role(
        id="9a1b3c5d7e9f1a3b5c7d9e1f3a5b7c9d",
        name="Zone: Write",
        description="Can view, create, edit and delete zones.",
        permissions=_BASE | {Permission.ZONES_READ, Permission.ZONES_WRITE, Permission.SPECTRUM_READ},
    ),
    Role(
        id="2b4d6f8a0c2e4a6c8e0a2c4e6a8c0e2a",
        name="Spectrum: Write",
        description="Can view zones and view, create, edit and delete Spectrum applications.",
        permissions=_BASE | {Permission.ZONES_READ, Permission.SPECTRUM_READ, Permission.SPECTRUM_WRITE},
    ),
    Role(
        id="4c6e8a0c2e4a6c8e0a2c4e6a8c0e2a4c",
        name="Spectrum: Read",
        description="Can view zones and Spectrum applications.",
        permissions=_BASE | {Permission.ZONES_READ, Permission.SPECTRUM_READ},
    ),
    Role(
        id="8ceda5f0efafb149c5542a851fb3e791",
        name="SSL and Certificates: Write",
        description="Can view zones and view, create, edit, validate and delete custom hostnames and fallback origins.",
        permissions=_BASE | {Permission.ZONES_READ, Permission.SSL_READ, Permission.SSL_WRITE},
    ),
    Role(
        id="cadf12c139a5f31735d80bab21288627",
        name="SSL and Certificates: Read",
        description="Can view zones, custom hostnames and fallback origins.",
        permissions=_BASE | {Permission.ZONES_READ, Permission.SSL_READ},
    ),
)

_BY_ID: Final = {r.id: r for r in ROLES}
_BY_NAME: Final = {r.name: r for r in ROLES}


def role_by_id(role_id: str) -> Role | None:
    return _BY_ID.get(role_id)


def role_by_name(name: str) -> Role | None:
    return _BY_NAME.get(name)


def permissions_of(role_ids: tuple[str, ...]) -> frozenset[Permission]:
    """The union of the permissions of the given roles; unknown ids grant nothing."""
    granted: set[Permission] = set()
    for rid in role_ids:
        role = _BY_ID.get(rid)
        if role is not None:
            granted |= role.permissions
    return frozenset(granted)
