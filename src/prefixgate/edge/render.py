"""The five HAProxy maps of a compiled table (docs/edge.md section 3). Pure: no I/O.

| map                 | key                                    | value                                             |
|---------------------|----------------------------------------|---------------------------------------------------|
| `spectrum_ip.map`   | an edge IP with a TCP app              | its slot                                          |
| `spectrum_port.map` | `slot*65536+start[:slot*65536+end]`    | `app_id|outcome|origin_ip|port_offset|proxy_protocol` |
| `cdn_ip.map`        | a CIDR of one CDN block                | the block                                         |
| `cdn_grant.map`     | `block|account_id`                     | `1`                                               |
| `hostname.map`      | an active custom hostname              | `hostname_id|account_id|outcome|origin_ip`        |

- `outcome` is `served`, the table's refusal reason, or `origin_unresolved` for what the table serves but
  whose origin has no address in `resolved` (a hostname without any origin too). A missing address is
  written `-`.
- The origin port of a Spectrum connection is its destination port plus `port_offset`: origin_dns apps
  map their protocol's first port onto origin_port's first port; origin_direct apps onto the port of
  their first URI (HAProxy is given one origin per app: the first of `origin_direct`). Hostname traffic
  keeps its port (80 or 443).
- `proxy_protocol` is `off`, `v1` or `v2`. `simple` is Cloudflare's PROXY header for UDP; on TCP it
  sends none, so it is written `off`.
- Only TCP apps are in the maps; `udp_apps` lists the others, which HAProxy cannot serve.
- A block is one set of accounts: every CIDR where exactly those accounts (of those holding an active
  hostname) may serve CDN carries the block's number, and `cdn_grant.map` grants each of them on it. The
  CIDRs are the fewest that cover each area exactly.

Slots and blocks are numbered 1, 2, ... in address order, so the same table always renders the same
maps. Given the maps of the previous table, `render_maps` keeps the numbers of edge IPs and account
sets that remain and gives new ones numbers the previous maps did not use, so a change touches only
the entries it changes, and no number means one thing in the old maps and another in the new
(which `haproxy_maps.plan_changes` relies on to update without gaps).

`update_maps` brings the maps forward over one `update_table` step: it renders only the edge IPs,
prefixes and hostnames the step recomputed, and says which entries changed, so neither rendering nor
programming HAProxy walks the maps a change does not touch. Its slot and block numbers are fresh ones
(`RenderBook.next_slot`, `next_block`), never a number the maps held before.
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Final

from ..domain.net import IPAddress
from ..domain.spectrum import parse_protocol
from .intervals import cidr_cover
from .map_names import CDN_GRANT, CDN_IP, HOSTNAME, MAP_NAMES, SLOT_SIZE, SPECTRUM_IP, SPECTRUM_PORT
from .state import AppRow
from .table import Answer, EdgeTable, HostEntry, PortClaim, TableDelta

__all__ = [
    "CDN_GRANT",
    "CDN_IP",
    "HOSTNAME",
    "MAP_NAMES",
    "NO_ADDRESS",
    "SLOT_SIZE",
    "SPECTRUM_IP",
    "SPECTRUM_PORT",
    "MapChanges",
    "MapSet",
    "RenderBook",
    "adds_only",
    "only_adds",
    "render_maps",
    "sort_key",
    "spectrum_target",
    "update_maps",
]

NO_ADDRESS: Final = "-"
_ATTR: Final = dict(zip(MAP_NAMES, ("spectrum_ip", "spectrum_port", "cdn_ip", "cdn_grant", "hostname"), strict=True))


@dataclass(frozen=True, slots=True)
class RenderBook:
    """What `update_maps` needs besides the entries: the CDN keys each prefix wrote, the block of each
    account set and how many keys use it, and the next unused slot and block numbers."""

    cdn_keys: Mapping[str, tuple[str, ...]]
    blocks: Mapping[str, int]  # "acct1,acct2" -> block
    block_use: Mapping[int, int]
    next_slot: int
    next_block: int


@dataclass(frozen=True, slots=True)
class MapSet:
    """The entries (key -> value) of each map, and the UDP apps left out of them."""

    spectrum_ip: Mapping[str, str]
    spectrum_port: Mapping[str, str]
    cdn_ip: Mapping[str, str]
    cdn_grant: Mapping[str, str]
    hostname: Mapping[str, str]
    udp_apps: tuple[str, ...] = ()
    book: RenderBook | None = field(default=None, compare=False)  # how they were numbered, for `update_maps`

    @classmethod
    def of(cls, maps: Mapping[str, Mapping[str, str]], udp_apps: tuple[str, ...] = ()) -> MapSet:
        """A MapSet from {map file name: entries} (missing maps are empty)."""
        e = [MappingProxyType(dict(maps.get(name, {}))) for name in MAP_NAMES]
        return cls(e[0], e[1], e[2], e[3], e[4], udp_apps)

    def entries(self, name: str) -> Mapping[str, str]:
        return getattr(self, _ATTR[name])  # type: ignore[no-any-return]

    def as_dict(self) -> dict[str, Mapping[str, str]]:
        return {name: self.entries(name) for name in MAP_NAMES}

    def file_text(self, name: str) -> str:
        """The map file: one `key value` line per entry, in a canonical order (equal maps, equal text)."""
        entries = self.entries(name)
        return "".join(f"{k} {entries[k]}\n" for k in sorted(entries, key=lambda k: sort_key(name, k, entries[k])))


def sort_key(name: str, key: str, value: str) -> tuple[int, str]:
    """The canonical order of a map's entries: by slot and port, or by block, or by key."""
    if name == SPECTRUM_PORT:
        return int(key.partition(":")[0]), ""
    if name == SPECTRUM_IP:
        return int(value), key
    if name == CDN_IP:
        return int(value), key
    if name == CDN_GRANT:
        block, _, account = key.partition("|")
        return int(block), account
    return 0, key


