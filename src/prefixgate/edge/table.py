"""The compiled serving table: `resolve`'s decision for every (ip, transport, port) and (ip, sni), from one
`EdgeState`, without a database.

`compile_table` is pure and deterministic; the table is immutable. Its answers are exactly those of
`service.edge.resolve` (served, reason, kind, object id, account, zone, origin; not the messages), from
the same rules:

- the app claiming (ip, transport, port) is, among apps listing ip with that transport and the port in
  their range, the active one first, then the newest `modified_on` (as the database's `app_at`); equal
  `modified_on` falls to the greater id, a tie the database leaves unordered;
- an account may serve a service on ip when it owns the prefix holding ip, or the prefix delegates ip to
  it, the prefix is approved, and the most specific binding at ip is that service (`decide_ip_access`,
  `effective_binding`, `service_problem`);
- a zone's pause is checked where `resolve_connection` and `resolve_request` check it.

Indexes are sorted integer intervals per address family, searched by bisection: prefixes, each prefix's
bindings flattened to their longest match, and the union of the delegations each account that holds a
custom hostname received. Only those accounts' delegations are kept; Spectrum answers are computed
once per (app, edge IP) at compile time. No address range is ever enumerated.
"""

from __future__ import annotations

import heapq
import ipaddress
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise
from types import MappingProxyType
from typing import Final, NamedTuple

from ..domain.bindings import CDN, SPECTRUM
from ..domain.dnsname import parse_hostname
from ..domain.errors import InvalidInput
from ..domain.net import IPAddress
from ..domain.spectrum import Protocol, parse_protocol
from .cdn import CdnArea, CdnAreas, cdn_areas
from .intervals import Cover, Segments, laminar_flatten, merge
from .state import AppRow, EdgeState, HostnameRow, PrefixRow

__all__ = [
    "CUSTOM_HOSTNAME",
    "SPECTRUM_APP",
    "Answer",
    "CdnArea",
    "CdnAreas",
    "EdgeTable",
    "HostEntry",
    "PortClaim",
    "Tracked",
    "Usability",
    "app_origin",
    "compile_table",
    "stale_connections",
]

SPECTRUM_APP: Final = "spectrum_app"
CUSTOM_HOSTNAME: Final = "custom_hostname"
_FAMILIES: Final = (4, 6)


@dataclass(frozen=True, slots=True)
class Answer:
    """The decision for one connection, as `resolve`'s Resolution gives it (less the message)."""

    served: bool
    reason: str
    kind: str | None = None
    object_id: str | None = None
    account_id: str | None = None
    zone_id: str | None = None
    origin: str | None = None


@dataclass(frozen=True, slots=True)
class PortClaim:
    """Ports start..end of one edge IP and transport, claimed by `app_id` there, with the answer."""

    start: int
    end: int
    app_id: str
    answer: Answer


@dataclass(frozen=True, slots=True)
class HostEntry:
    """An active custom hostname with what its answers need besides the address."""

    host: HostnameRow
    zone_paused: bool
    origin: str | None


@dataclass(frozen=True, slots=True)
class _Family:
    prefixes: Segments[PrefixRow]
    bindings: Segments[str]  # the service id of the longest-match binding


@dataclass(frozen=True, slots=True)
class Usability:
    """`service.usability.usability_problem` over the compiled indexes: per family, the prefixes and their
    flattened bindings; per (account, family), the union of the delegations the account received."""

    families: Mapping[int, _Family]
    delegated: Mapping[tuple[str, int], Cover]

    def problem(self, account_id: str, ip: IPAddress, service_id: str) -> str | None:
        """Why `account_id` may not serve `service_id` on ip (ip_not_usable, prefix_not_approved,
        wrong_service), or None when it may."""
        family = self.families[ip.version]
        x = int(ip)
        prefix = family.prefixes.at(x)
        if prefix is None:
            return "ip_not_usable"
        if prefix.account_id != account_id:
            mine = self.delegated.get((account_id, ip.version))
            if mine is None or x not in mine:
                return "ip_not_usable"
        if not prefix.approved:
            return "prefix_not_approved"
        if family.bindings.at(x) != service_id:
            return "wrong_service"
        return None


