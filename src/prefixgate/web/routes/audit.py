"""The Audit log page of an account: its events newest first, paged, filtered by action."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request, Response

from ...service.audit_view import audit_view
from ..render import page
from ..routing import web_router
from ..viewer import Viewer, WebDb

router = web_router()


@router.get("/accounts/{account_id}/audit-log")
def audit_log(
    request: Request,
    db: WebDb,
    visitor: Viewer,
    account_id: str,
    number: Annotated[str, Query(alias="page")] = "1",
    action: str = "",
) -> Response:
    """Query values arrive as typed; the service refuses bad ones with a message (a 400 page)."""
    view = audit_view(db, visitor.actor, account_id, page=number, action=action)
    return page(request, "audit.html", {"view": view}, visitor=visitor, account_id=account_id)
