"""/accounts/{account_id}/addressing/services and …/prefixes/{prefix_id}/bindings"""

from __future__ import annotations

from ...service import bindings
from ...service.records import binding_record, service_record
from ..deps import AppSettings, CurrentActor, Db, Force
from ..envelope import ok
from ..routing import api_router
from ..schemas.common import Envelope
from ..schemas.zones import BindingOut, CreateBinding, ServiceOut
from ._common import ERRORS

router = api_router(prefix="/accounts/{account_id}/addressing", tags=["Service Bindings"], responses=ERRORS)


@router.get("/services", response_model=Envelope[list[ServiceOut]])
def list_services(actor: CurrentActor, account_id: str) -> dict[str, object]:
    return ok([service_record(s) for s in bindings.list_services(actor, account_id)])


@router.get("/prefixes/{prefix_id}/bindings", response_model=Envelope[list[BindingOut]])
def list_bindings(
    db: Db, actor: CurrentActor, settings: AppSettings, account_id: str, prefix_id: str
) -> dict[str, object]:
    found = bindings.list_bindings(db, actor, account_id, prefix_id, stale_s=settings.edge_stale_s)
    return ok([binding_record(b) for b in found])


@router.post("/prefixes/{prefix_id}/bindings", status_code=201, response_model=Envelope[BindingOut])
def create_binding(
    db: Db,
    actor: CurrentActor,
    settings: AppSettings,
    account_id: str,
    prefix_id: str,
    body: CreateBinding,
    force: Force = False,
) -> dict[str, object]:
    """Bind the prefix (first), or a part of it (later, overriding), to a service. It is `provisioning`
    until every live edge serves it (at once when no edge reports to this control plane)."""
    b = bindings.create_binding(
        db, actor, account_id, prefix_id, body.cidr, body.service_id, force=force, stale_s=settings.edge_stale_s
    )
    return ok(binding_record(b))


@router.get("/prefixes/{prefix_id}/bindings/{binding_id}", response_model=Envelope[BindingOut])
def get_binding(
    db: Db, actor: CurrentActor, settings: AppSettings, account_id: str, prefix_id: str, binding_id: str
) -> dict[str, object]:
    found = bindings.get_binding(db, actor, account_id, prefix_id, binding_id, stale_s=settings.edge_stale_s)
    return ok(binding_record(found))


@router.delete("/prefixes/{prefix_id}/bindings/{binding_id}", response_model=Envelope[None])
def delete_binding(
    db: Db, actor: CurrentActor, account_id: str, prefix_id: str, binding_id: str, force: Force = False
) -> dict[str, object]:
    bindings.delete_binding(db, actor, account_id, prefix_id, binding_id, force=force)
    return ok(None)
