"""Custom hostnames (SSL for SaaS): create, read, list, edit and delete, and a zone's fallback origin."""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from ..domain.codes import Code
from ..domain.dnsname import is_within
from ..domain.errors import Conflict, InvalidInput, NotFound
from ..domain.hostnames import (
    NO_FALLBACK_ORIGIN,
    PENDING,
    SSL_INITIALIZING,
    CustomHostname,
    FallbackOrigin,
    HostnameQuery,
    SslRequest,
    parse_custom_hostname,
    parse_origin_server,
    parse_ssl,
)
from ..domain.model import Page, PageRequest, Zone
from ..domain.roles import Permission
from .context import Actor, record, utcnow
from .hostname_records import fallback_origin_record, hostname_audit_record
from .ports import Database, UnitOfWork
from .zones import zone_for

__all__ = [
    "HostnameEdit",
    "HostnameInput",
    "SslInput",
    "create_hostname",
    "delete_fallback_origin",
    "delete_hostname",
    "edit_hostname",
    "get_fallback_origin",
    "get_hostname",
    "list_hostnames",
    "put_fallback_origin",
]

MAX_METADATA_BYTES = 4096
REQUEST_HOST_HEADER = ":request_host_header:"  # Cloudflare's custom_origin_sni value: send the visitor's Host


@dataclass(frozen=True, slots=True)
class SslInput:
    """The `ssl` object as the client sent it (type-checked, not yet rule-checked)."""

    method: str | None = None
    type: str | None = None
    settings: Mapping[str, object] | None = None
    bundle_method: str | None = None
    wildcard: bool | None = None
    certificate_authority: str | None = None
    custom_certificate_field: str | None = None  # the name of a custom-certificate field given, if any

    def parse(self) -> SslRequest:
        return parse_ssl(
            method=self.method,
            type=self.type,
            settings=self.settings,
            bundle_method=self.bundle_method,
            wildcard=self.wildcard,
            certificate_authority=self.certificate_authority,
            custom_certificate_field=self.custom_certificate_field,
        )


@dataclass(frozen=True, slots=True)
class HostnameInput:
    hostname: str
    ssl: SslInput
    custom_metadata: Mapping[str, object] | None = None
    custom_origin_server: str | None = None
    custom_origin_sni: str | None = None


@dataclass(frozen=True, slots=True)
class HostnameEdit:
    """A PATCH: fields left as None are unchanged; an empty string clears an origin field."""

    ssl: SslInput | None = None
    custom_metadata: Mapping[str, object] | None = None
    custom_origin_server: str | None = None
    custom_origin_sni: str | None = None


def _metadata(value: Mapping[str, object] | None) -> Mapping[str, object] | None:
    if value is None:
        return None
    if len(json.dumps(dict(value))) > MAX_METADATA_BYTES:
        raise InvalidInput(f"custom_metadata is larger than {MAX_METADATA_BYTES} bytes", code=Code.INVALID_FIELD)
    return dict(value)


def _origin(value: str | None) -> str | None:
    return parse_origin_server(value) if value else None


def _sni(value: str | None) -> str | None:
    if not value:
        return None
    if value == REQUEST_HOST_HEADER:
        return value
    return parse_origin_server(value, what="custom_origin_sni")


def _hostname(uow: UnitOfWork, zone: Zone, hostname_id: str) -> CustomHostname:
    host = uow.hostnames.get(zone.id, hostname_id)
    if host is None:
        raise NotFound("custom hostname not found", code=Code.NOT_FOUND)
    return host


def _audit(
    uow: UnitOfWork, actor: Actor, action: str, before: CustomHostname | None, after: CustomHostname | None
) -> None:
    host = after or before
    assert host is not None
    record(
        uow,
        actor,
        action,
        host.id,
        owners=[("account", host.account_id)],
        old=hostname_audit_record(before) if before else None,
        new=hostname_audit_record(after) if after else None,
        metadata={"zone_id": host.zone_id},
    )


