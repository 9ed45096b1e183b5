"""Edit IP Prefixes: a prefix's description, map, bindings and delegations, and Add Delegation.

The dashboard delegates only a whole prefix (delegations.delegate_whole_prefix): the CIDR is the prefix's
own, read on the server; a posted one is ignored.
"""

from __future__ import annotations

from fastapi import Request, Response

from ...api.errors import status_of
from ...domain.errors import Conflict, InvalidInput
from ...service import delegations, prefix_pages, prefixes
from ..render import page
from ..routing import see_other, web_router
from ..viewer import CheckedForm, Viewer, Visitor, WebDb
from .paths import prefix_path

router = web_router()

_PREFIX = "/accounts/{account_id}/ip-addresses/prefixes/{prefix_id}"


def _edit_page(
    request: Request,
    db: WebDb,
    visitor: Visitor,
    account_id: str,
    prefix_id: str,
    *,
    adding: bool = False,
    add_error: str = "",
    description: str | None = None,
    description_error: str = "",
    status: int = 200,
) -> Response:
    stale_s = request.app.state.settings.edge_stale_s
    view = prefix_pages.prefix_page(db, visitor.actor, account_id, prefix_id, stale_s=stale_s)
    context = {
        "view": view,
        "base": prefix_path(account_id, prefix_id),
        "adding": adding,
        "add_error": add_error,
        "description": view.prefix.description if description is None else description,
        "description_error": description_error,
    }
    return page(request, "prefix_edit.html", context, visitor=visitor, account_id=account_id, status=status)


@router.get(_PREFIX)
def edit_prefix(
    request: Request, db: WebDb, visitor: Viewer, account_id: str, prefix_id: str, add: str = ""
) -> Response:
    """The edit page; `?add=1` opens the Add Delegation form (a link, so it works without JavaScript)."""
    return _edit_page(request, db, visitor, account_id, prefix_id, adding=add == "1")


@router.post(_PREFIX + "/description")
def save_description(request: Request, db: WebDb, posted: CheckedForm, account_id: str, prefix_id: str) -> Response:
    text = posted.form["description"]
    try:
        prefixes.edit_prefix(db, posted.actor, account_id, prefix_id, description=text)
    except InvalidInput as exc:
        return _edit_page(
            request,
            db,
            posted.visitor,
            account_id,
            prefix_id,
            description=text,
            description_error=exc.message,
            status=status_of(exc),
        )
    return see_other(prefix_path(account_id, prefix_id) + "?notice=description-saved")


@router.post(_PREFIX + "/delegations")
def add_delegation(request: Request, db: WebDb, posted: CheckedForm, account_id: str, prefix_id: str) -> Response:
    try:
        delegations.delegate_whole_prefix(db, posted.actor, account_id, prefix_id, posted.form["delegated_account_id"])
    except (Conflict, InvalidInput) as exc:
        return _edit_page(
            request,
            db,
            posted.visitor,
            account_id,
            prefix_id,
            adding=True,
            add_error=exc.message,
            status=status_of(exc),
        )
    return see_other(prefix_path(account_id, prefix_id) + "?notice=delegation-added#delegations")
