"""May an account use an IP right now, and put a service to work on it? The one computation that
Spectrum apps, custom hostnames, address maps, the revocation checks and the edge's resolve all share."""

from __future__ import annotations

from ..domain.bindings import CDN, SPECTRUM, Service, effective_binding, service_problem
from ..domain.model import IpAccess, Prefix
from ..domain.net import IPAddress
from ..domain.rules import decide_ip_access
from .ports import UnitOfWork

__all__ = ["account_ip_access", "cdn_problem", "spectrum_problem", "usability_problem"]


def _access(uow: UnitOfWork, account_id: str, ip: IPAddress) -> tuple[Prefix | None, IpAccess]:
    prefix = uow.prefixes.containing(ip)
    covering = uow.delegations.covering(prefix, account_id, ip) if prefix is not None else []
    return prefix, decide_ip_access(account_id, ip, prefix, covering)


def account_ip_access(uow: UnitOfWork, account_id: str, ip: IPAddress) -> IpAccess:
    """Whether `account_id` may use `ip` (owned, or delegated to it, on an approved prefix), and why."""
    return _access(uow, account_id, ip)[1]


def usability_problem(uow: UnitOfWork, account_id: str, ip: IPAddress, service: Service) -> tuple[str, str] | None:
    """(reason, message) when `account_id` may not serve `service` on `ip`; None when it may.

    Usable means: owned or delegated, on an approved prefix, and the effective (most specific) binding at
    the address is `service`.
    """
    prefix, access = _access(uow, account_id, ip)
    binding = None
    if prefix is not None and access.allowed:
        binding = effective_binding(uow.bindings.for_prefix(prefix.id), ip)
    return service_problem(ip, access, binding, service)


def spectrum_problem(uow: UnitOfWork, account_id: str, ip: IPAddress) -> tuple[str, str] | None:
    return usability_problem(uow, account_id, ip, SPECTRUM)


def cdn_problem(uow: UnitOfWork, account_id: str, ip: IPAddress) -> tuple[str, str] | None:
    return usability_problem(uow, account_id, ip, CDN)
