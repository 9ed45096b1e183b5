"""/accounts/{account_id}/addressing/prefixes"""

from __future__ import annotations

from ...service import prefixes
from ...service.records import prefix_record
from ..deps import AddressingPaging, AppSettings, CurrentActor, Db, Force
from ..envelope import ok, ok_page
from ..routing import api_router
from ..schemas.addressing import CreatePrefix, EditPrefix, PrefixOut
from ..schemas.common import Envelope
from ._common import ERRORS

router = api_router(prefix="/accounts/{account_id}/addressing/prefixes", tags=["IP Prefixes"], responses=ERRORS)


@router.get("", response_model=Envelope[list[PrefixOut]])
def list_prefixes(db: Db, actor: CurrentActor, account_id: str, page: AddressingPaging) -> dict[str, object]:
    return ok_page(prefixes.list_prefixes(db, actor, account_id, page), prefix_record)


@router.post("", status_code=201, response_model=Envelope[PrefixOut])
def create_prefix(
    db: Db, actor: CurrentActor, settings: AppSettings, account_id: str, body: CreatePrefix
) -> dict[str, object]:
    """Onboard a prefix. It starts pending (`approved: "P"`) until an operator approves it."""
    prefix = prefixes.create_prefix(
        db,
        actor,
        account_id,
        body.cidr,
        asn=body.asn,
        description=body.description,
        loa_document_id=body.loa_document_id,
        delegate_loa_creation=body.delegate_loa_creation,
        allow_non_public=settings.allow_non_public_prefixes,
    )
    return ok(prefix_record(prefix))


@router.get("/{prefix_id}", response_model=Envelope[PrefixOut])
def get_prefix(db: Db, actor: CurrentActor, account_id: str, prefix_id: str) -> dict[str, object]:
    return ok(prefix_record(prefixes.get_prefix(db, actor, account_id, prefix_id)))


@router.patch("/{prefix_id}", response_model=Envelope[PrefixOut])
def edit_prefix(db: Db, actor: CurrentActor, account_id: str, prefix_id: str, body: EditPrefix) -> dict[str, object]:
    return ok(prefix_record(prefixes.edit_prefix(db, actor, account_id, prefix_id, description=body.description)))


@router.delete("/{prefix_id}", response_model=Envelope[None])
def delete_prefix(
    db: Db, actor: CurrentActor, account_id: str, prefix_id: str, force: Force = False
) -> dict[str, object]:
    """Delete a pending prefix without delegations; anything else is refused with 409."""
    prefixes.delete_prefix(db, actor, account_id, prefix_id, force=force)
    return ok(None)


@router.post("/{prefix_id}/validate", response_model=Envelope[PrefixOut])
def validate_prefix(db: Db, actor: CurrentActor, account_id: str, prefix_id: str) -> dict[str, object]:
    return ok(prefix_record(prefixes.validate_prefix(db, actor, account_id, prefix_id)))
