"""May an account use an IP right now (for a Spectrum app, on an address map)? The one computation the
API, the revocation checks and the edge's resolve all share."""

from __future__ import annotations

from ..domain.bindings import effective_binding
from ..domain.model import IpAccess, Prefix
from ..domain.net import IPAddress
from ..domain.rules import decide_ip_access
from ..domain.spectrum import edge_ip_problem
from .ports import UnitOfWork

__all__ = ["account_ip_access", "spectrum_problem"]


def _access(uow: UnitOfWork, account_id: str, ip: IPAddress) -> tuple[Prefix | None, IpAccess]:
    prefix = uow.prefixes.containing(ip)
    covering = uow.delegations.covering(prefix, account_id, ip) if prefix is not None else []
    return prefix, decide_ip_access(account_id, ip, prefix, covering)


def account_ip_access(uow: UnitOfWork, account_id: str, ip: IPAddress) -> IpAccess:
    """Whether `account_id` may use `ip` (owned, or delegated to it, on an approved prefix), and why."""
    return _access(uow, account_id, ip)[1]


def spectrum_problem(uow: UnitOfWork, account_id: str, ip: IPAddress) -> tuple[str, str] | None:
    """(reason, message) when `account_id` may not serve Spectrum on `ip`; None when it may."""
    prefix, access = _access(uow, account_id, ip)
    binding = None
    if prefix is not None and access.allowed:
        binding = effective_binding(uow.bindings.for_prefix(prefix.id), ip)
    return edge_ip_problem(ip, access, binding)
