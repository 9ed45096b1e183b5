"""/accounts/{account_id}/audit_logs, in Cloudflare's shape."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import Depends, Query

from ...domain.codes import Code
from ...domain.errors import InvalidInput
from ...domain.model import AuditEvent, AuditQuery
from ...service.audit import account_audit_log
from ...service.context import rfc3339
from ..deps import AuditPaging, CurrentActor, Db
from ..envelope import ok_page
from ..routing import api_router
from ..schemas.accounts import AuditLogOut
from ..schemas.common import Envelope
from ._common import ERRORS

router = api_router(tags=["Audit Logs"], responses=ERRORS)

Direction = Literal["desc", "asc"]


def _instant(value: str | None, name: str) -> datetime | None:
    """An RFC 3339 date (midnight UTC) or date-time; one without an offset is taken as UTC."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{name} {value!r} is not an RFC 3339 date or date-time", code=Code.INVALID_FIELD) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def audit_query(
    direction: Direction = "desc",
    id: Annotated[str | None, Query(max_length=32)] = None,
    action_type: Annotated[str | None, Query(alias="action.type", max_length=64)] = None,
    actor_email: Annotated[str | None, Query(alias="actor.email", max_length=254)] = None,
    actor_ip: Annotated[str | None, Query(alias="actor.ip", max_length=64)] = None,
    since: Annotated[str | None, Query(max_length=40, description="RFC 3339 date or date-time")] = None,
    before: Annotated[str | None, Query(max_length=40, description="RFC 3339 date or date-time")] = None,
) -> AuditQuery:
    """Cloudflare's audit-log filters, as query parameters."""
    return AuditQuery(
        newest_first=direction == "desc",
        id=id,
        action=action_type,
        actor_email=actor_email.strip().lower() if actor_email else None,
        actor_ip=actor_ip,
        since=_instant(since, "since"),
        before=_instant(before, "before"),
    )


Filters = Annotated[AuditQuery, Depends(audit_query)]


def audit_record(e: AuditEvent) -> dict[str, object]:
    return {
        "id": e.id,
        "action": {"type": e.action, "result": True},
        "actor": {"id": e.actor_id, "email": e.actor_email, "type": e.actor_type, "ip": e.actor_ip},
        "interface": e.interface,
        "metadata": e.metadata,
        "newValue": json.dumps(e.new_value, sort_keys=True) if e.new_value is not None else None,
        "oldValue": json.dumps(e.old_value, sort_keys=True) if e.old_value is not None else None,
        "newValueJson": e.new_value,
        "oldValueJson": e.old_value,
        "owner": {"id": e.owner_id},
        "resource": {"id": e.resource_id, "type": e.resource_type},
        "when": rfc3339(e.when),
    }


@router.get("/accounts/{account_id}/audit_logs", response_model=Envelope[list[AuditLogOut]])
def list_audit_logs(
    db: Db, actor: CurrentActor, account_id: str, page: AuditPaging, query: Filters
) -> dict[str, object]:
    """Every change to this account's prefixes, delegations (made or received) and members."""
    return ok_page(account_audit_log(db, actor, account_id, page, query), audit_record)