def _numbers(items: Iterable[str], kept: Mapping[str, int], used: set[int]) -> dict[str, int]:
    """Number items in order: an item in `kept` keeps its number; the others take the least numbers from 1
    up that are neither kept nor in `used`."""
    out: dict[str, int] = {}
    fresh: list[str] = []
    for item in items:
        if item in kept:
            out[item] = kept[item]
        else:
            fresh.append(item)
    taken = used | set(out.values())
    n = 0
    for item in fresh:
        n += 1
        while n in taken:
            n += 1
        out[item] = n
    return out


def _address(name: str | None, resolved: Mapping[str, IPAddress | None]) -> IPAddress | None:
    if not name:
        return None
    try:
        return ipaddress.ip_address(name)
    except ValueError:
        return resolved.get(name)


def _direct(uri: str) -> tuple[IPAddress | None, int | None]:
    """(address, port) of an origin_direct URI such as tcp://192.0.2.1:22 or tcp://[2001:db8::1]:22."""
    host, _, port = uri.partition("://")[2].rpartition(":")
    try:
        return ipaddress.ip_address(host.removeprefix("[").removesuffix("]")), int(port)
    except ValueError:
        return None, None


def spectrum_target(app: AppRow, resolved: Mapping[str, IPAddress | None]) -> tuple[IPAddress | None, int]:
    """Where HAProxy sends the app's traffic: (origin address or None, port offset)."""
    first = parse_protocol(app.protocol).ports.start
    if app.origin_dns_name:
        origin_first = int(app.origin_port.partition("-")[0]) if app.origin_port else first
        return _address(app.origin_dns_name, resolved), origin_first - first
    if app.origin_direct:
        address, port = _direct(app.origin_direct[0])
        if address is not None and port is not None:
            return address, port - first
    return None, 0


