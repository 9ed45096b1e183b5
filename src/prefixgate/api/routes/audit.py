"""/accounts/{account_id}/audit_logs, in Cloudflare's shape."""

from __future__ import annotations

import json
from typing import Literal

from fastapi import APIRouter

from ...domain.model import AuditEvent
from ...service.audit import account_audit_log
from ...service.context import rfc3339
from ..deps import AuditPaging, CurrentActor, Db
from ..envelope import ok_page
from ..schemas.accounts import AuditLogOut
from ..schemas.common import Envelope
from ._common import ERRORS

router = APIRouter(tags=["Audit Logs"], responses=ERRORS)

Direction = Literal["desc", "asc"]


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
    db: Db, actor: CurrentActor, account_id: str, page: AuditPaging, direction: Direction = "desc"
) -> dict[str, object]:
    """Every change to this account's prefixes, delegations (made or received) and members."""
    return ok_page(account_audit_log(db, actor, account_id, page, newest_first=direction == "desc"), audit_record)
