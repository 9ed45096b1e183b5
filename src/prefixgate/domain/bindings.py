"""Services and service bindings: which service an address of a prefix is bound to.

The first binding of a prefix covers the whole prefix; a more specific binding wins for the
addresses it covers (longest match), so every bound address has exactly one service.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from .codes import Code
from .errors import Conflict, InvalidInput
from .model import Access, IpAccess, Prefix
from .net import IPAddress, IPNetwork

__all__ = [
    "CDN",
    "MAGIC_TRANSIT",
    "SERVICES",
    "SPECTRUM",
    "Binding",
    "Service",
    "check_new_binding",
    "effective_binding",
    "service_by_id",
    "service_problem",
]


@dataclass(frozen=True, slots=True)
class Service:
    id: str
    name: str


MAGIC_TRANSIT: Final = Service("d3f1a9c2b7e4f6a8c0d2e4f6a8b0c2d4", "Magic Transit")
CDN: Final = Service("e5b2c8d1f4a7b0c3d6e9f2a5b8c1d4e7", "CDN")
SPECTRUM: Final = Service("f7c3d9e2a5b8c1d4e7f0a3b6c9d2e5f8", "Spectrum")
SERVICES: Final[tuple[Service, ...]] = (MAGIC_TRANSIT, CDN, SPECTRUM)
_BY_ID: Final = {s.id: s for s in SERVICES}


def service_by_id(service_id: str) -> Service | None:
    return _BY_ID.get(service_id)


@dataclass(frozen=True, slots=True)
class Binding:
    id: str
    prefix_id: str
    account_id: str
    cidr: IPNetwork
    service: Service
    state: str  # "provisioning" | "active"
    created_at: datetime
    # The edge-feed revision that created it (None: older than the feed); it is `provisioning` until
    # every live edge serves that revision.
    revision: int | None = None


def effective_binding(bindings: Iterable[Binding], ip: IPAddress) -> Binding | None:
    """The most specific binding covering `ip`, or None when the address is unbound."""
    best: Binding | None = None
    for b in bindings:
        if ip.version == b.cidr.version and ip in b.cidr and (best is None or b.cidr.prefixlen > best.cidr.prefixlen):
            best = b
    return best


def check_new_binding(prefix: Prefix, cidr: IPNetwork, existing: Sequence[Binding]) -> None:
    """Refuse a binding that breaks a rule.

    Raises:
        InvalidInput: outside the prefix, or a first binding that does not cover the whole prefix.
        Conflict: the CIDR already has a binding (delete it first to change its service).
    """
    if cidr.version != prefix.cidr.version or not cidr.subnet_of(prefix.cidr):  # type: ignore[arg-type]
        raise InvalidInput(f"cidr {cidr} is not inside prefix {prefix.cidr}", code=Code.BINDING_OUTSIDE_PREFIX)
    if not existing and cidr != prefix.cidr:
        raise InvalidInput(
            f"the first binding of prefix {prefix.cidr} must cover the whole prefix; bind {prefix.cidr} "
            f"first, then {cidr} to override part of it",
            code=Code.BINDING_NOT_WHOLE_PREFIX,
        )
    for b in existing:
        if b.cidr == cidr:
            raise Conflict(
                f"{cidr} is already bound to {b.service.name} (binding {b.id}); delete that binding to change it",
                code=Code.BINDING_EXISTS,
            )


def service_problem(
    ip: IPAddress, access: IpAccess, binding: Binding | None, service: Service
) -> tuple[str, str] | None:
    """Why an account may not put `service` to work on `ip`, as (reason, message); None when it may.

    Reasons: `ip_not_usable` (neither owned nor delegated), `prefix_not_approved` (owned or delegated, but
    the prefix is pending approval), `wrong_service` (the effective binding at the address is another
    service, or there is none).
    """
    if not access.allowed:
        reason = "ip_not_usable" if access.access == Access.NONE else "prefix_not_approved"
        return reason, access.message
    if binding is None or binding.service != service:
        bound = (
            f"bound to {binding.service.name} (binding {binding.id}, {binding.cidr})"
            if binding
            else "not bound to any service"
        )
        return "wrong_service", f"{ip} is {bound}, not to {service.name}"
    return None