def _outcome(answer: Answer, origin: IPAddress | None) -> str:
    if not answer.served:
        return answer.reason
    return "served" if origin is not None else "origin_unresolved"


def _text(address: IPAddress | None) -> str:
    return NO_ADDRESS if address is None else str(address)


def _port_entries(
    slot: int, claims: Iterable[PortClaim], apps: Mapping[str, AppRow], resolved: Mapping[str, IPAddress | None]
) -> Iterator[tuple[str, str]]:
    for claim in claims:
        app = apps[claim.app_id]
        origin, offset = spectrum_target(app, resolved)
        pp = app.proxy_protocol if app.proxy_protocol in ("v1", "v2") else "off"
        lo, hi = slot * SLOT_SIZE + claim.start, slot * SLOT_SIZE + claim.end
        key = str(lo) if lo == hi else f"{lo}:{hi}"
        yield key, f"{app.id}|{_outcome(claim.answer, origin)}|{_text(origin)}|{offset}|{pp}"


def _spectrum(
    table: EdgeTable, resolved: Mapping[str, IPAddress | None], previous: MapSet | None
) -> tuple[dict[str, str], dict[str, str]]:
    ips = sorted((ip for ip, transport in table.claims if transport == "tcp"), key=lambda ip: (ip.version, ip))
    old = previous.spectrum_ip if previous is not None else {}
    slots = _numbers((str(ip) for ip in ips), {k: int(v) for k, v in old.items()}, {int(v) for v in old.values()})
    by_ip: dict[str, str] = {}
    ports: dict[str, str] = {}
    for ip in ips:
        slot = slots[str(ip)]
        by_ip[str(ip)] = str(slot)
        ports.update(_port_entries(slot, table.claims[(ip, "tcp")], table.apps, resolved))
    return by_ip, ports


def _cidr_keys(version: int, start: int, end: int) -> Iterator[str]:
    network = ipaddress.IPv4Address if version == 4 else ipaddress.IPv6Address
    for first, length in cidr_cover(start, end, 32 if version == 4 else 128):
        yield f"{network(first)}/{length}"


def _blocks(table: EdgeTable, previous: MapSet | None) -> tuple[dict[str, str], dict[str, str], RenderBook]:
    per_prefix = [(prefix_id, list(_areas(table, prefix_id))) for prefix_id in table.prefix_ids()]
    kept: dict[str, int] = {}
    if previous is not None and previous.book is not None:
        kept = dict(previous.book.blocks)
    elif previous is not None:
        members: dict[int, list[str]] = defaultdict(list)
        for key in previous.cdn_grant:
            number, _, account = key.partition("|")
            members[int(number)].append(account)
        kept = {",".join(sorted(accounts)): n for n, accounts in members.items()}
    sets = dict.fromkeys(",".join(ids) for _, areas in per_prefix for _, _, _, ids in areas)
    numbers = _numbers(sets, kept, set(kept.values()) | _used_blocks(previous))
    cidrs: dict[str, str] = {}
    grants: dict[str, str] = {}
    cdn_keys: dict[str, tuple[str, ...]] = {}
    use: dict[int, int] = defaultdict(int)
    for prefix_id, areas in per_prefix:
        keys: list[str] = []
        for version, start, end, ids in areas:
            block = numbers[",".join(ids)]
            for key in _cidr_keys(version, start, end):
                cidrs[key] = str(block)
                keys.append(key)
                use[block] += 1
            for account in ids:
                grants[f"{block}|{account}"] = "1"
        cdn_keys[prefix_id] = tuple(keys)
    blocks = {text: n for text, n in numbers.items() if n in use}
    book = RenderBook(cdn_keys, blocks, dict(use), 0, max((*numbers.values(), *kept.values(), 0)) + 1)
    return cidrs, grants, book


def _used_blocks(previous: MapSet | None) -> set[int]:
    return {int(v) for v in previous.cdn_ip.values()} if previous is not None else set()


