"""Delegated to this account: what other accounts let this one use."""

from __future__ import annotations

from fastapi import Request, Response

from ...service import identity, prefix_pages
from ..render import page
from ..routing import web_router
from ..viewer import Viewer, WebDb

router = web_router()


@router.get("/accounts/{account_id}/ip-addresses/delegated")
def delegated_to_account(request: Request, db: WebDb, visitor: Viewer, account_id: str) -> Response:
    account = identity.get_account(db, visitor.actor, account_id)
    rows = prefix_pages.received_rows(db, visitor.actor, account.id)
    return page(request, "delegated.html", {"current": account, "rows": rows}, visitor=visitor, account_id=account.id)