@dataclass(frozen=True, slots=True)
class EdgeTable:
    """The compiled state. `usability` keeps the delegations only of accounts that hold an active custom
    hostname: Spectrum answers are computed when compiling, hostname answers at lookup."""

    revision: int
    apps: Mapping[str, AppRow]
    claims: Mapping[tuple[IPAddress, str], tuple[PortClaim, ...]]  # (edge ip, transport) -> ports, sorted
    hostnames: Mapping[str, HostEntry]
    cdn_areas: CdnAreas  # sorted by (version, start), disjoint
    udp_apps: tuple[str, ...]  # ids of UDP apps: HAProxy does not proxy UDP
    origin_names: tuple[str, ...]  # the origin names the data plane must resolve, sorted
    usability: Usability

    def spectrum(self, ip: IPAddress | str, transport: str, port: int) -> Answer:
        """Who receives a connection to (ip, transport, port)."""
        claims = self.claims.get((_address(ip), transport), ())
        i = bisect_right(claims, port, key=lambda c: c.start) - 1
        if i >= 0 and claims[i].end >= port:
            return claims[i].answer
        return _NO_APP

    def hostname(self, ip: IPAddress | str, sni: str) -> Answer:
        """Who receives an HTTP(S) request for `sni` (TLS SNI or Host) on ip. `sni` is read as `resolve`
        reads it (case and one trailing dot do not matter); a name `resolve` refuses as invalid has no
        active hostname here."""
        try:
            name = parse_hostname(sni, what="sni")
        except InvalidInput:
            return _NOT_ACTIVE
        entry = self.hostnames.get(name)
        if entry is None:
            return _NOT_ACTIVE
        h = entry.host
        if entry.zone_paused:
            reason = "zone_paused"
        else:
            reason = self.usability.problem(h.account_id, _address(ip), CDN.id) or "served"
        return Answer(reason == "served", reason, CUSTOM_HOSTNAME, h.id, h.account_id, h.zone_id, entry.origin)


_NO_APP: Final = Answer(False, "no_app")
_NOT_ACTIVE: Final = Answer(False, "hostname_not_active", CUSTOM_HOSTNAME)


def _address(ip: IPAddress | str) -> IPAddress:
    return ipaddress.ip_address(ip) if isinstance(ip, str) else ip


@lru_cache(maxsize=4096)
def _protocol(text: str) -> Protocol:
    return parse_protocol(text)


def app_origin(app: AppRow) -> str:
    """The app's origin as `SpectrumApp.origin` writes it: "name:ports" or the direct URIs."""
    if app.origin_dns_name:
        return f"{app.origin_dns_name}:{app.origin_port}"
    return ",".join(app.origin_direct)


def _bounds(net: ipaddress.IPv4Network | ipaddress.IPv6Network) -> tuple[int, int]:
    start = int(net.network_address)
    return start, start | ((1 << (net.max_prefixlen - net.prefixlen)) - 1)  # cheaper than broadcast_address


def _families(state: EdgeState) -> dict[int, _Family]:
    prefixes: dict[int, list[tuple[int, int, PrefixRow]]] = {v: [] for v in _FAMILIES}
    for p in state.prefixes.values():
        prefixes[p.cidr.version].append((*_bounds(p.cidr), p))
    by_prefix: dict[str, list[tuple[str, int, int, str]]] = defaultdict(list)
    for b in state.bindings.values():
        parent = state.prefixes.get(b.prefix_id)
        if parent is not None and parent.cidr.version == b.cidr.version:
            (ps, pe), (bs, be) = _bounds(parent.cidr), _bounds(b.cidr)
            if bs > pe or be < ps:
                continue
            by_prefix[parent.id].append((b.id, max(ps, bs), min(pe, be), b.service_id))
    bound: dict[int, list[tuple[int, int, str]]] = {v: [] for v in _FAMILIES}
    for prefix_id, found in by_prefix.items():
        version = state.prefixes[prefix_id].cidr.version
        bound[version].extend(laminar_flatten((s, e, sid) for _, s, e, sid in sorted(found)))
    return {v: _Family(Segments(prefixes[v]), Segments(bound[v])) for v in _FAMILIES}