def _hostname_value(entry: HostEntry, resolved: Mapping[str, IPAddress | None]) -> str:
    origin = _address(entry.origin, resolved)
    outcome = "served" if origin is not None else "origin_unresolved"
    if entry.zone_paused:
        outcome = "zone_paused"
    return f"{entry.host.id}|{entry.host.account_id}|{outcome}|{_text(origin)}"


def _hostnames(table: EdgeTable, resolved: Mapping[str, IPAddress | None]) -> dict[str, str]:
    return {name: _hostname_value(entry, resolved) for name, entry in table.hostnames.items()}


def render_maps(
    table: EdgeTable, *, resolved: Mapping[str, IPAddress | None], previous: MapSet | None = None
) -> MapSet:
    """The HAProxy maps of `table`.

    Args:
        resolved: an address (or None: it did not resolve) for each of `table.origin_names`; IP literals
            need none.
        previous: the maps the data plane holds now, whose slot and block numbers to keep.
    """
    by_ip, ports = _spectrum(table, resolved, previous)
    cidrs, grants, book = _blocks(table, previous)
    old_slots = previous.spectrum_ip.values() if previous is not None else ()
    next_slot = max((*(int(v) for v in by_ip.values()), *(int(v) for v in old_slots), 0)) + 1
    if previous is not None and previous.book is not None:
        next_slot = max(next_slot, previous.book.next_slot)
        book = replace(book, next_block=max(book.next_block, previous.book.next_block))
    maps = {
        SPECTRUM_IP: by_ip,
        SPECTRUM_PORT: ports,
        CDN_IP: cidrs,
        CDN_GRANT: grants,
        HOSTNAME: _hostnames(table, resolved),
    }
    return _mapset(maps, table.udp_apps, replace(book, next_slot=next_slot))


def _mapset(maps: Mapping[str, dict[str, str]], udp_apps: tuple[str, ...], book: RenderBook) -> MapSet:
    e = [MappingProxyType(maps[name]) for name in MAP_NAMES]
    return MapSet(e[0], e[1], e[2], e[3], e[4], udp_apps, book)


MapChanges = dict[str, dict[str, str | None]]  # map -> key -> its new value, or None: deleted


