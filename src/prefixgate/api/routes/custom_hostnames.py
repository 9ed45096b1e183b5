"""/zones/{zone_id}/custom_hostnames and its fallback_origin (SSL for SaaS)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Query

from ...domain.hostnames import HostnameQuery
from ...domain.model import PageRequest
from ...service import hostname_checks, hostnames
from ...service.hostname_records import fallback_origin_record, hostname_record
from ...service.hostnames import HostnameEdit, HostnameInput, SslInput
from ..deps import CurrentActor, Db, Inspector, paging
from ..envelope import ok, ok_page
from ..routing import api_router
from ..schemas.common import Envelope
from ..schemas.hostnames import (
    CertificateAuthority,
    CreateHostname,
    DeletedEnvelope,
    EditHostname,
    FallbackOriginIn,
    FallbackOriginOut,
    HostnameOut,
    HostnameStatus,
    SslIn,
    SslStatus,
)
from ._common import ERRORS

router = api_router(prefix="/zones/{zone_id}/custom_hostnames", tags=["Custom Hostnames"], responses=ERRORS)

HostnamePaging = Annotated[PageRequest, paging(20, 50)]


def _ssl(body: SslIn) -> SslInput:
    settings = body.settings.model_dump(exclude_none=True) if body.settings is not None else None
    return SslInput(
        method=body.method,
        type=body.type,
        settings=settings,
        bundle_method=body.bundle_method,
        wildcard=body.wildcard,
        certificate_authority=body.certificate_authority,
        custom_certificate_field=body.custom_certificate_field(),
    )


# The fallback origin's routes come first, so "fallback_origin" is never taken for a hostname id.
@router.get("/fallback_origin", response_model=Envelope[FallbackOriginOut])
def get_fallback_origin(db: Db, actor: CurrentActor, zone_id: str) -> dict[str, object]:
    return ok(fallback_origin_record(hostnames.get_fallback_origin(db, actor, zone_id)))


@router.put("/fallback_origin", response_model=Envelope[FallbackOriginOut])
def put_fallback_origin(db: Db, actor: CurrentActor, zone_id: str, body: FallbackOriginIn) -> dict[str, object]:
    """Set where custom hostnames' traffic goes; a zone uses SSL for SaaS once it has one."""
    return ok(fallback_origin_record(hostnames.put_fallback_origin(db, actor, zone_id, body.origin)))


@router.delete("/fallback_origin", response_model=Envelope[FallbackOriginOut])
def delete_fallback_origin(db: Db, actor: CurrentActor, zone_id: str) -> dict[str, object]:
    """Remove it; the zone's custom hostnames go back to pending."""
    return ok(fallback_origin_record(hostnames.delete_fallback_origin(db, actor, zone_id)))


NameFilter = Annotated[str | None, Query(max_length=255)]


@router.get("", response_model=Envelope[list[HostnameOut]])
def list_hostnames(
    db: Db,
    actor: CurrentActor,
    zone_id: str,
    page: HostnamePaging,
    hostname: NameFilter = None,
    hostname_exact: Annotated[str | None, Query(alias="hostname.exact", max_length=255)] = None,
    hostname_contain: Annotated[str | None, Query(alias="hostname.contain", max_length=255)] = None,
    hostname_starts_with: Annotated[str | None, Query(alias="hostname.startsWith", max_length=255)] = None,
    id: Annotated[str | None, Query(max_length=36)] = None,
    hostname_status: HostnameStatus | None = None,
    ssl: Annotated[int, Query(ge=0, le=1)] = 0,
    ssl_status: SslStatus | None = None,
    wildcard: bool | None = None,
    certificate_authority: CertificateAuthority | None = None,
    custom_origin_server: NameFilter = None,
    order: Literal["ssl", "ssl_status"] = "ssl",
    direction: Literal["asc", "desc"] = "asc",
) -> dict[str, object]:
    """Hostnames oldest first (or newest with direction=desc); past the last page `result` is [].

    `hostname` and `hostname.exact` match the whole name, `hostname.contain` a part, `hostname.startsWith`
    its start; give one of them or `id`.
    """
    query = HostnameQuery(
        hostname=hostname,
        exact=hostname_exact,
        contains=hostname_contain,
        starts_with=hostname_starts_with,
        id=id,
        status=hostname_status,
        ssl_status=ssl_status,
        ssl_active=ssl == 1,
        wildcard=wildcard,
        certificate_authority=certificate_authority,
        custom_origin_server=custom_origin_server,
        descending=direction == "desc",
    )
    return ok_page(hostnames.list_hostnames(db, actor, zone_id, page, query), hostname_record)


@router.post("", response_model=Envelope[HostnameOut])
def create_hostname(db: Db, actor: CurrentActor, zone_id: str, body: CreateHostname) -> dict[str, object]:
    """Add a custom hostname (pending until DNS shows the ownership token and a route to this account)."""
    spec = HostnameInput(
        hostname=body.hostname,
        ssl=_ssl(body.ssl),
        custom_metadata=body.custom_metadata,
        custom_origin_server=body.custom_origin_server,
        custom_origin_sni=body.custom_origin_sni,
    )
    return ok(hostname_record(hostnames.create_hostname(db, actor, zone_id, spec)))


@router.get("/{custom_hostname_id}", response_model=Envelope[HostnameOut])
def get_hostname(db: Db, actor: CurrentActor, zone_id: str, custom_hostname_id: str) -> dict[str, object]:
    return ok(hostname_record(hostnames.get_hostname(db, actor, zone_id, custom_hostname_id)))


@router.patch("/{custom_hostname_id}", response_model=Envelope[HostnameOut])
def edit_hostname(
    db: Db, actor: CurrentActor, zone_id: str, custom_hostname_id: str, body: EditHostname
) -> dict[str, object]:
    """Change SSL settings, metadata or origins; the hostname is re-checked at once in the background."""
    edit = HostnameEdit(
        ssl=_ssl(body.ssl) if body.ssl is not None else None,
        custom_metadata=body.custom_metadata,
        custom_origin_server=body.custom_origin_server,
        custom_origin_sni=body.custom_origin_sni,
    )
    return ok(hostname_record(hostnames.edit_hostname(db, actor, zone_id, custom_hostname_id, edit)))


@router.delete("/{custom_hostname_id}", response_model=DeletedEnvelope)
def delete_hostname(db: Db, actor: CurrentActor, zone_id: str, custom_hostname_id: str) -> dict[str, object]:
    """Delete it; as Cloudflare does, the answer carries the id at the top level and in `result`."""
    host = hostnames.delete_hostname(db, actor, zone_id, custom_hostname_id)
    return {**ok({"id": host.id}), "id": host.id}


@router.post("/{custom_hostname_id}/validate", response_model=Envelope[HostnameOut])
def validate_hostname(
    db: Db, inspector: Inspector, actor: CurrentActor, zone_id: str, custom_hostname_id: str
) -> dict[str, object]:
    """(prefixgate extension) Check DNS now, record the outcome, and return the hostname."""
    return ok(hostname_record(hostname_checks.validate_hostname(db, inspector, actor, zone_id, custom_hostname_id)))
