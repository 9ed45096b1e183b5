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

Indexes are sorted integer intervals per address family, searched by bisection: the prefixes, and per
prefix a piece (pieces.py) with its bindings flattened to their longest match and who was delegated
each stretch of it. Spectrum answers are computed once per (app, edge IP) at compile time. No address
range is ever enumerated.

`update_table` brings a table forward over a change without compiling the rest again: it rebuilds the
pieces of the prefixes the change touches, and recomputes the claims of the edge IPs and the entries of
the hostnames it can affect. A test holds its answers equal to `compile_table`'s on random changes.
"""

from __future__ import annotations

import heapq
import ipaddress
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence, Set
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise
from types import MappingProxyType
from typing import Final, NamedTuple, TypeVar

from ..domain.bindings import CDN, SPECTRUM
from ..domain.dnsname import parse_hostname
from ..domain.errors import InvalidInput
from ..domain.net import IPAddress
from ..domain.spectrum import Protocol, parse_protocol
from .cdn import CdnArea, CdnAreas
from .intervals import Segments, pack
from .pieces import CdnPiece, PrefixPiece, bounds, build_piece, cdn_of_piece
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
    "TableDelta",
    "Tracked",
    "Usability",
    "app_origin",
    "compile_table",
    "stale_connections",
    "update_table",
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
class Usability:
    """`service.usability.usability_problem` over the compiled indexes: per family, the prefixes by
    address; per prefix, its piece (flattened bindings and who was delegated what)."""

    prefixes: Mapping[int, Segments[str]]  # family -> prefix ranges -> prefix id
    pieces: MappingProxyType[str, PrefixPiece]

    def problem(self, account_id: str, ip: IPAddress, service_id: str) -> str | None:
        """Why `account_id` may not serve `service_id` on ip (ip_not_usable, prefix_not_approved,
        wrong_service), or None when it may."""
        x = int(ip)
        prefix_id = self.prefixes[ip.version].at(x)
        if prefix_id is None:
            return "ip_not_usable"
        piece = self.pieces[prefix_id]
        if piece.row.account_id != account_id and not piece.delegated_to(account_id, x):
            return "ip_not_usable"
        if not piece.row.approved:
            return "prefix_not_approved"
        if piece.bindings.at(x) != service_id:
            return "wrong_service"
        return None


ClaimKey = tuple[IPAddress, str]  # (edge ip, transport)


@dataclass(frozen=True, slots=True)
class _Index:
    """What `update_table` needs besides the answers, to find what a change touches."""

    members: Mapping[str, tuple[frozenset[str], frozenset[str]]]  # prefix id -> (delegation, binding ids)
    cdn: Mapping[str, CdnPiece]  # prefix id -> its CDN areas
    apps_at: Mapping[ClaimKey, frozenset[str]]  # the apps listing (ip, transport)
    points: Mapping[int, Sequence[int]]  # family -> sorted addresses with apps
    host_ids: Mapping[str, frozenset[str]]  # hostname -> the ids of the rows naming it
    host_accounts: Mapping[str, int]  # account -> its hostnames in the table
    name_refs: Mapping[str, int]  # origin name -> how many apps and hostnames name it
    udp: frozenset[str]


@dataclass(frozen=True, slots=True)
class TableDelta:
    """What `update_table` recomputed: the (edge ip, transport) claims, the prefixes whose CDN areas, and
    the hostnames. Everything else is as it was."""

    claims: frozenset[ClaimKey] = frozenset()
    cdn: frozenset[str] = frozenset()
    hostnames: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class EdgeTable:
    """The compiled state (`source`): Spectrum answers are computed when compiling, hostname answers at
    lookup."""

    revision: int
    source: EdgeState
    claims: MappingProxyType[ClaimKey, tuple[PortClaim, ...]]  # (edge ip, transport) -> ports; keys unordered
    hostnames: MappingProxyType[str, HostEntry]
    udp_apps: tuple[str, ...]  # ids of UDP apps, sorted: HAProxy does not proxy UDP
    origin_names: tuple[str, ...]  # the origin names the data plane must resolve, sorted
    usability: Usability
    _index: _Index

    @property
    def apps(self) -> Mapping[str, AppRow]:
        return self.source.apps

    @property
    def cdn_areas(self) -> CdnAreas:
        """Where the accounts holding active hostnames may serve CDN, by (version, start)."""
        rows: dict[int, tuple[Sequence[int], Sequence[int], list[tuple[str, ...]]]] = {}
        for version, segments in self.usability.prefixes.items():
            areas = [a for pid in segments.values for a in self._index.cdn.get(pid, ())]
            rows[version] = (pack(a[0] for a in areas), pack(a[1] for a in areas), [a[2] for a in areas])
        return CdnAreas(rows)

    def prefix_ids(self) -> Iterator[str]:
        """The prefixes, by (version, first address)."""
        for version in sorted(self.usability.prefixes):
            yield from self.usability.prefixes[version].values

    def cdn_of(self, prefix_id: str) -> CdnPiece:
        """The CDN areas inside one prefix."""
        return self._index.cdn.get(prefix_id, ())

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


def _at(version: int, x: int) -> IPAddress:
    return ipaddress.IPv4Address(x) if version == 4 else ipaddress.IPv6Address(x)


@lru_cache(maxsize=4096)
def _protocol(text: str) -> Protocol:
    return parse_protocol(text)


def app_origin(app: AppRow) -> str:
    """The app's origin as `SpectrumApp.origin` writes it: "name:ports" or the direct URIs."""
    if app.origin_dns_name:
        return f"{app.origin_dns_name}:{app.origin_port}"
    return ",".join(app.origin_direct)


