"""/accounts/{account_id}/addressing/ip_access: may this account use that IP, and why?"""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from ...domain.model import IpAccess
from ...service import delegations
from ...service.records import received_delegation_record
from ..deps import CurrentActor, Db
from ..envelope import ok
from ..routing import api_router
from ..schemas.addressing import IpAccessOut
from ..schemas.common import Envelope
from ._common import ERRORS

router = api_router(tags=["IP Access"], responses=ERRORS)


def access_record(a: IpAccess) -> dict[str, object]:
    return {
        "ip": str(a.ip),
        "account_id": a.account_id,
        "access": a.access.value,
        "allowed": a.allowed,
        "message": a.message,
        "prefix": {"id": a.prefix.id, "cidr": str(a.prefix.cidr), "approved": a.prefix.approved} if a.prefix else None,
        "delegations": [received_delegation_record(d) for d in a.delegations],
    }


@router.get("/accounts/{account_id}/addressing/ip_access", response_model=Envelope[IpAccessOut])
def ip_access(
    db: Db, actor: CurrentActor, account_id: str, ip: Annotated[str, Query(max_length=64)]
) -> dict[str, object]:
    """Extension: whether this account may use `ip` ("owned", "delegated" or "none"), and why."""
    return ok(access_record(delegations.ip_access(db, actor, account_id, ip)))
