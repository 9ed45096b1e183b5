"""Plain-dict views of domain objects, in Cloudflare's field names.

The API returns them and the audit log stores them, so both always agree.
"""

from __future__ import annotations

from ..domain.address_maps import AddressMap, MapIp, MapMembership
from ..domain.bindings import Binding, Service
from ..domain.model import Account, ApiToken, Delegation, Membership, Prefix, ReceivedDelegation, User, Zone
from ..domain.roles import ROLES, Role, role_by_id
from ..domain.spectrum import Resolution, SpectrumApp
from .context import rfc3339

__all__ = [
    "account_record",
    "address_map_full_record",
    "address_map_record",
    "app_record",
    "binding_record",
    "delegation_record",
    "member_record",
    "prefix_record",
    "received_delegation_record",
    "resolution_record",
    "role_record",
    "service_record",
    "token_record",
    "user_record",
    "zone_record",
]

Record = dict[str, object]


def prefix_record(p: Prefix) -> Record:
    return {
        "id": p.id,
        "account_id": p.account_id,
        "cidr": str(p.cidr),
        "asn": p.asn,
        "description": p.description,
        "approved": p.approved,
        "loa_document_id": p.loa_document_id,
        "delegate_loa_creation": p.delegate_loa_creation,
        "on_demand_enabled": p.on_demand_enabled,
        "on_demand_locked": p.on_demand_locked,
        "advertised": p.advertised,
        "advertised_modified_at": rfc3339(p.advertised_modified_at),
        "irr_validation_state": p.irr_validation_state,
        "rpki_validation_state": p.rpki_validation_state,
        "ownership_validation_state": p.ownership_validation_state,
        "ownership_validation_token": p.ownership_validation_token,
        "created_at": rfc3339(p.created_at),
        "modified_at": rfc3339(p.modified_at),
    }


def delegation_record(d: Delegation) -> Record:
    return {
        "id": d.id,
        "cidr": str(d.cidr),
        "delegated_account_id": d.delegated_account_id,
        "parent_prefix_id": d.prefix_id,
        "created_at": rfc3339(d.created_at),
        "modified_at": rfc3339(d.modified_at),
    }


def received_delegation_record(r: ReceivedDelegation) -> Record:
    return {
        **delegation_record(r.delegation),
        "owner_account_id": r.delegation.owner_account_id,
        "parent_prefix_cidr": str(r.parent_cidr),
    }


def account_record(a: Account) -> Record:
    return {
        "id": a.id,
        "name": a.name,
        "type": a.type,
        "created_on": rfc3339(a.created_at),
        "settings": {"enforce_twofactor": False, "abuse_contact_email": None},
    }


def role_record(r: Role) -> Record:
    perms = {p.value for p in r.permissions}
    grant = {
        key: {"read": f"{key}.read" in perms, "write": f"{key}.write" in perms}
        for key in ("account", "members", "addressing", "audit", "zones", "spectrum")
    }
    return {
        "id": r.id,
        "name": r.name,
        "description": r.description,
        "permissions": {
            "organization": {"read": grant["account"]["read"], "write": grant["members"]["write"]},
            "addressing": grant["addressing"],
            "audit_logs": grant["audit"],
            "members": grant["members"],
            "zones": grant["zones"],
            "spectrum": grant["spectrum"],
        },
    }


def member_record(m: Membership) -> Record:
    roles = [role_record(r) for rid in m.role_ids if (r := role_by_id(rid)) is not None]
    return {
        "id": m.id,
        "email": m.user_email,
        "status": m.status,
        "roles": roles,
        "policies": [],
        "user": {
            "id": m.user_id,
            "email": m.user_email,
            "first_name": None,
            "last_name": None,
            "two_factor_authentication_enabled": False,
        },
    }


def user_record(u: User) -> Record:
    return {
        "id": u.id,
        "email": u.email,
        "first_name": None,
        "last_name": None,
        "username": u.email,
        "two_factor_authentication_enabled": False,
        "suspended": False,
        "operator": u.is_operator,
        "created_on": rfc3339(u.created_at),
    }