def _claim_keys(app: AppRow) -> list[ClaimKey]:
    transport = _protocol(app.protocol).transport
    return [(ip, transport) for ip in app.edge_ips]


def _app_origin_name(app: AppRow) -> str | None:
    """The name the data plane resolves for the app (TCP apps with an origin_dns only)."""
    return app.origin_dns_name if app.origin_dns_name and _protocol(app.protocol).transport == "tcp" else None


def _prefix_index(prefixes: Iterable[PrefixRow]) -> dict[int, Segments[str]]:
    by_family: dict[int, list[tuple[int, int, str]]] = {v: [] for v in _FAMILIES}
    for p in prefixes:
        by_family[p.cidr.version].append((*bounds(p.cidr), p.id))
    return {v: Segments(items) for v, items in by_family.items()}


def _piece(state: EdgeState, prefix: PrefixRow, members: tuple[frozenset[str], frozenset[str]]) -> PrefixPiece:
    delegations, bindings = members
    return build_piece(
        prefix,
        (state.delegations[i] for i in sorted(delegations)),
        (state.bindings[i] for i in sorted(bindings)),
    )


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


def _claims_at(usability: Usability, state: EdgeState, key: ClaimKey, app_ids: Iterable[str]) -> tuple[PortClaim, ...]:
    ip = key[0]
    candidates: list[tuple[int, int, AppRow, Answer]] = []
    for app_id in sorted(app_ids):
        app = state.apps[app_id]
        ports = _protocol(app.protocol).ports
        candidates.append((ports.start, ports.end, app, _app_answer(usability, state, app, ip)))
    return _winners(candidates)


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


def _host_entry(state: EdgeState, ids: Iterable[str]) -> HostEntry | None:
    """The entry of one hostname among the rows naming it (the least id wins a tie)."""
    chosen = min(ids, default=None)
    if chosen is None:
        return None
    h = state.hostnames[chosen]
    zone = state.zones.get(h.zone_id)
    fallback = state.fallback_origins.get(h.zone_id)
    origin = h.custom_origin_server or None
    origin = origin or (fallback.origin if fallback is not None else None)
    return HostEntry(h, zone is not None and zone.paused, origin)


def _bump(counts: dict[str, int], key: str | None, by: int) -> None:
    if key is None:
        return
    n = counts.get(key, 0) + by
    if n:
        counts[key] = n
    else:
        counts.pop(key, None)


def _names(refs: Mapping[str, int]) -> tuple[str, ...]:
    return tuple(sorted(n for n in refs if not _is_literal(n)))


