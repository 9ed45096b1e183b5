"""/zones"""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from ...service import zones
from ...service.records import zone_record
from ..deps import AccountPaging, CurrentActor, Db
from ..envelope import ok, ok_page
from ..routing import api_router
from ..schemas.common import Envelope, IdResult
from ..schemas.zones import CreateZone, EditZone, ZoneOut
from ._common import ERRORS

router = api_router(prefix="/zones", tags=["Zones"], responses=ERRORS)


@router.get("", response_model=Envelope[list[ZoneOut]])
def list_zones(
    db: Db,
    actor: CurrentActor,
    page: AccountPaging,
    name: Annotated[str | None, Query(max_length=253)] = None,
    account_id: Annotated[str | None, Query(alias="account.id", max_length=32)] = None,
) -> dict[str, object]:
    return ok_page(zones.list_zones(db, actor, page, account_id=account_id, name=name), zone_record)


@router.post("", response_model=Envelope[ZoneOut])
def create_zone(db: Db, actor: CurrentActor, body: CreateZone) -> dict[str, object]:
    return ok(zone_record(zones.create_zone(db, actor, body.account.id, body.name, type=body.type)))


@router.get("/{zone_id}", response_model=Envelope[ZoneOut])
def get_zone(db: Db, actor: CurrentActor, zone_id: str) -> dict[str, object]:
    return ok(zone_record(zones.get_zone(db, actor, zone_id)))


@router.patch("/{zone_id}", response_model=Envelope[ZoneOut])
def edit_zone(db: Db, actor: CurrentActor, zone_id: str, body: EditZone) -> dict[str, object]:
    return ok(zone_record(zones.edit_zone(db, actor, zone_id, paused=body.paused)))


@router.delete("/{zone_id}", response_model=Envelope[IdResult])
def delete_zone(db: Db, actor: CurrentActor, zone_id: str) -> dict[str, object]:
    """Delete a zone, and the Spectrum apps in it."""
    return ok({"id": zones.delete_zone(db, actor, zone_id).id})