def token_record(t: ApiToken) -> Record:
    return {
        "id": t.id,
        "name": t.name,
        "status": t.status,
        "issued_on": rfc3339(t.issued_on),
        "modified_on": rfc3339(t.modified_on),
        "last_used_on": rfc3339(t.last_used_on),
        "not_before": rfc3339(t.not_before),
        "expires_on": rfc3339(t.expires_on),
        "policies": [],
    }


ALL_ROLE_RECORDS = tuple(role_record(r) for r in ROLES)


def zone_record(z: Zone) -> Record:
    return {
        "id": z.id,
        "name": z.name,
        "status": z.status,
        "paused": z.paused,
        "type": z.type,
        "development_mode": 0,
        "name_servers": [],
        "original_name_servers": None,
        "original_registrar": None,
        "original_dnshost": None,
        "created_on": rfc3339(z.created_on),
        "modified_on": rfc3339(z.modified_on),
        "activated_on": rfc3339(z.activated_on),
        "account": {"id": z.account_id, "name": None},
        "owner": {"id": None, "name": None, "type": None},
        "meta": {"step": 4, "phishing_detected": False},
        "plan": {"id": None, "name": None},
        "permissions": [],
    }


def service_record(s: Service) -> Record:
    return {"id": s.id, "name": s.name}


def binding_record(b: Binding) -> Record:
    return {
        "id": b.id,
        "cidr": str(b.cidr),
        "service_id": b.service.id,
        "service_name": b.service.name,
        "provisioning": {"state": b.state},
    }


def app_record(a: SpectrumApp) -> Record:
    edge: Record = (
        {"type": "static", "ips": [str(ip) for ip in a.edge_ips.ips]}
        if a.edge_ips.type == "static"
        else {"type": "dynamic", "connectivity": a.edge_ips.connectivity or "all"}
    )
    out: Record = {
        "id": a.id,
        "protocol": str(a.protocol),
        "dns": {"type": a.dns_type, "name": a.dns_name},
        "traffic_type": a.traffic_type,
        "edge_ips": edge,
        "proxy_protocol": a.proxy_protocol,
        "ip_firewall": a.ip_firewall,
        "tls": a.tls,
        "argo_smart_routing": a.argo_smart_routing,
        "created_on": rfc3339(a.created_on),
        "modified_on": rfc3339(a.modified_on),
        "status": a.status,
        "blocked_reason": a.blocked_reason,
    }
    if a.origin_direct:
        out["origin_direct"] = list(a.origin_direct)
    if a.origin_dns is not None:
        out["origin_dns"] = {"name": a.origin_dns.name, "type": a.origin_dns.type, "ttl": a.origin_dns.ttl}
        port = a.origin_port
        out["origin_port"] = None if port is None else (port.start if port.start == port.end else str(port))
    return out


def resolution_record(r: Resolution) -> dict[str, object]:
    app = r.app
    if app is None:
        return {
            "served": r.served,
            "kind": r.kind,
            "id": r.object_id,
            "account_id": r.account_id,
            "zone_id": r.zone_id,
            "origin": r.origin,
            "reason": r.reason,
            "message": r.message,
        }
    return {
        "served": r.served,
        "kind": "spectrum_app",
        "id": app.id,
        "account_id": app.account_id,
        "zone_id": app.zone_id,
        "origin": app.origin,
        "reason": r.reason,
        "message": r.message,
    }


def address_map_record(m: AddressMap) -> Record:
    return {
        "id": m.id,
        "description": m.description,
        "default_sni": m.default_sni,
        "enabled": m.enabled,
        "can_delete": m.can_delete,
        "can_modify_ips": m.can_modify_ips,
        "created_at": rfc3339(m.created_at),
        "modified_at": rfc3339(m.modified_at),
    }


def address_map_full_record(m: AddressMap, ips: list[MapIp], memberships: list[MapMembership]) -> Record:
    """A map with its IPs and members, as Cloudflare's create and details answers show it."""
    return {
        **address_map_record(m),
        "ips": [{"ip": str(i.ip), "created_at": rfc3339(i.created_at)} for i in ips],
        "memberships": [
            {
                "identifier": ms.identifier,
                "kind": ms.kind,
                "can_delete": ms.can_delete,
                "created_at": rfc3339(ms.created_at),
            }
            for ms in memberships
        ],
    }