def compile_table(state: EdgeState) -> EdgeTable:
    """The lookup table of `state`: pure and deterministic (the same state gives an equal table)."""
    delegations: dict[str, set[str]] = defaultdict(set)
    bindings: dict[str, set[str]] = defaultdict(set)
    for d in state.delegations.values():
        delegations[d.prefix_id].add(d.id)
    for b in state.bindings.values():
        bindings[b.prefix_id].add(b.id)
    members = {
        pid: (frozenset(delegations.get(pid, ())), frozenset(bindings.get(pid, ())))
        for pid in sorted(delegations.keys() | bindings.keys())
    }
    pieces = {p.id: _piece(state, p, members.get(p.id, _NO_MEMBERS)) for p in state.prefixes.values()}
    usability = Usability(MappingProxyType(_prefix_index(state.prefixes.values())), MappingProxyType(pieces))

    host_rows: dict[str, set[str]] = defaultdict(set)
    for h in state.hostnames.values():
        host_rows[h.hostname].add(h.id)
    host_ids = {name: frozenset(ids) for name, ids in host_rows.items()}
    hostnames: dict[str, HostEntry] = {}
    host_accounts: dict[str, int] = {}
    name_refs: dict[str, int] = {}
    for name in sorted(host_ids):
        entry = _host_entry(state, host_ids[name])
        if entry is not None:
            hostnames[name] = entry
            _bump(host_accounts, entry.host.account_id, 1)
            _bump(name_refs, entry.origin, 1)
    cdn = {pid: c for pid, piece in pieces.items() if (c := cdn_of_piece(piece, host_accounts.keys()))}

    apps_at: dict[ClaimKey, set[str]] = defaultdict(set)
    for app in state.apps.values():
        for key in _claim_keys(app):
            apps_at[key].add(app.id)
        _bump(name_refs, _app_origin_name(app), 1)
    claims = {key: _claims_at(usability, state, key, ids) for key, ids in sorted(apps_at.items(), key=_claim_order)}
    points = {v: sorted({int(ip) for ip, _ in apps_at if ip.version == v}) for v in _FAMILIES}
    udp = frozenset(a.id for a in state.apps.values() if _protocol(a.protocol).transport == "udp")
    index = _Index(
        members=members,
        cdn=cdn,
        apps_at={key: frozenset(ids) for key, ids in apps_at.items()},
        points=points,
        host_ids=host_ids,
        host_accounts=host_accounts,
        name_refs=name_refs,
        udp=udp,
    )
    return EdgeTable(
        revision=state.revision,
        source=state,
        claims=MappingProxyType(claims),
        hostnames=MappingProxyType(hostnames),
        udp_apps=tuple(sorted(udp)),
        origin_names=_names(name_refs),
        usability=usability,
        _index=index,
    )


_NO_MEMBERS: Final[tuple[frozenset[str], frozenset[str]]] = (frozenset(), frozenset())


def _claim_order(item: tuple[ClaimKey, object]) -> tuple[int, IPAddress, str]:
    (ip, transport), _ = item
    return ip.version, ip, transport


