"""Who serves a connection: the data plane's decision, from the same rules as the API's."""

from __future__ import annotations

from ..domain.codes import Code
from ..domain.dnsname import parse_hostname
from ..domain.errors import InvalidInput
from ..domain.hostnames import resolve_request
from ..domain.net import parse_ip
from ..domain.spectrum import Resolution, parse_protocol, resolve_connection
from .context import Actor
from .ports import Database
from .usability import cdn_problem, spectrum_problem

__all__ = ["resolve"]


def resolve(db: Database, actor: Actor, ip: str, transport: str, port: int, *, sni: str | None = None) -> Resolution:
    """Which app or custom hostname, zone and account receive a connection to (ip, transport, port), with
    the TLS SNI or HTTP Host `sni` for HTTP(S), or exactly why none does."""
    actor.require_operator()
    address = parse_ip(ip)
    protocol = parse_protocol(f"{transport}/{port}")
    if sni is not None:
        if protocol.transport != "tcp":
            raise InvalidInput("sni goes with protocol tcp (HTTP and HTTPS)", code=Code.INVALID_PROTOCOL)
        name = parse_hostname(sni, what="sni", code=Code.INVALID_HOSTNAME)
        with db.read() as uow:
            host = uow.hostnames.active_named(name)
            problem = cdn_problem(uow, host.account_id, address) if host is not None else None
            zone = uow.zones.get(host.zone_id) if host is not None else None
            fallback = uow.fallback_origins.get(host.zone_id) if host is not None else None
        origin = host.custom_origin_server if host is not None and host.custom_origin_server else None
        origin = origin or (fallback.origin if fallback is not None else None)
        return resolve_request(
            address, name, host, problem, origin=origin, zone_paused=zone is not None and zone.paused
        )
    with db.read() as uow:
        app = uow.spectrum.app_at(address, protocol.transport, protocol.ports.start)
        problem = spectrum_problem(uow, app.account_id, address) if app is not None and app.status == "active" else None
        zone = uow.zones.get(app.zone_id) if app is not None else None
    paused = zone is not None and zone.paused
    return resolve_connection(address, protocol, app, problem, zone_paused=paused)
