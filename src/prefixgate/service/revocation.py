"""Changes that take addresses away never strand what uses them. They are refused (409, listing what
depends on them), or with force:
- Spectrum apps are blocked: kept, shown with the reason, no longer served;
- active custom hostnames go back to pending, with a verification error naming the change;
- address-map IPs whose account may no longer use them are taken off their maps.

Bindings do not matter to address maps (a map IP needs access to the address, not a service), so only
delegation and prefix deletions check them."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from ..domain.address_maps import MapIp
from ..domain.bindings import CDN, SPECTRUM, Binding, Service, effective_binding
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
    "AffectedMap",
    "Impact",
    "binding_hostname_impact",
    "binding_impact",
    "delegation_hostname_impact",
    "delegation_impact",
    "delegation_map_impact",
    "enforce",
    "prefix_hostname_impact",
    "prefix_impact",
    "prefix_map_impact",
]


@dataclass(frozen=True, slots=True)
class AffectedApp:
    app: SpectrumApp
    ips: tuple[IPAddress, ...]
    reason: str


@dataclass(frozen=True, slots=True)
class AffectedHostname:
    host: CustomHostname
    ips: tuple[IPAddress, ...]
    reason: str


class _HasId(Protocol):
    @property
    def id(self) -> str: ...


T = TypeVar("T", bound=_HasId)


def _by_object(
    hits: Sequence[tuple[T, IPAddress]], loses: Callable[[IPAddress], bool]
) -> list[tuple[T, tuple[IPAddress, ...]]]:
    """The objects that lose at least one of their addresses, each with those addresses, in id order."""
    objects: dict[str, T] = {}
    ips: dict[str, list[IPAddress]] = defaultdict(list)
    for obj, ip in hits:
        if loses(ip):
            objects[obj.id] = obj
            ips[obj.id].append(ip)
    return [(objects[i], tuple(sorted(ips[i], key=lambda ip: (ip.version, int(ip))))) for i in sorted(objects)]


def _still_granted(uow: UnitOfWork, prefix: Prefix, delegation: Delegation) -> Callable[[IPAddress], bool]:
    """Whether another delegation to the same account still grants an address inside `delegation`.

    Only the delegatee's delegations of the prefix that overlap the revoked one can: they are read in one
    bounded query, and each address is then checked in memory with one set lookup per prefix length
    among them, so the check costs the same per dependent however many depend on the delegation.
    """
    starts: dict[int, set[int]] = defaultdict(set)
    for d in uow.delegations.overlapping(prefix, delegation.delegated_account_id, delegation.cidr):
        if d.id != delegation.id:
            starts[d.cidr.prefixlen].add(int(d.cidr.network_address))
    bits = delegation.cidr.max_prefixlen

    def granted(ip: IPAddress) -> bool:
        x = int(ip)
        return any((x >> (bits - length)) << (bits - length) in firsts for length, firsts in starts.items())

    return granted


def _delegation_reason(delegation: Delegation) -> str:
    return f"delegation {delegation.id} ({delegation.cidr}) from account {delegation.owner_account_id} was removed"


def _lost_with(uow: UnitOfWork, prefix: Prefix, delegation: Delegation) -> Callable[[IPAddress], bool]:
    """Whether the delegatee loses an address when `delegation` goes: no other delegation covers it (the
    delegatee never owns the prefix, so another delegation is the only other grant there can be)."""

    granted = _still_granted(uow, prefix, delegation)
    return lambda ip: not granted(ip)


def _unbound_from(bindings_after: Sequence[Binding], service: Service) -> Callable[[IPAddress], bool]:
    def loses(ip: IPAddress) -> bool:
        b = effective_binding(bindings_after, ip)
        return b is None or b.service != service

    return loses


def _always(_: IPAddress) -> bool:
    return True


def delegation_impact(uow: UnitOfWork, prefix: Prefix, delegation: Delegation) -> list[AffectedApp]:
    """The delegatee's apps that lose an address if `delegation` goes."""
    hits = uow.spectrum.using_range(delegation.cidr, account_id=delegation.delegated_account_id)
    reason = _delegation_reason(delegation)
    return [AffectedApp(a, ips, reason) for a, ips in _by_object(hits, _lost_with(uow, prefix, delegation))]


def binding_impact(
    uow: UnitOfWork, net: IPNetwork, bindings_after: Sequence[Binding], change: str
) -> list[AffectedApp]:
    """Apps in `net` whose address would no longer be bound to Spectrum once `bindings_after` apply."""
    hits = uow.spectrum.using_range(net, account_id=None)
    return [AffectedApp(a, ips, change) for a, ips in _by_object(hits, _unbound_from(bindings_after, SPECTRUM))]


def prefix_impact(uow: UnitOfWork, prefix: Prefix) -> list[AffectedApp]:
    reason = f"prefix {prefix.cidr} was deleted"
    hits = uow.spectrum.using_range(prefix.cidr, account_id=None)
    return [AffectedApp(a, ips, reason) for a, ips in _by_object(hits, _always)]


def delegation_hostname_impact(uow: UnitOfWork, prefix: Prefix, delegation: Delegation) -> list[AffectedHostname]:
    """The delegatee's active hostnames validated on an address `delegation` alone grants."""
    hits = uow.hostnames.using_range(delegation.cidr, account_id=delegation.delegated_account_id)
    reason = _delegation_reason(delegation)
    return [AffectedHostname(h, ips, reason) for h, ips in _by_object(hits, _lost_with(uow, prefix, delegation))]