def update_table(table: EdgeTable, state: EdgeState, touched: Mapping[str, Set[str]]) -> tuple[EdgeTable, TableDelta]:
    """The table of `state`, made from `table` (compiled from an earlier state) by recomputing only what
    the `touched` rows (kind -> ids, as `apply_changes_touched` reports them) can change: the prefixes
    they are in, the (edge ip, transport) claims of their apps and of those prefixes' addresses, and
    their hostnames. Equal, in every answer, to `compile_table(state)`."""
    old, ix = table.source, table._index
    zones = set(touched.get("zone", ())) | set(touched.get("fallback_origin", ()))

    # -- prefixes: membership, the address index, the pieces ----------------------------------------
    members = dict(ix.members)
    dirty = set(touched.get("prefix", ()))
    for kind, slot in (("delegation", 0), ("binding", 1)):
        before_rows, after_rows = old.table(kind), state.table(kind)
        for row_id in touched.get(kind, ()):
            before, after = before_rows.get(row_id), after_rows.get(row_id)
            for row, present in ((before, False), (after, True)):
                if row is None:
                    continue
                pid = row.prefix_id  # type: ignore[union-attr]
                dirty.add(pid)
                sets = list(members.get(pid, _NO_MEMBERS))
                sets[slot] = sets[slot] | {row_id} if present else sets[slot] - {row_id}
                if sets[0] or sets[1]:
                    members[pid] = (sets[0], sets[1])
                else:
                    members.pop(pid, None)
    prefixes_changed = any(old.prefixes.get(pid) != state.prefixes.get(pid) for pid in touched.get("prefix", ()))
    prefix_index = _prefix_index(state.prefixes.values()) if prefixes_changed else table.usability.prefixes
    pieces = table.usability.pieces.copy()
    ranges: list[tuple[int, int, int]] = []  # (version, start, end) whose addresses' answers may change
    for pid in dirty:
        gone = pieces.pop(pid, None)
        if gone is not None:
            ranges.append((gone.row.cidr.version, gone.start, gone.end))
        row = state.prefixes.get(pid)
        if row is not None:
            piece = pieces[pid] = _piece(state, row, members.get(pid, _NO_MEMBERS))
            ranges.append((row.cidr.version, piece.start, piece.end))
    usability = Usability(MappingProxyType(prefix_index), MappingProxyType(pieces))

    # -- hostnames -------------------------------------------------------------------------------------
    host_ids = dict(ix.host_ids)
    names: set[str] = set()
    for row_id in touched.get("hostname", ()):
        for row, present in ((old.hostnames.get(row_id), False), (state.hostnames.get(row_id), True)):
            if row is None:
                continue
            names.add(row.hostname)
            _mark(host_ids, row.hostname, row_id, present)
    if zones:  # a zone's pause or fallback origin changes only the entries its rows won
        names.update(name for name, e in table.hostnames.items() if e.host.zone_id in zones)
    hostnames = table.hostnames.copy()  # the dict behind the proxy: no key is hashed again
    host_accounts = dict(ix.host_accounts)
    name_refs = dict(ix.name_refs)
    for name in names:
        before_entry = hostnames.pop(name, None)
        after_entry = _host_entry(state, host_ids.get(name, ()))
        if before_entry is not None:
            _bump(host_accounts, before_entry.host.account_id, -1)
            _bump(name_refs, before_entry.origin, -1)
        if after_entry is not None:
            hostnames[name] = after_entry
            _bump(host_accounts, after_entry.host.account_id, 1)
            _bump(name_refs, after_entry.origin, 1)

    # -- CDN areas: the dirty prefixes, and those of accounts that gained or lost their last hostname ----
    flipped = {a for a in host_accounts.keys() ^ ix.host_accounts.keys()}
    cdn_dirty = set(dirty)
    if flipped:
        cdn_dirty.update(
            pid for pid, p in pieces.items() if p.row.account_id in flipped or not flipped.isdisjoint(p.accounts)
        )
    cdn = dict(ix.cdn)
    for pid in cdn_dirty:
        cdn.pop(pid, None)
        current = pieces.get(pid)
        if current is not None and (areas := cdn_of_piece(current, host_accounts.keys())):
            cdn[pid] = areas

    # -- claims: the touched apps' addresses, the dirty prefixes' addresses, the touched zones' apps ------
    apps_at = dict(ix.apps_at)
    keys: set[ClaimKey] = set()
    udp = set(ix.udp)
    app_ids = set(touched.get("app", ()))
    if zones:
        app_ids.update(a.id for a in state.apps.values() if a.zone_id in zones)
    for app_id in touched.get("app", ()):
        for app, present in ((old.apps.get(app_id), False), (state.apps.get(app_id), True)):
            if app is None:
                continue
            _bump(name_refs, _app_origin_name(app), 1 if present else -1)
            for key in _claim_keys(app):
                keys.add(key)
                _mark(apps_at, key, app_id, present)
        udp.discard(app_id)
        now = state.apps.get(app_id)
        if now is not None and _protocol(now.protocol).transport == "udp":
            udp.add(app_id)
    for app_id in app_ids:
        app = state.apps.get(app_id)
        if app is not None:
            keys.update(_claim_keys(app))
    points = {v: _moved_points(ix.points[v], v, keys, apps_at) for v in _FAMILIES}
    for version, start, end in ranges:
        line = points[version]
        for x in line[bisect_left(line, start) : bisect_right(line, end)]:
            ip = _at(version, x)
            keys.update(k for k in ((ip, "tcp"), (ip, "udp")) if k in apps_at)
    claims = table.claims.copy()
    for key in keys:
        holders = apps_at.get(key)
        if holders:
            claims[key] = _claims_at(usability, state, key, holders)
        else:
            claims.pop(key, None)

    index = _Index(
        members=members,
        cdn=cdn,
        apps_at=apps_at,
        points=points,
        host_ids=host_ids,
        host_accounts=host_accounts,
        name_refs=name_refs,
        udp=frozenset(udp),
    )
    new = EdgeTable(
        revision=state.revision,
        source=state,
        claims=MappingProxyType(claims),
        hostnames=MappingProxyType(hostnames),
        udp_apps=table.udp_apps if udp == ix.udp else tuple(sorted(udp)),
        origin_names=table.origin_names if name_refs.keys() == ix.name_refs.keys() else _names(name_refs),
        usability=usability,
        _index=index,
    )
    return new, TableDelta(frozenset(keys), frozenset(cdn_dirty), frozenset(names))


K = TypeVar("K")


def _mark(index: dict[K, frozenset[str]], key: K, item: str, present: bool) -> None:
    """Add `item` to (or remove it from) the set at `key`; an empty set leaves the index."""
    ids = index.get(key, frozenset())
    ids = ids | {item} if present else ids - {item}
    if ids:
        index[key] = ids
    else:
        index.pop(key, None)


def _moved_points(
    line: Sequence[int], version: int, keys: Set[ClaimKey], apps_at: Mapping[ClaimKey, object]
) -> Sequence[int]:
    """The sorted addresses with apps, after the apps at `keys` changed."""
    now = {int(ip) for ip, _ in keys if ip.version == version}
    if not now:
        return line
    have = {x for x in now if (_at(version, x), "tcp") in apps_at or (_at(version, x), "udp") in apps_at}
    if len(now) > 64:
        return sorted((set(line) - now) | have)
    out = list(line)
    for x in now:
        i = bisect_left(out, x)
        present = i < len(out) and out[i] == x
        if x in have and not present:
            out.insert(i, x)
        elif x not in have and present:
            del out[i]
    return out


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
