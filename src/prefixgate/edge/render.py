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
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from ..domain.net import IPAddress
from ..domain.spectrum import parse_protocol
from .intervals import cidr_cover
from .map_names import CDN_GRANT, CDN_IP, HOSTNAME, MAP_NAMES, SLOT_SIZE, SPECTRUM_IP, SPECTRUM_PORT
from .state import AppRow
from .table import Answer, EdgeTable

__all__ = [
    "CDN_GRANT",
    "CDN_IP",
    "HOSTNAME",
    "MAP_NAMES",
    "NO_ADDRESS",
    "SLOT_SIZE",
    "SPECTRUM_IP",
    "SPECTRUM_PORT",
    "MapSet",
    "only_adds",
    "render_maps",
    "sort_key",
    "spectrum_target",
]

NO_ADDRESS: Final = "-"
_ATTR: Final = dict(zip(MAP_NAMES, ("spectrum_ip", "spectrum_port", "cdn_ip", "cdn_grant", "hostname"), strict=True))


@dataclass(frozen=True, slots=True)
class MapSet:
    """The entries (key -> value) of each map, and the UDP apps left out of them."""

    spectrum_ip: Mapping[str, str]
    spectrum_port: Mapping[str, str]
    cdn_ip: Mapping[str, str]
    cdn_grant: Mapping[str, str]
    hostname: Mapping[str, str]
    udp_apps: tuple[str, ...] = ()

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


def _spectrum(
    table: EdgeTable, resolved: Mapping[str, IPAddress | None], previous: MapSet | None
) -> tuple[dict[str, str], dict[str, str]]:
    ips = [ip for ip, transport in table.claims if transport == "tcp"]  # the table keeps them in address order
    old = previous.spectrum_ip if previous is not None else {}
    slots = _numbers((str(ip) for ip in ips), {k: int(v) for k, v in old.items()}, {int(v) for v in old.values()})
    by_ip: dict[str, str] = {}
    ports: dict[str, str] = {}
    for ip in ips:
        slot = slots[str(ip)]
        by_ip[str(ip)] = str(slot)
        for claim in table.claims[(ip, "tcp")]:
            app = table.apps[claim.app_id]
            origin, offset = spectrum_target(app, resolved)
            pp = app.proxy_protocol if app.proxy_protocol in ("v1", "v2") else "off"
            lo, hi = slot * SLOT_SIZE + claim.start, slot * SLOT_SIZE + claim.end
            key = str(lo) if lo == hi else f"{lo}:{hi}"
            ports[key] = f"{app.id}|{_outcome(claim.answer, origin)}|{_text(origin)}|{offset}|{pp}"
    return by_ip, ports


def _blocks(table: EdgeTable, previous: MapSet | None) -> tuple[dict[str, str], dict[str, str]]:
    areas = list(table.cdn_areas)
    sets = [",".join(area.account_ids) for area in areas]
    kept: dict[str, int] = {}
    if previous is not None:
        members: dict[int, list[str]] = defaultdict(list)
        for key in previous.cdn_grant:
            number, _, account = key.partition("|")
            members[int(number)].append(account)
        kept = {",".join(sorted(accounts)): n for n, accounts in members.items()}
    used = set(kept.values())
    numbers = _numbers(dict.fromkeys(sets), kept, used)
    cidrs: dict[str, str] = {}
    grants: dict[str, str] = {}
    for area, accounts in zip(areas, sets, strict=True):
        block = numbers[accounts]
        network = ipaddress.IPv4Address if area.version == 4 else ipaddress.IPv6Address
        bits = 32 if area.version == 4 else 128
        for start, length in cidr_cover(area.start, area.end, bits):
            cidrs[f"{network(start)}/{length}"] = str(block)
        for account in area.account_ids:
            grants[f"{block}|{account}"] = "1"
    return cidrs, grants


def _hostnames(table: EdgeTable, resolved: Mapping[str, IPAddress | None]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, entry in table.hostnames.items():
        origin = _address(entry.origin, resolved)
        outcome = "served" if origin is not None else "origin_unresolved"
        if entry.zone_paused:
            outcome = "zone_paused"
        out[name] = f"{entry.host.id}|{entry.host.account_id}|{outcome}|{_text(origin)}"
    return out


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
    cidrs, grants = _blocks(table, previous)
    maps = {
        SPECTRUM_IP: by_ip,
        SPECTRUM_PORT: ports,
        CDN_IP: cidrs,
        CDN_GRANT: grants,
        HOSTNAME: _hostnames(table, resolved),
    }
    return MapSet.of(maps, table.udp_apps)


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
