"""Changes that take addresses away never strand what runs on them: they are refused (409, listing the
Spectrum apps and active custom hostnames), or with force the apps are blocked (kept, shown with the
reason, no longer served) and the hostnames go back to pending with a verification error naming the change."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..domain.bindings import CDN, SPECTRUM, Binding, effective_binding
from ..domain.codes import Code
from ..domain.errors import Conflict
from ..domain.hostnames import PENDING, CustomHostname
from ..domain.model import Delegation, Prefix
from ..domain.net import IPAddress, IPNetwork
from ..domain.spectrum import SpectrumApp
from .context import Actor, record
from .hostname_records import hostname_audit_record
from .ports import UnitOfWork

__all__ = [
    "AffectedApp",
    "AffectedHostname",
    "binding_hostname_impact",
    "binding_impact",
    "delegation_hostname_impact",
    "delegation_impact",
    "enforce",
    "prefix_hostname_impact",
    "prefix_impact",
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


@dataclass(frozen=True, slots=True)
class AffectedHostname:
    host: CustomHostname
    ips: tuple[IPAddress, ...]
    reason: str


def _group_hosts(
    hits: Sequence[tuple[CustomHostname, IPAddress]], keep: Callable[[CustomHostname, IPAddress], bool], reason: str
) -> list[AffectedHostname]:
    hosts: dict[str, CustomHostname] = {}
    ips: dict[str, list[IPAddress]] = defaultdict(list)
    for host, ip in hits:
        if keep(host, ip):
            hosts[host.id] = host
            ips[host.id].append(ip)
    return [
        AffectedHostname(hosts[i], tuple(sorted(ips[i], key=lambda ip: (ip.version, int(ip)))), reason)
        for i in sorted(hosts)
    ]


def _delegation_reason(delegation: Delegation) -> str:
    return f"delegation {delegation.id} ({delegation.cidr}) from account {delegation.owner_account_id} was removed"


def delegation_hostname_impact(uow: UnitOfWork, prefix: Prefix, delegation: Delegation) -> list[AffectedHostname]:
    """The delegatee's active hostnames validated on an address `delegation` alone grants."""
    account = delegation.delegated_account_id

    def loses(_: CustomHostname, ip: IPAddress) -> bool:
        return not [d for d in uow.delegations.covering(prefix, account, ip) if d.delegation.id != delegation.id]

    hits = uow.hostnames.using_range(delegation.cidr, account_id=account)
    return _group_hosts(hits, loses, _delegation_reason(delegation))


def binding_hostname_impact(
    uow: UnitOfWork, net: IPNetwork, bindings_after: Sequence[Binding], change: str
) -> list[AffectedHostname]:
    """Active hostnames on addresses in `net` that would no longer be bound to CDN once `bindings_after` apply."""

    def loses(_: CustomHostname, ip: IPAddress) -> bool:
        b = effective_binding(bindings_after, ip)
        return b is None or b.service != CDN

    return _group_hosts(uow.hostnames.using_range(net, account_id=None), loses, change)


def prefix_hostname_impact(uow: UnitOfWork, prefix: Prefix) -> list[AffectedHostname]:
    reason = f"prefix {prefix.cidr} was deleted"
    return _group_hosts(uow.hostnames.using_range(prefix.cidr, account_id=None), lambda _h, _i: True, reason)


def delegation_impact(uow: UnitOfWork, prefix: Prefix, delegation: Delegation) -> list[AffectedApp]:
    """The delegatee's apps that lose an address if `delegation` goes (no other delegation covers it)."""
    account = delegation.delegated_account_id

    def loses(_: SpectrumApp, ip: IPAddress) -> bool:
        others = [d for d in uow.delegations.covering(prefix, account, ip) if d.delegation.id != delegation.id]
        return not others

    hits = uow.spectrum.using_range(delegation.cidr, account_id=account)
    return _group(hits, loses, _delegation_reason(delegation))


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


def _dependents(affected: Sequence[AffectedApp], hostnames: Sequence[AffectedHostname]) -> tuple[tuple[int, str], ...]:
    apps = tuple(
        (
            Code.DEPENDENT_APPS,
            f"app {a.app.id} in zone {a.app.zone_id} of account {a.app.account_id} uses "
            + ", ".join(str(ip) for ip in a.ips),
        )
        for a in affected
    )
    hosts = tuple(
        (
            Code.DEPENDENT_HOSTNAMES,
            f"custom hostname {h.host.id} ({h.host.hostname}) in zone {h.host.zone_id} of account "
            f"{h.host.account_id} is active on " + ", ".join(str(ip) for ip in h.ips),
        )
        for h in hostnames
    )
    return apps + hosts


def enforce(
    uow: UnitOfWork,
    actor: Actor,
    affected: Sequence[AffectedApp],
    *,
    force: bool,
    change: str,
    owner_account_id: str,
    hostnames: Sequence[AffectedHostname] = (),
) -> None:
    """Refuse the change (409) when apps or active hostnames depend on it; with force, block the apps, send
    the hostnames back to pending, and log it in both accounts."""
    if not affected and not hostnames:
        return
    if not force:
        what = []
        if affected:
            what.append(f"{len(affected)} Spectrum app(s)")
        if hostnames:
            what.append(f"{len(hostnames)} active custom hostname(s)")
        raise Conflict(
            f"{change} would leave {' and '.join(what)} on addresses their account may no longer use; "
            "delete or move them first, or repeat with ?force=true to block the apps and send the hostnames "
            "back to pending",
            code=Code.DEPENDENT_APPS if affected else Code.DEPENDENT_HOSTNAMES,
            details=_dependents(affected, hostnames),
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
    for h in hostnames:
        after = dataclasses.replace(
            h.host, status=PENDING, verification_errors=(f"No longer served: {h.reason}.",), addresses=(), route=None
        )
        uow.hostnames.replace(after)
        record(
            uow,
            actor,
            "custom_hostname.deactivated",
            h.host.id,
            owners=[("account", owner_account_id), ("account", h.host.account_id)],
            old=hostname_audit_record(h.host),
            new=hostname_audit_record(after),
            metadata={"reason": h.reason, "ips": [str(ip) for ip in h.ips], "zone_id": h.host.zone_id},
        )
