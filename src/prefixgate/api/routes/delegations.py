"""/accounts/{account_id}/addressing/prefixes/{prefix_id}/delegations, and what a delegatee received."""

from __future__ import annotations

from ...service import delegations
from ...service.records import delegation_record, received_delegation_record
from ...service.revocation import AffectedApp, AffectedHostname, AffectedMap
from ..deps import AddressingPaging, CurrentActor, Db, Force
from ..envelope import ok, ok_page
from ..routing import api_router
from ..schemas.addressing import CreateDelegation, DelegationOut, ReceivedDelegationOut
from ..schemas.common import Envelope, IdResult
from ..schemas.zones import DelegationImpactOut
from ._common import ERRORS

router = api_router(prefix="/accounts/{account_id}/addressing", tags=["IP Prefix Delegations"], responses=ERRORS)


@router.get("/prefixes/{prefix_id}/delegations", response_model=Envelope[list[DelegationOut]])
def list_delegations(
    db: Db, actor: CurrentActor, account_id: str, prefix_id: str, page: AddressingPaging
) -> dict[str, object]:
    return ok_page(delegations.list_delegations(db, actor, account_id, prefix_id, page), delegation_record)


@router.post("/prefixes/{prefix_id}/delegations", response_model=Envelope[DelegationOut])
def create_delegation(
    db: Db, actor: CurrentActor, account_id: str, prefix_id: str, body: CreateDelegation
) -> dict[str, object]:
    d = delegations.create_delegation(db, actor, account_id, prefix_id, body.cidr, body.delegated_account_id)
    return ok(delegation_record(d))


@router.delete("/prefixes/{prefix_id}/delegations/{delegation_id}", response_model=Envelope[IdResult])
def delete_delegation(
    db: Db, actor: CurrentActor, account_id: str, prefix_id: str, delegation_id: str, force: Force = False
) -> dict[str, object]:
    """Delete a delegation. 409 lists the delegatee's apps and address-map IPs that still use it, unless
    `force=true` blocks the apps and takes the IPs off their maps."""
    d = delegations.delete_delegation(db, actor, account_id, prefix_id, delegation_id, force=force)
    return ok({"id": d.id})


@router.get("/prefixes/{prefix_id}/delegations/{delegation_id}/impact", response_model=Envelope[DelegationImpactOut])
def delegation_impact(
    db: Db, actor: CurrentActor, account_id: str, prefix_id: str, delegation_id: str
) -> dict[str, object]:
    """Extension: what deleting this delegation would affect (Spectrum apps, active custom hostnames,
    address-map IPs), without changing anything."""
    d, impact = delegations.delegation_impact(db, actor, account_id, prefix_id, delegation_id)
    return ok(
        {
            "delegation_id": d.id,
            "affected_apps": [affected_record(a) for a in impact.apps],
            "affected_hostnames": [affected_hostname_record(h) for h in impact.hostnames],
            "affected_address_maps": [affected_map_record(m) for m in impact.maps],
        }
    )


def affected_record(a: AffectedApp) -> dict[str, object]:
    return {
        "id": a.app.id,
        "zone_id": a.app.zone_id,
        "account_id": a.app.account_id,
        "ips": [str(ip) for ip in a.ips],
        "reason": a.reason,
    }


def affected_hostname_record(h: AffectedHostname) -> dict[str, object]:
    return {
        "id": h.host.id,
        "hostname": h.host.hostname,
        "zone_id": h.host.zone_id,
        "account_id": h.host.account_id,
        "ips": [str(ip) for ip in h.ips],
        "reason": h.reason,
    }


def affected_map_record(m: AffectedMap) -> dict[str, object]:
    return {"id": m.map_id, "account_id": m.account_id, "ips": [str(ip) for ip in m.ips], "reason": m.reason}


@router.get("/received_delegations", response_model=Envelope[list[ReceivedDelegationOut]])
def list_received_delegations(
    db: Db, actor: CurrentActor, account_id: str, page: AddressingPaging
) -> dict[str, object]:
    """Extension: the delegations other accounts made to this one, with owner and parent CIDR."""
    page_ = delegations.list_received_delegations(db, actor, account_id, page)
    return ok_page(page_, received_delegation_record)
