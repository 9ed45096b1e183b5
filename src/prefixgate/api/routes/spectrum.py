"""/zones/{zone_id}/spectrum/apps"""

from __future__ import annotations

from typing import Annotated, Literal

from ...domain.model import PageRequest
from ...service import spectrum
from ...service.records import app_record
from ...service.spectrum import AppInput
from ..deps import CurrentActor, Db, paging
from ..envelope import ok, ok_page
from ..routing import api_router
from ..schemas.common import Envelope, IdResult
from ..schemas.zones import AppIn, AppOut
from ._common import ERRORS

router = api_router(prefix="/zones/{zone_id}/spectrum/apps", tags=["Spectrum Applications"], responses=ERRORS)

AppPaging = Annotated[PageRequest, paging(20, 100)]
Order = Literal["protocol", "app_id", "created_on", "modified_on", "dns"]


def _input(body: AppIn) -> AppInput:
    return AppInput(
        protocol=body.protocol,
        dns_type=body.dns.type,
        dns_name=body.dns.name,
        edge_ips_type=body.edge_ips.type,
        edge_connectivity=body.edge_ips.connectivity,
        edge_ips=tuple(body.edge_ips.ips or ()),
        origin_direct=body.origin_direct,
        origin_dns_name=body.origin_dns.name if body.origin_dns else None,
        origin_dns_type=body.origin_dns.type if body.origin_dns else "",
        origin_dns_ttl=body.origin_dns.ttl if body.origin_dns else None,
        origin_port=body.origin_port,
        traffic_type=body.traffic_type,
        proxy_protocol=body.proxy_protocol,
        ip_firewall=body.ip_firewall,
        tls=body.tls,
        argo_smart_routing=body.argo_smart_routing,
    )


@router.get("", response_model=Envelope[list[AppOut]])
def list_apps(
    db: Db,
    actor: CurrentActor,
    zone_id: str,
    page: AppPaging,
    order: Order = "dns",
    direction: Literal["asc", "desc"] = "asc",
) -> dict[str, object]:
    apps = spectrum.list_apps(db, actor, zone_id, page, order=order, descending=direction == "desc")
    return ok_page(apps, app_record)


@router.post("", response_model=Envelope[AppOut])
def create_app(db: Db, actor: CurrentActor, zone_id: str, body: AppIn) -> dict[str, object]:
    """Create an app. Static edge IPs must be usable by the zone's account and bound to Spectrum."""
    return ok(app_record(spectrum.create_app(db, actor, zone_id, _input(body))))


@router.get("/{app_id}", response_model=Envelope[AppOut])
def get_app(db: Db, actor: CurrentActor, zone_id: str, app_id: str) -> dict[str, object]:
    return ok(app_record(spectrum.get_app(db, actor, zone_id, app_id)))


@router.put("/{app_id}", response_model=Envelope[AppOut])
def update_app(db: Db, actor: CurrentActor, zone_id: str, app_id: str, body: AppIn) -> dict[str, object]:
    """Replace the app whole (Cloudflare's PUT)."""
    return ok(app_record(spectrum.update_app(db, actor, zone_id, app_id, _input(body))))


@router.delete("/{app_id}", response_model=Envelope[IdResult])
def delete_app(db: Db, actor: CurrentActor, zone_id: str, app_id: str) -> dict[str, object]:
    return ok({"id": spectrum.delete_app(db, actor, zone_id, app_id).id})
