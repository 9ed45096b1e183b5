"""Who is acting, what they may do, and the small helpers every use case shares."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ..domain.codes import Code
from ..domain.edge_feed import EDGE_KIND_OF
from ..domain.errors import AccessDenied
from ..domain.model import AuditEvent, User
from ..domain.roles import Permission
from .ports import UnitOfWork

__all__ = ["Actor", "new_id", "record", "rfc3339", "utcnow"]

_audit_log = logging.getLogger("prefixgate.audit")


def new_id() -> str:
    """A 32-character lowercase hex identifier, as Cloudflare uses."""
    return secrets.token_hex(16)


def utcnow() -> datetime:
    return datetime.now(UTC)


def rfc3339(when: datetime | None) -> str | None:
    """RFC 3339 UTC text with microseconds and a Z suffix."""
    if when is None:
        return None
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True, slots=True)
class Actor:
    """The caller of a use case: an authenticated user, an edge (an edge token: no user, no grants), or
    the operator at the CLI.

    `grants` maps each account the user belongs to onto the permissions its roles give.
    """

    user: User | None
    grants: Mapping[str, frozenset[Permission]] = field(default_factory=dict)
    interface: str = "API"
    ip: str | None = None
    token_id: str | None = None
    is_system: bool = False
    edge_token_id: str | None = None

    @classmethod
    def cli(cls) -> Actor:
        """The operator running `prefixgate admin`: may do everything, logged as an admin action."""
        return cls(user=None, interface="CLI", is_system=True)

    @property
    def is_operator(self) -> bool:
        return self.is_system or (self.user is not None and self.user.is_operator)

    def is_member(self, account_id: str) -> bool:
        return self.is_system or account_id in self.grants

    def may(self, account_id: str, permission: Permission) -> bool:
        return self.is_system or permission in self.grants.get(account_id, frozenset())

    def require(self, account_id: str, permission: Permission) -> None:
        """Raises AccessDenied unless the actor holds `permission` in `account_id`.

        A non-member and a missing account get the same answer, so nothing leaks.
        """
        if not self.is_member(account_id):
            raise AccessDenied("you are not a member of this account", code=Code.FORBIDDEN)
        if not self.may(account_id, permission):
            raise AccessDenied(f"your role in this account does not grant {permission.value}", code=Code.FORBIDDEN)

    def require_operator(self) -> None:
        if not self.is_operator:
            raise AccessDenied("only operators may do this", code=Code.FORBIDDEN)

    @property
    def is_edge(self) -> bool:
        return self.edge_token_id is not None

    def require_feed(self) -> None:
        """Edges and operators may read the change feed; nobody else."""
        if not (self.is_edge or self.is_operator):
            raise AccessDenied("only edges and operators may read the edge feed", code=Code.FORBIDDEN)


def record(
    uow: UnitOfWork,
    actor: Actor,
    action: str,
    resource_id: str,
    *,
    owners: Iterable[tuple[str, str]],
    old: Mapping[str, object] | None = None,
    new: Mapping[str, object] | None = None,
    metadata: Mapping[str, object] | None = None,
) -> None:
    """Write one audit event into each owner's log (("account", id) or ("user", id)), inside `uow`.

    `action` is "<resource type>.<verb>", e.g. "delegation.created"; `resource_id` names the object.
    A change to an object the edges serve (EDGE_KIND_OF) is also noted for the edge feed: the unit's
    commit gives it a revision.

    The first owner is the acting side. Copies in other accounts' logs (a delegatee's, an app owner's)
    name the actor only by id: another tenant never learns the actor's email or IP address.
    """
    when = utcnow()
    user = actor.user
    resource_type = action.partition(".")[0]
    edge_kind = EDGE_KIND_OF.get(resource_type)
    if edge_kind is not None:
        uow.note_change(edge_kind, resource_id)
    owners = list(dict.fromkeys(owners))
    events = [
        AuditEvent(
            id=new_id(),
            owner_kind=kind,
            owner_id=owner_id,
            when=when,
            actor_id=user.id if user else None,
            actor_email=user.email if user and i == 0 else None,
            actor_type="admin" if actor.is_system else "user",
            actor_ip=actor.ip if i == 0 else None,
            interface=actor.interface,
            action=action,
            resource_type=resource_type,
            resource_id=resource_id,
            old_value=dict(old) if old is not None else None,
            new_value=dict(new) if new is not None else None,
            metadata=dict(metadata or {}),
        )
        for i, (kind, owner_id) in enumerate(owners)
    ]
    uow.audit.add_many(events)
    _audit_log.info(
        action, extra={"resource_id": resource_id, "actor_id": user.id if user else None, "interface": actor.interface}
    )
