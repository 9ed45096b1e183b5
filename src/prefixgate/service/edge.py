"""Who serves a connection: the data plane's decision, from the same rules as the API's."""

from __future__ import annotations

from ..domain.net import parse_ip
from ..domain.spectrum import Resolution, parse_protocol, resolve_connection
from .context import Actor
from .ports import Database
from .usability import spectrum_problem

__all__ = ["resolve"]


def resolve(db: Database, actor: Actor, ip: str, transport: str, port: int) -> Resolution:
    """Which app, zone and account receive a connection to (ip, transport, port), or exactly why none does."""
    actor.require_operator()
    address = parse_ip(ip)
    protocol = parse_protocol(f"{transport}/{port}")
    with db.read() as uow:
        app = uow.spectrum.app_at(address, protocol.transport, protocol.ports.start)
        problem = spectrum_problem(uow, app.account_id, address) if app is not None and app.status == "active" else None
        zone = uow.zones.get(app.zone_id) if app is not None else None
    paused = zone is not None and zone.paused
    return resolve_connection(address, protocol, app, problem, zone_paused=paused)
