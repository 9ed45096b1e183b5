"""Reading audit logs."""

from __future__ import annotations

from ..domain.codes import Code
from ..domain.errors import Unauthenticated
from ..domain.model import AuditEvent, AuditQuery, Page, PageRequest
from ..domain.roles import Permission
from .context import Actor
from .ports import Database

__all__ = ["account_audit_log", "user_audit_log"]

_NEWEST_FIRST = AuditQuery()  # every event, newest first


def account_audit_log(
    db: Database, actor: Actor, account_id: str, page: PageRequest, query: AuditQuery = _NEWEST_FIRST
) -> Page[AuditEvent]:
    actor.require(account_id, Permission.AUDIT_READ)
    with db.read() as uow:
        return uow.audit.page("account", account_id, page, query)


def user_audit_log(
    db: Database, actor: Actor, page: PageRequest, query: AuditQuery = _NEWEST_FIRST
) -> Page[AuditEvent]:
    if actor.user is None:
        raise Unauthenticated("a user is required", code=Code.AUTHENTICATION_ERROR)
    with db.read() as uow:
        return uow.audit.page("user", actor.user.id, page, query)