def binding_hostname_impact(
    uow: UnitOfWork, net: IPNetwork, bindings_after: Sequence[Binding], change: str
) -> list[AffectedHostname]:
    """Active hostnames on addresses in `net` that would no longer be bound to CDN once `bindings_after` apply."""
    hits = uow.hostnames.using_range(net, account_id=None)
    return [AffectedHostname(h, ips, change) for h, ips in _by_object(hits, _unbound_from(bindings_after, CDN))]


def prefix_hostname_impact(uow: UnitOfWork, prefix: Prefix) -> list[AffectedHostname]:
    reason = f"prefix {prefix.cidr} was deleted"
    hits = uow.hostnames.using_range(prefix.cidr, account_id=None)
    return [AffectedHostname(h, ips, reason) for h, ips in _by_object(hits, _always)]


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


def delegation_map_impact(uow: UnitOfWork, prefix: Prefix, delegation: Delegation) -> list[AffectedMap]:
    """The delegatee's map IPs that lose their grant if `delegation` goes (no other delegation covers them).

    The delegatee never owns the prefix, so another delegation is the only other grant there can be.
    """
    hits = uow.address_maps.ips_in_range(delegation.cidr, account_id=delegation.delegated_account_id)
    loses = _lost_with(uow, prefix, delegation)
    return _group_map_ips(hits, lambda hit: loses(hit.ip), _delegation_reason(delegation))


def prefix_map_impact(uow: UnitOfWork, prefix: Prefix) -> list[AffectedMap]:
    """Every map IP inside the prefix, on anyone's map."""
    reason = f"prefix {prefix.cidr} was deleted"
    return _group_map_ips(uow.address_maps.ips_in_range(prefix.cidr, account_id=None), lambda _: True, reason)


@dataclass(frozen=True, slots=True)
class Impact:
    """What a change that takes addresses away would affect: the apps it would block, the hostnames it
    would send back to pending and the map IPs it would take off their maps."""

    apps: list[AffectedApp]
    hostnames: list[AffectedHostname]
    maps: list[AffectedMap]

    def __bool__(self) -> bool:
        return bool(self.apps or self.hostnames or self.maps)


def _dependents(
    apps: Sequence[AffectedApp], hostnames: Sequence[AffectedHostname], maps: Sequence[AffectedMap]
) -> tuple[tuple[int, str], ...]:
    """One error line per dependent: map IPs, then hostnames, then apps."""
    return (
        tuple(
            (
                Code.DEPENDENT_MAP_IPS,
                f"address map {m.map_id} of account {m.account_id} holds " + ", ".join(str(ip) for ip in m.ips),
            )
            for m in maps
        )
        + tuple(
            (
                Code.DEPENDENT_HOSTNAMES,
                f"custom hostname {h.host.id} ({h.host.hostname}) in zone {h.host.zone_id} of account "
                f"{h.host.account_id} is active on " + ", ".join(str(ip) for ip in h.ips),
            )
            for h in hostnames
        )
        + tuple(
            (
                Code.DEPENDENT_APPS,
                f"app {a.app.id} in zone {a.app.zone_id} of account {a.app.account_id} uses "
                + ", ".join(str(ip) for ip in a.ips),
            )
            for a in apps
        )
    )


def _refusal(
    change: str, apps: Sequence[AffectedApp], hostnames: Sequence[AffectedHostname], maps: Sequence[AffectedMap]
) -> Conflict:
    what = []
    if maps:
        what.append(f"IPs on {len(maps)} address map(s)")
    if hostnames:
        what.append(f"{len(hostnames)} active custom hostname(s)")
    if apps:
        what.append(f"{len(apps)} Spectrum app(s)")
    code = Code.DEPENDENT_MAP_IPS if maps else Code.DEPENDENT_HOSTNAMES if hostnames else Code.DEPENDENT_APPS
    return Conflict(
        f"{change} would leave {' and '.join(what)} on addresses their account may no longer use; remove or move "
        "them first, or repeat with ?force=true to block the apps, send the hostnames back to pending and take "
        "the IPs off their maps",
        code=code,
        details=_dependents(apps, hostnames, maps),
    )


def enforce(
    uow: UnitOfWork,
    actor: Actor,
    apps: Sequence[AffectedApp],
    *,
    force: bool,
    change: str,
    owner_account_id: str,
    hostnames: Sequence[AffectedHostname] = (),
    maps: Sequence[AffectedMap] = (),
) -> None:
    """Refuse the change (409) when anything depends on it, listing all of it in one answer (the first
    error's code names the first kind listed: map IPs 1902, hostnames 1901, apps 1900). With force, do
    what the refusal described, and log each in both accounts.

    Callers that pass map IPs take `uow.address_maps.lock_ips()` first, so no IP is put on a map between
    check and change.
    """
    if not (apps or hostnames or maps):
        return
    if not force:
        raise _refusal(change, apps, hostnames, maps)
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
    for a in apps:
        uow.spectrum.block(a.app.id, a.reason)
        record(
            uow,
            actor,
            "spectrum_app.blocked",
            a.app.id,
            owners=[("account", owner_account_id), ("account", a.app.account_id)],
            metadata={"reason": a.reason, "ips": [str(ip) for ip in a.ips], "zone_id": a.app.zone_id},
        )
