"""/accounts/{account_id}/addressing/address_maps, with their IPs, account and zone members."""

from __future__ import annotations

from ...service import address_maps
from ...service.address_maps import KEEP
from ...service.records import address_map_record
from ..deps import AddressingPaging, CurrentActor, Db
from ..envelope import ok, ok_page
from ..routing import api_router
from ..schemas.address_maps import AddressMapFullOut, AddressMapOut, CreateAddressMap, EditAddressMap
from ..schemas.common import Envelope
from ._common import ERRORS

router = api_router(prefix="/accounts/{account_id}/addressing/address_maps", tags=["Address Maps"], responses=ERRORS)


@router.get("", response_model=Envelope[list[AddressMapOut]])
def list_address_maps(db: Db, actor: CurrentActor, account_id: str, page: AddressingPaging) -> dict[str, object]:
    return ok_page(address_maps.list_address_maps(db, actor, account_id, page), address_map_record)


@router.post("", response_model=Envelope[AddressMapFullOut])
def create_address_map(db: Db, actor: CurrentActor, account_id: str, body: CreateAddressMap) -> dict[str, object]:
    """Create a map, disabled unless `enabled` is true. Each IP must be one the account may use."""
    details = address_maps.create_address_map(
        db,
        actor,
        account_id,
        description=body.description,
        enabled=bool(body.enabled),
        ips=body.ips,
        memberships=[(m.kind, m.identifier) for m in body.memberships],
    )
    return ok(details.record())


@router.get("/{address_map_id}", response_model=Envelope[AddressMapFullOut])
def get_address_map(db: Db, actor: CurrentActor, account_id: str, address_map_id: str) -> dict[str, object]:
    return ok(address_maps.get_address_map(db, actor, account_id, address_map_id).record())


@router.patch("/{address_map_id}", response_model=Envelope[AddressMapOut])
def edit_address_map(
    db: Db, actor: CurrentActor, account_id: str, address_map_id: str, body: EditAddressMap
) -> dict[str, object]:
    sent = body.model_fields_set
    m = address_maps.edit_address_map(
        db,
        actor,
        account_id,
        address_map_id,
        description=body.description if "description" in sent else KEEP,
        default_sni=body.default_sni if "default_sni" in sent else KEEP,
        enabled=KEEP if body.enabled is None else body.enabled,
    )
    return ok(address_map_record(m))


@router.delete("/{address_map_id}", response_model=Envelope[None])
def delete_address_map(db: Db, actor: CurrentActor, account_id: str, address_map_id: str) -> dict[str, object]:
    """Delete a map. It must be disabled first (409 otherwise)."""
    address_maps.delete_address_map(db, actor, account_id, address_map_id)
    return ok(None)


@router.put("/{address_map_id}/accounts/{member_account_id}", response_model=Envelope[None])
def add_account_member(
    db: Db, actor: CurrentActor, account_id: str, address_map_id: str, member_account_id: str
) -> dict[str, object]:
    """Make the map's own account a member (the only account that can be)."""
    address_maps.add_member(db, actor, account_id, address_map_id, "account", member_account_id)
    return ok(None)


@router.delete("/{address_map_id}/accounts/{member_account_id}", response_model=Envelope[None])
def remove_account_member(
    db: Db, actor: CurrentActor, account_id: str, address_map_id: str, member_account_id: str
) -> dict[str, object]:
    address_maps.remove_member(db, actor, account_id, address_map_id, "account", member_account_id)
    return ok(None)


@router.put("/{address_map_id}/zones/{zone_id}", response_model=Envelope[None])
def add_zone_member(
    db: Db, actor: CurrentActor, account_id: str, address_map_id: str, zone_id: str
) -> dict[str, object]:
    """Make one of the account's zones a member."""
    address_maps.add_member(db, actor, account_id, address_map_id, "zone", zone_id)
    return ok(None)


@router.delete("/{address_map_id}/zones/{zone_id}", response_model=Envelope[None])
def remove_zone_member(
    db: Db, actor: CurrentActor, account_id: str, address_map_id: str, zone_id: str
) -> dict[str, object]:
    address_maps.remove_member(db, actor, account_id, address_map_id, "zone", zone_id)
    return ok(None)


@router.put("/{address_map_id}/ips/{ip_address}", response_model=Envelope[None])
def add_ip(db: Db, actor: CurrentActor, account_id: str, address_map_id: str, ip_address: str) -> dict[str, object]:
    """Put an IP on the map: one the account owns or was delegated, on an approved prefix."""
    address_maps.add_ip(db, actor, account_id, address_map_id, ip_address)
    return ok(None)


@router.delete("/{address_map_id}/ips/{ip_address}", response_model=Envelope[None])
def remove_ip(db: Db, actor: CurrentActor, account_id: str, address_map_id: str, ip_address: str) -> dict[str, object]:
    address_maps.remove_ip(db, actor, account_id, address_map_id, ip_address)
    return ok(None)
