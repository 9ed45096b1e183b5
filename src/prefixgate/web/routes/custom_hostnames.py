"""A zone's custom hostnames: the fallback origin, the list with each TXT record to add, create,
Validate now and delete."""

from __future__ import annotations

from fastapi import Request, Response

from ...api.errors import status_of
from ...domain.errors import Conflict, InvalidInput
from ...service import hostname_checks, hostnames
from ...service.hostnames import HostnameInput, SslInput
from ...service.ports import Database, HostnameInspector
from ...service.zone_console import hostnames_view
from ..paging import PageNumber, Pager, page_request
from ..render import page
from ..routing import see_other, web_router
from ..viewer import CheckedForm, Viewer, Visitor, WebDb
from ..zone_forms import FieldErrors, hostname_errors, single_error

router = web_router()

# What the dashboard asks for: ownership proved by the TXT record the page shows, a DV certificate.
_SSL = SslInput(method="txt", type="dv")


def _hostnames_page(
    request: Request,
    db: Database,
    visitor: Visitor,
    zone_id: str,
    number: int = 1,
    *,
    typed: dict[str, str] | None = None,
    errors: FieldErrors | None = None,
    status: int = 200,
) -> Response:
    view = hostnames_view(db, visitor.actor, zone_id, page_request(number))
    context = {
        "view": view,
        "zone": view.zone,
        "pager": Pager.of(view.total, view.request),
        "typed": typed or {},
        "errors": errors or FieldErrors(),
    }
    return page(
        request, "custom_hostnames.html", context, visitor=visitor, account_id=view.zone.account_id, status=status
    )


def _list_url(zone_id: str, notice: str) -> str:
    return f"/zones/{zone_id}/custom-hostnames?notice={notice}"


@router.get("/zones/{zone_id}/custom-hostnames")
def hostnames_list(request: Request, db: WebDb, visitor: Viewer, zone_id: str, page_number: PageNumber = 1) -> Response:
    return _hostnames_page(request, db, visitor, zone_id, page_number)


@router.post("/zones/{zone_id}/fallback-origin")
def save_fallback_origin(request: Request, db: WebDb, posted: CheckedForm, zone_id: str) -> Response:
    origin = posted.form["origin"].strip()
    try:
        hostnames.put_fallback_origin(db, posted.actor, zone_id, origin)
    except (InvalidInput, Conflict) as exc:
        return _hostnames_page(
            request,
            db,
            posted.visitor,
            zone_id,
            typed={"origin": origin},
            errors=single_error("origin", exc),
            status=status_of(exc),
        )
    return see_other(_list_url(zone_id, "fallback-origin-saved"))


@router.post("/zones/{zone_id}/custom-hostnames")
def create_hostname(request: Request, db: WebDb, posted: CheckedForm, zone_id: str) -> Response:
    typed = {
        "hostname": posted.form["hostname"].strip(),
        "custom_origin_server": posted.form["custom_origin_server"].strip(),
    }
    spec = HostnameInput(
        hostname=typed["hostname"], ssl=_SSL, custom_origin_server=typed["custom_origin_server"] or None
    )
    try:
        hostnames.create_hostname(db, posted.actor, zone_id, spec)
    except (InvalidInput, Conflict) as exc:
        return _hostnames_page(
            request, db, posted.visitor, zone_id, typed=typed, errors=hostname_errors(exc), status=status_of(exc)
        )
    return see_other(_list_url(zone_id, "hostname-created"))


@router.post("/zones/{zone_id}/custom-hostnames/{hostname_id}/validate")
def validate_hostname(request: Request, db: WebDb, posted: CheckedForm, zone_id: str, hostname_id: str) -> Response:
    inspector: HostnameInspector = request.app.state.inspector
    hostname_checks.validate_hostname(db, inspector, posted.actor, zone_id, hostname_id)
    return see_other(_list_url(zone_id, "hostname-validated"))


@router.post("/zones/{zone_id}/custom-hostnames/{hostname_id}/delete")
def delete_hostname(db: WebDb, posted: CheckedForm, zone_id: str, hostname_id: str) -> Response:
    hostnames.delete_hostname(db, posted.actor, zone_id, hostname_id)
    return see_other(_list_url(zone_id, "hostname-deleted"))
