"""Changes that take addresses away never strand a running app: they are refused (409, listing
the apps), or with force the apps are blocked — kept, shown with the reason, no longer served."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..domain.bindings import SPECTRUM, Binding, effective_binding
from ..domain.codes import Code
from ..domain.errors import Conflict
from ..domain.model import Delegation, Prefix
from ..domain.net import IPAddress, IPNetwork
from ..domain.spectrum import SpectrumApp
from .context import Actor, record
from .ports import UnitOfWork

__all__ = ["AffectedApp", "binding_impact", "delegation_impact", "enforce", "prefix_impact"]


@dataclass(frozen=True, slots=True)
class AffectedApp:
    app: SpectrumApp
    ips: tuple[IPAddress, ...]
    reason: str


def _group(
    hits: Sequence[tuple[SpectrumApp, IPAddress]], keep: Callable[[SpectrumApp, IPAddress], bool], reason: str
) -> list[AffectedApp]:
    apps: dict[str, SpectrumApp] = {}
    ips: dict[str, list[IPAddress]] = defaultdict(list)
    for app, ip in hits:
        if keep(app, ip):
            apps[app.id] = app
            ips[app.id].append(ip)
    return [
        AffectedApp(apps[i], tuple(sorted(ips[i], key=lambda ip: (ip.version, int(ip)))), reason) for i in sorted(apps)
    ]


def delegation_impact(uow: UnitOfWork, prefix: Prefix, delegation: Delegation) -> list[AffectedApp]:
    """The delegatee's apps that lose an address if `delegation` goes (no other delegation covers it)."""
    account = delegation.delegated_account_id

    def loses(_: SpectrumApp, ip: IPAddress) -> bool:
        others = [d for d in uow.delegations.covering(prefix, account, ip) if d.delegation.id != delegation.id]
        return not others

    hits = uow.spectrum.using_range(delegation.cidr, account_id=account)
    reason = f"delegation {delegation.id} ({delegation.cidr}) from account {delegation.owner_account_id} was removed"
    return _group(hits, loses, reason)


def binding_impact(
    uow: UnitOfWork, net: IPNetwork, bindings_after: Sequence[Binding], change: str
) -> list[AffectedApp]:
    """Apps in `net` whose address would no longer be bound to Spectrum once `bindings_after` apply."""

    def loses(_: SpectrumApp, ip: IPAddress) -> bool:
        b = effective_binding(bindings_after, ip)
        return b is None or b.service != SPECTRUM

    return _group(uow.spectrum.using_range(net, account_id=None), loses, change)


def prefix_impact(uow: UnitOfWork, prefix: Prefix) -> list[AffectedApp]:
    reason = f"prefix {prefix.cidr} was deleted"
    return _group(uow.spectrum.using_range(prefix.cidr, account_id=None), lambda _a, _i: True, reason)


def enforce(
    uow: UnitOfWork, actor: Actor, affected: Sequence[AffectedApp], *, force: bool, change: str, owner_account_id: str
) -> None:
    """Refuse the change (409) when apps depend on it; with force, block them and log it in both accounts."""
    if not affected:
        return
    if not force:
        raise Conflict(
            f"{change} would leave {len(affected)} Spectrum app(s) on addresses their account may no longer use; "
            "delete or move them first, or repeat with ?force=true to block them",
            code=Code.DEPENDENT_APPS,
            details=tuple(
                (
                    Code.DEPENDENT_APPS,
                    f"app {a.app.id} in zone {a.app.zone_id} of account {a.app.account_id} uses "
                    + ", ".join(str(ip) for ip in a.ips),
                )
                for a in affected
            ),
        )
    for a in affected:
        uow.spectrum.block(a.app.id, a.reason)
        record(
            uow,
            actor,
            "spectrum_app.blocked",
            a.app.id,
            owners=[("account", owner_account_id), ("account", a.app.account_id)],
            metadata={"reason": a.reason, "ips": [str(ip) for ip in a.ips], "zone_id": a.app.zone_id},
        )