Received = dict[tuple[str, int], list[tuple[int, int]]]  # (account, family) -> merged intervals


def _delegated(state: EdgeState, accounts: set[str]) -> tuple[Received, Received]:
    """The union of the delegations each of `accounts` received, each clipped to its prefix; and the
    same of only those in approved prefixes."""
    parts: dict[tuple[str, int], list[tuple[int, int]]] = defaultdict(list)
    approved: dict[tuple[str, int], list[tuple[int, int]]] = defaultdict(list)
    bounds: dict[str, tuple[int, int, int, bool]] = {}
    for d in state.delegations.values():
        if d.delegated_account_id not in accounts:
            continue
        pb = bounds.get(d.prefix_id)
        if pb is None:
            p = state.prefixes.get(d.prefix_id)
            if p is None:
                continue
            pb = bounds[d.prefix_id] = (p.cidr.version, *_bounds(p.cidr), p.approved)
        version, ps, pe, ok = pb
        if d.cidr.version != version:
            continue
        ds, de = _bounds(d.cidr)
        if ds <= pe and de >= ps:
            piece = (max(ps, ds), min(pe, de))
            parts[(d.delegated_account_id, version)].append(piece)
            if ok:
                approved[(d.delegated_account_id, version)].append(piece)
    return {k: merge(v) for k, v in parts.items()}, {k: merge(v) for k, v in approved.items()}


def _app_answer(usability: Usability, state: EdgeState, app: AppRow, ip: IPAddress) -> Answer:
    zone = state.zones.get(app.zone_id)
    if app.status == "blocked":
        reason = "app_blocked"
    elif zone is not None and zone.paused:
        reason = "zone_paused"
    else:
        reason = usability.problem(app.account_id, ip, SPECTRUM.id) or "served"
    return Answer(reason == "served", reason, SPECTRUM_APP, app.id, app.account_id, app.zone_id, app_origin(app))


def _rank(app: AppRow) -> tuple[bool, object, str]:
    return app.status == "active", app.modified_on, app.id


def _claims(usability: Usability, state: EdgeState) -> dict[tuple[IPAddress, str], tuple[PortClaim, ...]]:
    candidates: dict[tuple[IPAddress, str], list[tuple[int, int, AppRow, Answer]]] = defaultdict(list)
    for app in state.apps.values():
        protocol = _protocol(app.protocol)
        for ip in app.edge_ips:
            answer = _app_answer(usability, state, app, ip)
            candidates[(ip, protocol.transport)].append((protocol.ports.start, protocol.ports.end, app, answer))
    return {key: _winners(c) for key, c in candidates.items()}