def create_hostname(db: Database, actor: Actor, zone_id: str, spec: HostnameInput) -> CustomHostname:
    """Add a pending custom hostname; re-validation picks it up at once (or POST .../validate).

    Raises:
        InvalidInput: a bad name or origin, or the zone has no fallback origin.
        Conflict: the zone has the name already, or it is active in another zone.
    """
    now = utcnow()
    with db.write() as uow:
        zone = zone_for(uow, actor, zone_id, Permission.SSL_WRITE)  # strangers learn nothing, not even input rules
        name = parse_custom_hostname(spec.hostname)
        ssl = spec.ssl.parse()
        origin, sni, metadata = (
            _origin(spec.custom_origin_server),
            _sni(spec.custom_origin_sni),
            _metadata(spec.custom_metadata),
        )
        if uow.fallback_origins.get(zone.id) is None:
            raise InvalidInput(
                f"{NO_FALLBACK_ORIGIN} PUT .../custom_hostnames/fallback_origin first",
                code=Code.NO_FALLBACK_ORIGIN,
            )
        if uow.hostnames.named_in_zone(zone.id, name) is not None:
            raise Conflict(f"{name} is already a custom hostname of this zone", code=Code.HOSTNAME_EXISTS)
        if uow.hostnames.active_named(name) is not None:
            raise Conflict(f"{name} is already active as a custom hostname elsewhere", code=Code.HOSTNAME_IN_USE)
        host = CustomHostname(
            id=str(uuid.uuid4()),
            zone_id=zone.id,
            account_id=zone.account_id,
            hostname=name,
            status=PENDING,
            ssl_id=str(uuid.uuid4()),
            ssl=ssl,
            ownership_token=str(uuid.uuid4()),
            custom_origin_server=origin,
            custom_origin_sni=sni,
            custom_metadata=metadata,
            verification_errors=(),
            created_at=now,
        )
        uow.hostnames.add(host, next_check_at=now)
        _audit(uow, actor, "custom_hostname.created", None, host)
        uow.commit()
    return host


def get_hostname(db: Database, actor: Actor, zone_id: str, hostname_id: str) -> CustomHostname:
    with db.read() as uow:
        return _hostname(uow, zone_for(uow, actor, zone_id, Permission.SSL_READ), hostname_id)


def _name_filter(value: str | None, *, whole: bool = True) -> str | None:
    """Names are stored lower case, without a trailing dot (a part of a name keeps its dots)."""
    if value is None:
        return None
    value = value.strip().lower()
    return value.removesuffix(".") if whole else value


def _clean_query(q: HostnameQuery) -> HostnameQuery:
    """At most one name or id filter, with names as they are stored."""
    given = {
        "hostname": q.hostname,
        "hostname.exact": q.exact,
        "hostname.contain": q.contains,
        "hostname.startsWith": q.starts_with,
        "id": q.id,
    }
    named = [name for name, value in given.items() if value is not None]
    if len(named) > 1:
        raise InvalidInput(f"give one of {', '.join(named)}, not several", code=Code.INVALID_FIELD)
    return dataclasses.replace(
        q,
        hostname=_name_filter(q.hostname if q.hostname is not None else q.exact),
        exact=None,
        contains=_name_filter(q.contains, whole=False),
        starts_with=_name_filter(q.starts_with, whole=False),
        custom_origin_server=_name_filter(q.custom_origin_server),
    )


def list_hostnames(
    db: Database, actor: Actor, zone_id: str, page: PageRequest, query: HostnameQuery | None = None
) -> Page[CustomHostname]:
    """The zone's hostnames matching `query`, oldest first (newest with `query.descending`).

    Raises:
        InvalidInput: more than one of the name filters and the id filter.
    """
    with db.read() as uow:
        zone = zone_for(uow, actor, zone_id, Permission.SSL_READ)
        q = _clean_query(query or HostnameQuery())
        if q.ssl_active or q.ssl_status not in (None, SSL_INITIALIZING):
            return Page([], 0, page)  # no certificate is issued yet: every hostname's SSL is initializing
        return uow.hostnames.page(zone.id, page, q)


