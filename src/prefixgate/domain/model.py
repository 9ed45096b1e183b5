"""Frozen value objects of the domain. No I/O, no framework types."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Generic, TypeVar

from .net import IPAddress, IPNetwork

__all__ = [
    "Access",
    "Account",
    "ApiToken",
    "AuditEvent",
    "AuditQuery",
    "Delegation",
    "IpAccess",
    "Membership",
    "ObjectCounts",
    "Page",
    "PageRequest",
    "Prefix",
    "ReceivedDelegation",
    "User",
    "Zone",
]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class User:
    id: str
    email: str
    is_operator: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Account:
    id: str
    name: str
    created_at: datetime
    type: str = "standard"


@dataclass(frozen=True, slots=True)
class Zone:
    id: str
    account_id: str
    name: str
    created_on: datetime
    modified_on: datetime
    status: str = "active"
    paused: bool = False
    type: str = "full"
    activated_on: datetime | None = None


@dataclass(frozen=True, slots=True)
class Membership:
    """A user's place in an account: one member id, one or more roles."""

    id: str
    account_id: str
    user_id: str
    user_email: str
    role_ids: tuple[str, ...]
    created_at: datetime
    status: str = "accepted"


@dataclass(frozen=True, slots=True)
class ApiToken:
    id: str
    user_id: str
    name: str
    status: str
    issued_on: datetime
    modified_on: datetime
    last_used_on: datetime | None = None
    not_before: datetime | None = None
    expires_on: datetime | None = None


@dataclass(frozen=True, slots=True)
class Prefix:
    id: str
    account_id: str
    cidr: IPNetwork
    asn: int | None
    description: str
    approved: str  # "P" pending, "V" active (Cloudflare's letters)
    created_at: datetime
    modified_at: datetime
    loa_document_id: str | None = None
    delegate_loa_creation: bool = False
    on_demand_enabled: bool = False
    on_demand_locked: bool = False
    advertised: bool | None = None
    advertised_modified_at: datetime | None = None
    irr_validation_state: str = "pending"
    rpki_validation_state: str = "pending"
    ownership_validation_state: str = "pending"
    ownership_validation_token: str | None = None

    @property
    def is_approved(self) -> bool:
        return self.approved == "V"


@dataclass(frozen=True, slots=True)
class Delegation:
    id: str
    prefix_id: str
    owner_account_id: str
    cidr: IPNetwork
    delegated_account_id: str
    created_at: datetime
    modified_at: datetime


@dataclass(frozen=True, slots=True)
class ReceivedDelegation:
    """A delegation as its delegatee sees it: with the owner and the parent prefix's CIDR."""

    delegation: Delegation
    parent_cidr: IPNetwork


class Access(StrEnum):
    OWNED = "owned"
    DELEGATED = "delegated"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class IpAccess:
    """Whether an account may use one IP, and why."""

    ip: IPAddress
    account_id: str
    access: Access
    allowed: bool
    message: str
    prefix: Prefix | None = None
    delegations: tuple[ReceivedDelegation, ...] = ()


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One change, as recorded in one account's (or one user's) audit log."""

    id: str
    owner_id: str  # the account (or, for token events, the user) whose log holds it
    owner_kind: str  # "account" | "user"
    when: datetime
    actor_id: str | None
    actor_email: str | None
    actor_type: str  # "user" | "admin"
    actor_ip: str | None
    interface: str  # "API" | "CLI"
    action: str  # e.g. "delegation.created"
    resource_type: str
    resource_id: str
    old_value: dict[str, object] | None
    new_value: dict[str, object] | None
    metadata: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """Which audit events to list: Cloudflare's filters (all optional), and the order."""

    newest_first: bool = True
    id: str | None = None
    action: str | None = None
    actor_email: str | None = None
    actor_ip: str | None = None
    since: datetime | None = None
    before: datetime | None = None


@dataclass(frozen=True, slots=True)
class PageRequest:
    page: int = 1
    per_page: int = 20

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    total: int
    request: PageRequest


@dataclass(frozen=True, slots=True)
class ObjectCounts:
    """How many of the main objects exist, in all accounts (for monitoring)."""

    prefixes: int
    delegations: int
    spectrum_apps: int
