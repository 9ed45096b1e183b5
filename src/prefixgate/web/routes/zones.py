"""An account's zones: the list, and adding one."""

from __future__ import annotations

from fastapi import Request, Response

from ...api.errors import status_of
from ...domain.errors import Conflict, InvalidInput
from ...service import identity, zones
from ...service.ports import Database
from ...service.zone_console import zones_view
from ..paging import PageNumber, Pager, page_request
from ..render import page
from ..routing import see_other, web_router
from ..viewer import CheckedForm, Viewer, Visitor, WebDb
from ..zone_forms import FieldErrors, single_error

router = web_router()


def _zones_page(
    request: Request,
    db: Database,
    visitor: Visitor,
    account_id: str,
    number: int = 1,
    *,
    name: str = "",
    errors: FieldErrors | None = None,
    status: int = 200,
) -> Response:
    account = identity.get_account(db, visitor.actor, account_id)
    view = zones_view(db, visitor.actor, account.id, page_request(number))
    context = {
        "current": account,
        "view": view,
        "pager": Pager.of(view.zones.total, view.zones.request),
        "name": name,
        "errors": errors or FieldErrors(),
    }
    return page(request, "zones.html", context, visitor=visitor, account_id=account.id, status=status)


@router.get("/accounts/{account_id}/zones")
def zones_list(request: Request, db: WebDb, visitor: Viewer, account_id: str, page_number: PageNumber = 1) -> Response:
    return _zones_page(request, db, visitor, account_id, page_number)


@router.post("/accounts/{account_id}/zones")
def add_zone(request: Request, db: WebDb, posted: CheckedForm, account_id: str) -> Response:
    name = posted.form["name"].strip()
    try:
        zones.create_zone(db, posted.actor, account_id, name)
    except (InvalidInput, Conflict) as exc:
        return _zones_page(
            request, db, posted.visitor, account_id, name=name, errors=single_error("name", exc), status=status_of(exc)
        )
    return see_other(f"/accounts/{account_id}/zones?notice=zone-added")