def edit_hostname(db: Database, actor: Actor, zone_id: str, hostname_id: str, edit: HostnameEdit) -> CustomHostname:
    """Change SSL settings, metadata or origins. As on Cloudflare, an edit also asks for a re-check now."""
    with db.write() as uow:
        zone = zone_for(uow, actor, zone_id, Permission.SSL_WRITE)
        before = _hostname(uow, zone, hostname_id)
        after = dataclasses.replace(
            before,
            ssl=edit.ssl.parse() if edit.ssl is not None else before.ssl,
            custom_metadata=_metadata(edit.custom_metadata)
            if edit.custom_metadata is not None
            else before.custom_metadata,
            custom_origin_server=(
                _origin(edit.custom_origin_server)
                if edit.custom_origin_server is not None
                else before.custom_origin_server
            ),
            custom_origin_sni=_sni(edit.custom_origin_sni)
            if edit.custom_origin_sni is not None
            else before.custom_origin_sni,
        )
        uow.hostnames.replace(after)
        uow.hostnames.schedule(after.id, utcnow())
        _audit(uow, actor, "custom_hostname.updated", before, after)
        uow.commit()
    return after


def delete_hostname(db: Database, actor: Actor, zone_id: str, hostname_id: str) -> CustomHostname:
    with db.write() as uow:
        zone = zone_for(uow, actor, zone_id, Permission.SSL_WRITE)
        host = _hostname(uow, zone, hostname_id)
        uow.hostnames.delete(host.id)
        _audit(uow, actor, "custom_hostname.deleted", host, None)
        uow.commit()
    return host


def get_fallback_origin(db: Database, actor: Actor, zone_id: str) -> FallbackOrigin:
    with db.read() as uow:
        zone = zone_for(uow, actor, zone_id, Permission.SSL_READ)
        fo = uow.fallback_origins.get(zone.id)
    if fo is None:
        raise NotFound("this zone has no fallback origin", code=Code.NOT_FOUND)
    return fo


def put_fallback_origin(db: Database, actor: Actor, zone_id: str, origin: str) -> FallbackOrigin:
    """Set the zone's fallback origin: a name in the zone, where custom hostnames' traffic goes.

    prefixgate deploys nothing, so the origin is active at once.
    """
    now = utcnow()
    with db.write() as uow:
        zone = zone_for(uow, actor, zone_id, Permission.SSL_WRITE)
        name = parse_origin_server(origin, what="origin")
        if not is_within(name, zone.name):
            raise InvalidInput(f"origin {name} must be a name in the zone {zone.name}", code=Code.INVALID_HOSTNAME)
        before = uow.fallback_origins.get(zone.id)
        fo = FallbackOrigin(zone.id, name, "active", (), before.created_at if before else now, now)
        uow.fallback_origins.put(fo)
        record(
            uow,
            actor,
            "fallback_origin.updated",
            zone.id,
            owners=[("account", zone.account_id)],
            old=fallback_origin_record(before) if before else None,
            new=fallback_origin_record(fo),
        )
        uow.commit()
    return fo


def delete_fallback_origin(db: Database, actor: Actor, zone_id: str) -> FallbackOrigin:
    """Remove the fallback origin. The zone no longer uses SSL for SaaS: its hostnames go back to pending."""
    with db.write() as uow:
        zone = zone_for(uow, actor, zone_id, Permission.SSL_WRITE)
        fo = uow.fallback_origins.get(zone.id)
        if fo is None:
            raise NotFound("this zone has no fallback origin", code=Code.NOT_FOUND)
        uow.fallback_origins.delete(zone.id)
        for host in uow.hostnames.in_zone(zone.id):
            after = dataclasses.replace(
                host, status=PENDING, verification_errors=(NO_FALLBACK_ORIGIN,), addresses=(), route=None
            )
            uow.hostnames.replace(after)
            if host.status != PENDING:
                _audit(uow, actor, "custom_hostname.deactivated", host, after)
        record(
            uow,
            actor,
            "fallback_origin.deleted",
            zone.id,
            owners=[("account", zone.account_id)],
            old=fallback_origin_record(fo),
        )
        uow.commit()
    return fo
