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

ROLES: Final[tuple[Role, ...]] = (
    ADMINISTRATOR,
    Role(
        id="3d5a1e6b9f2c4d7a8e0b1c2d3e4f5a6b",
        name="IP Prefixes: Write",
        description="Can view and edit IP prefixes and their delegations.",
        permissions=frozenset(
            {
                Permission.ACCOUNT_READ,
                Permission.MEMBERS_READ,
                Permission.ADDRESSING_READ,
                Permission.ADDRESSING_WRITE,
                Permission.AUDIT_READ,
            }
        ),
    ),
    Role(
        id="7c9e2f4a1b3d5e6f8a0c2e4b6d8f0a1c",
        name="IP Prefixes: Read",
        description="Can view IP prefixes and their delegations.",
        permissions=frozenset(
            {Permission.ACCOUNT_READ, Permission.MEMBERS_READ, Permission.ADDRESSING_READ, Permission.AUDIT_READ}
        ),
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
