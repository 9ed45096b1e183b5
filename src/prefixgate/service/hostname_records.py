"""Custom hostnames and fallback origins as the API shows them (and as audit events store them)."""

from __future__ import annotations

from ..domain.hostnames import (
    SSL_INITIALIZING,
    CustomHostname,
    FallbackOrigin,
    http_challenge_path,
    ownership_record_name,
)
from .context import rfc3339

__all__ = ["fallback_origin_record", "hostname_record"]

Record = dict[str, object]


def hostname_record(h: CustomHostname) -> Record:
    ssl: Record = {
        "id": h.ssl_id,
        "status": SSL_INITIALIZING,
        "method": h.ssl.method,
        "type": h.ssl.type,
        "settings": dict(h.ssl.settings),
        "bundle_method": h.ssl.bundle_method,
        "wildcard": h.ssl.wildcard,
        "validation_records": [],
        "validation_errors": [],
    }
    if h.ssl.certificate_authority is not None:
        ssl["certificate_authority"] = h.ssl.certificate_authority
    return {
        "id": h.id,
        "hostname": h.hostname,
        "status": h.status,
        "ssl": ssl,
        "ownership_verification": {
            "type": "txt",
            "name": ownership_record_name(h.hostname),
            "value": h.ownership_token,
        },
        "ownership_verification_http": {
            "http_url": f"http://{h.hostname}{http_challenge_path(h.id)}",
            "http_body": h.ownership_token,
        },
        "verification_errors": list(h.verification_errors),
        "custom_origin_server": h.custom_origin_server,
        "custom_origin_sni": h.custom_origin_sni,
        "custom_metadata": dict(h.custom_metadata) if h.custom_metadata is not None else None,
        "created_at": rfc3339(h.created_at),
    }


def hostname_audit_record(h: CustomHostname) -> Record:
    """What audit events keep: the API shape plus the addresses it is served on, without the token."""
    out = hostname_record(h)
    out.pop("ownership_verification")
    out.pop("ownership_verification_http")
    out["addresses"] = [str(ip) for ip in h.addresses]
    out["route"] = h.route
    return out


def fallback_origin_record(fo: FallbackOrigin) -> Record:
    return {
        "origin": fo.origin,
        "status": fo.status,
        "errors": list(fo.errors),
        "created_at": rfc3339(fo.created_at),
        "updated_at": rfc3339(fo.updated_at),
    }
