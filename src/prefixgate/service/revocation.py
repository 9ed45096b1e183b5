"""Changes that take addresses away never strand a running app: they are refused (409, listing
the apps), or with force the apps are blocked — kept, shown with the reason, no longer served.

Nor do they leave an address on an address map whose account may no longer use it: refused (409,
listing the maps and IPs), or with force the IPs are taken off their maps. Bindings do not matter to
address maps (a map IP needs access to the address, not a service), so only delegation and prefix
deletions check them."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..domain.address_maps import MapIp
from ..domain.bindings import SPECTRUM, Binding, effective_binding
from ..domain.codes import Code
from ..domain.errors import Conflict
from ..domain.model import Delegation, Prefix
from ..domain.net import IPAddress, IPNetwork
from ..domain.spectrum import SpectrumApp
from .context import Actor, record
from .ports import UnitOfWork

__all__ = [
    "AffectedApp",
    "AffectedMap",
    "binding_impact",
    "delegation_impact",
    "delegation_map_impact",
    "enforce",
    "enforce_with_map_ips",
    "prefix_impact",
    "prefix_map_impact",
]


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


@dataclass(frozen=True, slots=True)
class AffectedMap:
    """An address map that would hold addresses its account may no longer use."""

    map_id: str
    account_id: str
    ips: tuple[IPAddress, ...]
    reason: str


def _group_map_ips(hits: Sequence[MapIp], keep: Callable[[MapIp], bool], reason: str) -> list[AffectedMap]:
    accounts: dict[str, str] = {}
    ips: dict[str, list[IPAddress]] = defaultdict(list)
    for hit in hits:
        if keep(hit):
            accounts[hit.map_id] = hit.account_id
            ips[hit.map_id].append(hit.ip)
    return [
        AffectedMap(m, accounts[m], tuple(sorted(ips[m], key=lambda ip: (ip.version, int(ip)))), reason)
        for m in sorted(accounts)
    ]


def _covered_by_another(uow: UnitOfWork, prefix: Prefix, delegation: Delegation, ip: IPAddress) -> bool:
    covering = uow.delegations.covering(prefix, delegation.delegated_account_id, ip)
    return any(d.delegation.id != delegation.id for d in covering)


def delegation_map_impact(uow: UnitOfWork, prefix: Prefix, delegation: Delegation) -> list[AffectedMap]:
    """The delegatee's map IPs that lose their grant if `delegation` goes (no other delegation covers them).

    The delegatee never owns the prefix, so another delegation is the only other grant there can be.
    """
    hits = uow.address_maps.ips_in_range(delegation.cidr, account_id=delegation.delegated_account_id)
    reason = f"delegation {delegation.id} ({delegation.cidr}) from account {delegation.owner_account_id} was removed"
    return _group_map_ips(hits, lambda hit: not _covered_by_another(uow, prefix, delegation, hit.ip), reason)


def prefix_map_impact(uow: UnitOfWork, prefix: Prefix) -> list[AffectedMap]:
    """Every map IP inside the prefix, on anyone's map."""
    reason = f"prefix {prefix.cidr} was deleted"
    return _group_map_ips(uow.address_maps.ips_in_range(prefix.cidr, account_id=None), lambda _: True, reason)


def enforce_with_map_ips(
    uow: UnitOfWork,
    actor: Actor,
    apps: Sequence[AffectedApp],
    maps: Sequence[AffectedMap],
    *,
    force: bool,
    change: str,
    owner_account_id: str,
) -> None:
    """`enforce` for the apps, and the same for map IPs: refuse (409) when any depend on the change,
    listing the map IPs and the apps in one answer; with force, take the IPs off their maps (logged in
    both accounts) and block the apps.

    Callers take `uow.address_maps.lock_ips()` first, so no IP is put on a map between check and change.
    """
    if maps and not force:
        app_lines: tuple[tuple[int, str], ...] = ()
        try:
            enforce(uow, actor, apps, force=False, change=change, owner_account_id=owner_account_id)
        except Conflict as refused:  # the apps' own refusal names them; this one names them as well
            app_lines = refused.details
        also = f" and {len(apps)} Spectrum app(s)" if apps else ""
        raise Conflict(
            f"{change} would leave IPs on {len(maps)} address map(s){also} of accounts that may no longer use "
            "them; remove them first, or repeat with ?force=true to take them off (and block the apps)",
            code=Code.DEPENDENT_MAP_IPS,
            details=tuple(
                (
                    Code.DEPENDENT_MAP_IPS,
                    f"address map {m.map_id} of account {m.account_id} holds " + ", ".join(str(ip) for ip in m.ips),
                )
                for m in maps
            )
            + app_lines,
        )
    for m in maps:
        for ip in m.ips:
            uow.address_maps.remove_ip(m.map_id, ip)
        record(
            uow,
            actor,
            "address_map.ip_removed",
            m.map_id,
            owners=[("account", owner_account_id), ("account", m.account_id)],
            metadata={"reason": m.reason, "ips": [str(ip) for ip in m.ips]},
        )
    enforce(uow, actor, apps, force=force, change=change, owner_account_id=owner_account_id)
