"""Spectrum apps: create, replace, read, list and delete, with the edge-IP rules enforced under lock."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from ..domain.codes import Code
from ..domain.dnsname import is_within, parse_hostname
from ..domain.errors import Conflict, InvalidInput, NotFound
from ..domain.model import Page, PageRequest, Zone
from ..domain.net import IPAddress
from ..domain.roles import Permission
from ..domain.spectrum import (
    CONNECTIVITIES,
    PROXY_PROTOCOLS,
    TLS_MODES,
    TRAFFIC_TYPES,
    EdgeIps,
    OriginDns,
    PortRange,
    Protocol,
    SpectrumApp,
    check_option,
    parse_origin_direct,
    parse_origin_port,
    parse_protocol,
    parse_static_ips,
)
from .context import Actor, new_id, record, utcnow
from .ports import Database, UnitOfWork
from .records import app_record
from .usability import spectrum_problem
from .zones import zone_for

__all__ = ["AppInput", "create_app", "delete_app", "get_app", "list_apps", "update_app"]

_NOT_AUTHORIZED = "The authenticated account is not authorized to use the provided edge_ips."


@dataclass(frozen=True, slots=True)
class AppInput:
    """An app as the client sent it (already type-checked, not yet rule-checked)."""

    protocol: str
    dns_type: str
    dns_name: str
    edge_ips_type: str = "dynamic"
    edge_connectivity: str | None = None
    edge_ips: Sequence[str] = ()
    origin_direct: Sequence[str] | None = None
    origin_dns_name: str | None = None
    origin_dns_type: str = ""
    origin_dns_ttl: int | None = None
    origin_port: int | str | None = None
    traffic_type: str = "direct"
    proxy_protocol: str = "off"
    ip_firewall: bool = False
    tls: str | None = None
    argo_smart_routing: bool = False


def _edge_ips(spec: AppInput) -> EdgeIps:
    if spec.edge_ips_type == "static":
        if spec.dns_type != "ADDRESS":
            raise InvalidInput("static edge_ips require dns.type ADDRESS", code=Code.INVALID_EDGE_IPS)
        return EdgeIps("static", None, parse_static_ips(list(spec.edge_ips)))
    if spec.dns_type != "CNAME":
        raise InvalidInput("dynamic edge_ips require dns.type CNAME", code=Code.INVALID_EDGE_IPS)
    if spec.edge_ips:
        raise InvalidInput("edge_ips.ips goes only with type static", code=Code.INVALID_EDGE_IPS)
    return EdgeIps("dynamic", check_option("edge_ips.connectivity", spec.edge_connectivity or "all", CONNECTIVITIES))


def _origin(spec: AppInput, protocol: Protocol) -> tuple[tuple[str, ...], OriginDns | None, PortRange | None]:
    if spec.origin_direct is not None and spec.origin_dns_name is not None:
        raise InvalidInput(
            "give either origin_direct or origin_dns with origin_port, not both", code=Code.INVALID_ORIGIN
        )
    if spec.origin_direct is not None:
        if spec.origin_port is not None:
            raise InvalidInput(
                "origin_port goes with origin_dns; origin_direct URIs carry their own port", code=Code.INVALID_ORIGIN
            )
        return parse_origin_direct(list(spec.origin_direct), protocol), None, None
    if spec.origin_dns_name is None:
        raise InvalidInput(
            "an origin is required: origin_direct, or origin_dns with origin_port", code=Code.INVALID_ORIGIN
        )
    if spec.origin_port is None:
        raise InvalidInput("origin_port is required with origin_dns", code=Code.INVALID_ORIGIN)
    name = parse_hostname(spec.origin_dns_name, what="origin_dns.name")
    if spec.origin_dns_ttl is not None and not 0 < spec.origin_dns_ttl <= 86400:
        raise InvalidInput("origin_dns.ttl must be 1 to 86400 seconds", code=Code.INVALID_ORIGIN)
    return (), OriginDns(name, spec.origin_dns_type, spec.origin_dns_ttl), parse_origin_port(spec.origin_port, protocol)


def _build(zone: Zone, spec: AppInput, *, app_id: str, created_on: datetime | None = None) -> SpectrumApp:
    protocol = parse_protocol(spec.protocol)
    # The API's schema allows only these values already; forms and other entrypoints are checked here.
    check_option("traffic_type", spec.traffic_type, TRAFFIC_TYPES)
    check_option("proxy_protocol", spec.proxy_protocol, PROXY_PROTOCOLS)
    if spec.tls is not None:
        check_option("tls", spec.tls, TLS_MODES)
    dns_name = parse_hostname(spec.dns_name, what="dns.name", allow_wildcard=True)
    if not is_within(dns_name.removeprefix("*."), zone.name):
        raise InvalidInput(f"dns.name {dns_name} is not in zone {zone.name}", code=Code.INVALID_FIELD)
    if spec.ip_firewall and protocol.transport != "tcp":
        raise InvalidInput("ip_firewall is only available for TCP applications", code=Code.INVALID_FIELD)
    if spec.traffic_type in ("http", "https") and protocol.transport != "tcp":
        raise InvalidInput(f"traffic_type {spec.traffic_type} needs a tcp protocol", code=Code.INVALID_FIELD)
    if spec.argo_smart_routing and spec.traffic_type != "direct":
        raise InvalidInput("argo_smart_routing needs traffic_type direct", code=Code.INVALID_FIELD)
    direct, dns, port = _origin(spec, protocol)
    now = utcnow()
    return SpectrumApp(
        id=app_id,
        zone_id=zone.id,
        account_id=zone.account_id,
        dns_type=spec.dns_type,
        dns_name=dns_name,
        protocol=protocol,
        traffic_type=spec.traffic_type,
        edge_ips=_edge_ips(spec),
        origin_direct=direct,
        origin_dns=dns,
        origin_port=port,
        proxy_protocol=spec.proxy_protocol,
        ip_firewall=spec.ip_firewall,
        tls=spec.tls,
        argo_smart_routing=spec.argo_smart_routing,
        created_on=created_on or now,
        modified_on=now,
    )


def _check_edge_ips(uow: UnitOfWork, app: SpectrumApp) -> None:
    """Every static IP must be usable by the app's account and bound to Spectrum (11019), and no other
    active app may hold the same address, transport and ports (409)."""
    problems: list[tuple[IPAddress, str, str]] = []
    for ip in app.edge_ips.ips:
        problem = spectrum_problem(uow, app.account_id, ip)
        if problem is not None:
            problems.append((ip, *problem))
    if problems:
        raise InvalidInput(
            _NOT_AUTHORIZED,
            code=Code.EDGE_IPS_NOT_AUTHORIZED,
            details=tuple((Code.EDGE_IPS_NOT_AUTHORIZED, f"{ip}: {reason}: {msg}") for ip, reason, msg in problems),
        )
    for ip in app.edge_ips.ips:
        holders = uow.spectrum.claims_on(ip, app.protocol.transport, app.protocol.ports, exclude_app=app.id)
        if holders:
            raise Conflict(
                f"{app.protocol} on {ip} is already used by Spectrum app {holders[0]}",
                code=Code.EDGE_PORT_TAKEN,
            )


def _record(
    uow: UnitOfWork,
    actor: Actor,
    action: str,
    *,
    before: SpectrumApp | None = None,
    after: SpectrumApp | None = None,
) -> None:
    app = after or before
    assert app is not None
    record(
        uow,
        actor,
        action,
        app.id,
        owners=[("account", app.account_id)],
        old=app_record(before) if before else None,
        new=app_record(after) if after else None,
    )


def create_app(db: Database, actor: Actor, zone_id: str, spec: AppInput) -> SpectrumApp:
    with db.write() as uow:
        zone = zone_for(uow, actor, zone_id, Permission.SPECTRUM_WRITE)
        app = _build(zone, spec, app_id=new_id())
        uow.spectrum.lock_claims()
        _check_edge_ips(uow, app)
        uow.spectrum.add(app)
        _record(uow, actor, "spectrum_app.created", after=app)
        uow.commit()
    return app


def update_app(db: Database, actor: Actor, zone_id: str, app_id: str, spec: AppInput) -> SpectrumApp:
    """Replace an app whole. A blocked app that passes every check again becomes active."""
    with db.write() as uow:
        zone = zone_for(uow, actor, zone_id, Permission.SPECTRUM_WRITE)
        before = uow.spectrum.get(zone.id, app_id)
        if before is None:
            raise NotFound("app not found", code=Code.NOT_FOUND)
        app = _build(zone, spec, app_id=before.id, created_on=before.created_on)
        uow.spectrum.lock_claims()
        _check_edge_ips(uow, app)
        uow.spectrum.replace(app)
        _record(uow, actor, "spectrum_app.updated", before=before, after=app)
        uow.commit()
    return app


def get_app(db: Database, actor: Actor, zone_id: str, app_id: str) -> SpectrumApp:
    with db.read() as uow:
        zone = zone_for(uow, actor, zone_id, Permission.SPECTRUM_READ)
        app = uow.spectrum.get(zone.id, app_id)
    if app is None:
        raise NotFound("app not found", code=Code.NOT_FOUND)
    return app


def list_apps(
    db: Database, actor: Actor, zone_id: str, page: PageRequest, *, order: str = "dns", descending: bool = False
) -> Page[SpectrumApp]:
    with db.read() as uow:
        zone = zone_for(uow, actor, zone_id, Permission.SPECTRUM_READ)
        return uow.spectrum.page(zone.id, page, order=order, descending=descending)


def delete_app(db: Database, actor: Actor, zone_id: str, app_id: str) -> SpectrumApp:
    with db.write() as uow:
        zone = zone_for(uow, actor, zone_id, Permission.SPECTRUM_WRITE)
        app = uow.spectrum.get(zone.id, app_id)
        if app is None:
            raise NotFound("app not found", code=Code.NOT_FOUND)
        uow.spectrum.delete(app.id)
        _record(uow, actor, "spectrum_app.deleted", before=app)
        uow.commit()
    return app
