"""Account Home, IP Addresses and the IP Prefixes list."""

from __future__ import annotations

from fastapi import Request, Response

from ...service import console, identity
from ..render import page
from ..routing import web_router
from ..viewer import Viewer, WebDb

router = web_router()


@router.get("/accounts")
def choose_account(request: Request, db: WebDb, visitor: Viewer) -> Response:
    return page(request, "accounts.html", {"choices": identity.accounts_of(db, visitor.actor)}, visitor=visitor)


@router.get("/accounts/{account_id}")
def account_home(request: Request, db: WebDb, visitor: Viewer, account_id: str) -> Response:
    account = identity.get_account(db, visitor.actor, account_id)
    return page(request, "account_home.html", {"current": account}, visitor=visitor, account_id=account.id)


@router.get("/accounts/{account_id}/ip-addresses")
def ip_addresses(request: Request, db: WebDb, visitor: Viewer, account_id: str) -> Response:
    account = identity.get_account(db, visitor.actor, account_id)
    return page(request, "ip_addresses.html", {"current": account}, visitor=visitor, account_id=account.id)


@router.get("/accounts/{account_id}/ip-addresses/prefixes")
def ip_prefixes(request: Request, db: WebDb, visitor: Viewer, account_id: str) -> Response:
    account = identity.get_account(db, visitor.actor, account_id)
    rows = console.prefix_rows(db, visitor.actor, account)
    return page(request, "prefixes.html", {"current": account, "rows": rows}, visitor=visitor, account_id=account.id)