def _winners(candidates: list[tuple[int, int, AppRow, Answer]]) -> tuple[PortClaim, ...]:
    """Cut the ports the candidates claim into pieces, each won by its best claimant (see `_rank`): a sweep
    over the range ends with a heap of the claims open there, O(k log k) for k apps on one address."""
    if len(candidates) == 1:
        s, e, app, answer = candidates[0]
        return (PortClaim(s, e, app.id, answer),)
    by_rank = sorted(range(len(candidates)), key=lambda i: _rank(candidates[i][2]))
    rank = {i: r for r, i in enumerate(by_rank)}
    by_start = sorted(range(len(candidates)), key=lambda i: candidates[i][0])
    cuts = sorted({s for s, _, _, _ in candidates} | {e + 1 for _, e, _, _ in candidates})
    open_: list[tuple[int, int]] = []  # (-rank, index): the best open claim first
    out: list[PortClaim] = []
    j = 0
    for lo, nxt in pairwise(cuts):
        while j < len(by_start) and candidates[by_start[j]][0] <= lo:
            heapq.heappush(open_, (-rank[by_start[j]], by_start[j]))
            j += 1
        while open_ and candidates[open_[0][1]][1] < lo:
            heapq.heappop(open_)  # closed before this piece (a better claim that ended)
        if not open_:
            continue
        _, _, app, answer = candidates[open_[0][1]]
        hi = nxt - 1
        if out and out[-1].app_id == app.id and out[-1].end + 1 == lo:
            out[-1] = PortClaim(out[-1].start, hi, app.id, answer)
        else:
            out.append(PortClaim(lo, hi, app.id, answer))
    return tuple(out)


def _hostnames(state: EdgeState) -> dict[str, HostEntry]:
    out: dict[str, HostEntry] = {}
    for h in sorted(state.hostnames.values(), key=lambda h: h.id, reverse=True):  # the least id wins a tie
        zone = state.zones.get(h.zone_id)
        fallback = state.fallback_origins.get(h.zone_id)
        origin = h.custom_origin_server or None
        origin = origin or (fallback.origin if fallback is not None else None)
        out[h.hostname] = HostEntry(h, zone is not None and zone.paused, origin)
    return dict(sorted(out.items()))


def compile_table(state: EdgeState) -> EdgeTable:
    """The lookup table of `state`: pure and deterministic (the same state gives an equal table)."""
    hosts = _hostnames(state)
    host_accounts = {e.host.account_id for e in hosts.values()}
    app_accounts = {a.account_id for a in state.apps.values() if a.status == "active" and a.edge_ips}
    families = _families(state)
    received, received_approved = _delegated(state, host_accounts | app_accounts)
    delegated = {k: Cover(v) for k, v in received.items()}
    claims = _claims(Usability(families, delegated), state)
    usability = Usability(
        MappingProxyType(families),
        MappingProxyType({k: v for k, v in delegated.items() if k[0] in host_accounts}),
    )
    areas = cdn_areas(
        {v: f.prefixes for v, f in families.items()},
        {v: f.bindings for v, f in families.items()},
        received_approved,
        host_accounts,
    )
    apps = dict(sorted(state.apps.items()))
    udp = tuple(a.id for a in apps.values() if _protocol(a.protocol).transport == "udp")
    names = {a.origin_dns_name for a in apps.values() if a.origin_dns_name and _protocol(a.protocol).transport == "tcp"}
    names |= {e.origin for e in hosts.values() if e.origin}
    return EdgeTable(
        revision=state.revision,
        apps=MappingProxyType(apps),
        claims=MappingProxyType(dict(sorted(claims.items(), key=lambda kv: (kv[0][0].version, kv[0][0], kv[0][1])))),
        hostnames=MappingProxyType(hosts),
        cdn_areas=areas,
        udp_apps=udp,
        origin_names=tuple(sorted(n for n in names if not _is_literal(n))),
        usability=usability,
    )


def _is_literal(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


class Tracked(NamedTuple):
    """A connection the data plane gave an object: its destination, the object, and the hostname (SNI or
    Host) it was routed by, or None for a Spectrum app."""

    dst_ip: IPAddress
    dst_port: int
    object_id: str
    hostname: str | None


def stale_connections(table: EdgeTable, tracked: Iterable[Tracked]) -> tuple[Tracked, ...]:
    """The tracked connections that `table` no longer serves by the same object: to be closed."""
    out: list[Tracked] = []
    for t in tracked:
        if t.hostname is None:
            answer = table.spectrum(t.dst_ip, "tcp", t.dst_port)
        else:
            answer = table.hostname(t.dst_ip, t.hostname)
        if not (answer.served and answer.object_id == t.object_id):
            out.append(t)
    return tuple(out)
