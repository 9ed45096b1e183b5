"""May an account put a Spectrum app on an IP right now? The one computation the API, the
revocation checks and the edge's resolve all share."""

from __future__ import annotations

from ..domain.bindings import effective_binding
from ..domain.net import IPAddress
from ..domain.rules import decide_ip_access
from ..domain.spectrum import edge_ip_problem
from .ports import UnitOfWork

__all__ = ["spectrum_problem"]


def spectrum_problem(uow: UnitOfWork, account_id: str, ip: IPAddress) -> tuple[str, str] | None:
    """(reason, message) when `account_id` may not serve Spectrum on `ip`; None when it may."""
    prefix = uow.prefixes.containing(ip)
    covering = uow.delegations.covering(prefix, account_id, ip) if prefix is not None else []
    access = decide_ip_access(account_id, ip, prefix, covering)
    binding = None
    if prefix is not None and access.allowed:
        binding = effective_binding(uow.bindings.for_prefix(prefix.id), ip)
    return edge_ip_problem(ip, access, binding)
