"""A zone's Spectrum applications: the list, create, edit and delete."""

from __future__ import annotations

from fastapi import Request, Response

from ...api.errors import status_of
from ...domain.errors import Conflict, InvalidInput
from ...domain.model import Zone
from ...domain.spectrum import PROXY_PROTOCOLS, TLS_MODES, SpectrumApp
from ...service import spectrum, zones
from ...service.zone_console import spectrum_view
from ..paging import PageNumber, Pager, page_request
from ..render import page
from ..routing import see_other, web_router
from ..viewer import CheckedForm, Viewer, Visitor, WebDb
from ..zone_forms import AppFields, FieldErrors, app_errors

router = web_router()


def _list_url(zone_id: str, notice: str) -> str:
    return f"/zones/{zone_id}/spectrum?notice={notice}"


def _form_page(
    request: Request,
    visitor: Visitor,
    zone: Zone,
    fields: AppFields,
    *,
    app: SpectrumApp | None = None,
    errors: FieldErrors | None = None,
    status: int = 200,
) -> Response:
    context = {
        "zone": zone,
        "app": app,
        "fields": fields,
        "errors": errors or FieldErrors(),
        "proxy_protocols": [(p, p) for p in PROXY_PROTOCOLS],
        "tls_modes": [("", "Not set"), *((t, t) for t in TLS_MODES)],
        "action": f"/zones/{zone.id}/spectrum/{app.id}/edit" if app else f"/zones/{zone.id}/spectrum",
    }
    return page(request, "spectrum_form.html", context, visitor=visitor, account_id=zone.account_id, status=status)


@router.get("/zones/{zone_id}/spectrum")
def apps_list(request: Request, db: WebDb, visitor: Viewer, zone_id: str, page_number: PageNumber = 1) -> Response:
    view = spectrum_view(db, visitor.actor, zone_id, page_request(page_number))
    context = {"view": view, "zone": view.zone, "pager": Pager.of(view.apps.total, view.apps.request)}
    return page(request, "spectrum.html", context, visitor=visitor, account_id=view.zone.account_id)


@router.get("/zones/{zone_id}/spectrum/new")
def new_app(request: Request, db: WebDb, visitor: Viewer, zone_id: str) -> Response:
    zone = zones.get_zone(db, visitor.actor, zone_id)
    return _form_page(request, visitor, zone, AppFields())


@router.post("/zones/{zone_id}/spectrum")
def create_app(request: Request, db: WebDb, posted: CheckedForm, zone_id: str) -> Response:
    fields = AppFields.posted(posted.form)
    try:
        spectrum.create_app(db, posted.actor, zone_id, fields.to_input())
    except (InvalidInput, Conflict) as exc:
        zone = zones.get_zone(db, posted.actor, zone_id)
        return _form_page(request, posted.visitor, zone, fields, errors=app_errors(exc), status=status_of(exc))
    return see_other(_list_url(zone_id, "app-created"))


@router.get("/zones/{zone_id}/spectrum/{app_id}/edit")
def edit_app(request: Request, db: WebDb, visitor: Viewer, zone_id: str, app_id: str) -> Response:
    app = spectrum.get_app(db, visitor.actor, zone_id, app_id)
    zone = zones.get_zone(db, visitor.actor, zone_id)
    return _form_page(request, visitor, zone, AppFields.of(app), app=app)


@router.post("/zones/{zone_id}/spectrum/{app_id}/edit")
def save_app(request: Request, db: WebDb, posted: CheckedForm, zone_id: str, app_id: str) -> Response:
    before = spectrum.get_app(db, posted.actor, zone_id, app_id)
    fields = AppFields.posted(posted.form)
    try:
        spectrum.update_app(db, posted.actor, zone_id, app_id, fields.to_input(before))
    except (InvalidInput, Conflict) as exc:
        zone = zones.get_zone(db, posted.actor, zone_id)
        return _form_page(
            request, posted.visitor, zone, fields, app=before, errors=app_errors(exc), status=status_of(exc)
        )
    return see_other(_list_url(zone_id, "app-saved"))


@router.post("/zones/{zone_id}/spectrum/{app_id}/delete")
def delete_app(db: WebDb, posted: CheckedForm, zone_id: str, app_id: str) -> Response:
    spectrum.delete_app(db, posted.actor, zone_id, app_id)
    return see_other(_list_url(zone_id, "app-deleted"))
