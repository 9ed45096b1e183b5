"""May an account put a service to work on an IP right now? The one computation that Spectrum apps,
custom hostnames, the revocation checks and the edge's resolve all share."""

from __future__ import annotations

from ..domain.bindings import CDN, SPECTRUM, Service, effective_binding, service_problem
from ..domain.net import IPAddress
from ..domain.rules import decide_ip_access
from .ports import UnitOfWork

__all__ = ["cdn_problem", "spectrum_problem", "usability_problem"]


def usability_problem(uow: UnitOfWork, account_id: str, ip: IPAddress, service: Service) -> tuple[str, str] | None:
    """(reason, message) when `account_id` may not serve `service` on `ip`; None when it may.

    Usable means: owned or delegated, on an approved prefix, and the effective (most specific) binding at
    the address is `service`.
    """
    prefix = uow.prefixes.containing(ip)
    covering = uow.delegations.covering(prefix, account_id, ip) if prefix is not None else []
    access = decide_ip_access(account_id, ip, prefix, covering)
    binding = None
    if prefix is not None and access.allowed:
        binding = effective_binding(uow.bindings.for_prefix(prefix.id), ip)
    return service_problem(ip, access, binding, service)


def spectrum_problem(uow: UnitOfWork, account_id: str, ip: IPAddress) -> tuple[str, str] | None:
    return usability_problem(uow, account_id, ip, SPECTRUM)


def cdn_problem(uow: UnitOfWork, account_id: str, ip: IPAddress) -> tuple[str, str] | None:
    return usability_problem(uow, account_id, ip, CDN)