def update_maps(
    previous: MapSet,
    old: EdgeTable,
    new: EdgeTable,
    delta: TableDelta,
    *,
    resolved: Mapping[str, IPAddress | None],
) -> tuple[MapSet, MapChanges]:
    """The maps of `new`, made from `previous` (the maps of `old`, which `update_table` turned into `new`
    with `delta`) by rendering only what `delta` names; and the entries that differ. Routes as
    `render_maps(new, ...)` does. New slot and block numbers are ones `previous` never used, so no
    number means one thing before and another after; numbers freed are not used again until a full
    render.

    `previous` without its `book` (not made by this module) is rendered whole instead.
    """
    book = previous.book
    if book is None:
        full = render_maps(new, resolved=resolved, previous=previous)
        return full, _differences(previous, full)
    wanted: dict[str, dict[str, str | None]] = {name: {} for name in MAP_NAMES}
    next_slot = book.next_slot
    port_changes, ip_changes = wanted[SPECTRUM_PORT], wanted[SPECTRUM_IP]
    for ip, transport in sorted(delta.claims, key=lambda k: (k[0].version, k[0], k[1])):
        if transport != "tcp":
            continue
        text = str(ip)
        slot_text = previous.spectrum_ip.get(text)
        if slot_text is not None:
            for key, _ in _port_entries(int(slot_text), old.claims.get((ip, "tcp"), ()), old.apps, resolved):
                port_changes[key] = None
        claims = new.claims.get((ip, "tcp"), ())
        if not claims:
            if slot_text is not None:
                ip_changes[text] = None
            continue
        if slot_text is None:
            slot_text = ip_changes[text] = str(next_slot)
            next_slot += 1
        port_changes.update(_port_entries(int(slot_text), claims, new.apps, resolved))

    cdn_keys, blocks, use = dict(book.cdn_keys), dict(book.blocks), dict(book.block_use)
    next_block = book.next_block
    cidr_changes, grant_changes = wanted[CDN_IP], wanted[CDN_GRANT]
    lessened: set[int] = set()
    for prefix_id in sorted(delta.cdn):
        for key in cdn_keys.pop(prefix_id, ()):
            cidr_changes[key] = None
            was = int(previous.cdn_ip[key])
            use[was] -= 1
            lessened.add(was)
        keys: list[str] = []
        for version, start, end, ids in _areas(new, prefix_id):
            text = ",".join(ids)
            known = blocks.get(text)
            if known is None:
                block = blocks[text] = next_block
                next_block += 1
                use[block] = 0
                grant_changes.update((f"{block}|{account}", "1") for account in ids)
            else:
                block = known
            for key in _cidr_keys(version, start, end):
                cidr_changes[key] = str(block)
                keys.append(key)
                use[block] += 1
        if keys:
            cdn_keys[prefix_id] = tuple(keys)
    unused = {block for block in lessened if use.get(block, 0) <= 0}
    if unused:
        for text, block in [(t, b) for t, b in blocks.items() if b in unused]:
            del blocks[text]
            use.pop(block, None)
            grant_changes.update((f"{block}|{account}", None) for account in text.split(","))

    host_changes = wanted[HOSTNAME]
    for name in delta.hostnames:
        entry = new.hostnames.get(name)
        host_changes[name] = _hostname_value(entry, resolved) if entry is not None else None

    changes: MapChanges = {}
    maps: dict[str, dict[str, str]] = {}
    for name in MAP_NAMES:
        before = previous.entries(name)
        real = {k: v for k, v in wanted[name].items() if before.get(k) != v}
        if real:
            changes[name] = real
            entries = before.copy() if isinstance(before, dict | MappingProxyType) else dict(before)
            for k, v in real.items():
                if v is None:
                    del entries[k]
                else:
                    entries[k] = v
            maps[name] = entries
        else:
            maps[name] = before  # type: ignore[assignment]
    new_book = RenderBook(cdn_keys, blocks, use, next_slot, next_block)
    return _mapset(maps, new.udp_apps, new_book), changes


def _areas(table: EdgeTable, prefix_id: str) -> Iterator[tuple[int, int, int, tuple[str, ...]]]:
    piece = table.usability.pieces.get(prefix_id)
    if piece is None:
        return
    version = piece.row.cidr.version
    for start, end, ids in table.cdn_of(prefix_id):
        yield version, start, end, ids


def _differences(old: MapSet, new: MapSet) -> MapChanges:
    out: MapChanges = {}
    for name in MAP_NAMES:
        before, after = old.entries(name), new.entries(name)
        diff: dict[str, str | None] = {k: None for k in before.keys() - after.keys()}
        diff.update((k, v) for k, v in after.items() if before.get(k) != v)
        if diff:
            out[name] = diff
    return out


def adds_only(previous: MapSet, changes: MapChanges) -> bool:
    """`only_adds` from `update_maps`'s changes: whether every changed key is new."""
    return all(key not in previous.entries(name) for name, entries in changes.items() for key in entries)


def only_adds(old: MapSet, new: MapSet) -> bool:
    """Whether `new` keeps every entry of `old` as it was, adding entries only.

    Then nothing served before lost its answer: in each map the keys never overlap (exact addresses and
    names, disjoint port ranges, a cover of disjoint CIDRs), so a new entry cannot shadow an old one, and
    every lookup that succeeded before finds the same value. The agent skips looking for established
    connections to close after such a change.
    """
    for name in MAP_NAMES:
        after = new.entries(name)
        for key, value in old.entries(name).items():
            if after.get(key) != value:
                return False
    return True
