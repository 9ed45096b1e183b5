"""A small model of HAProxy's maps and of the edge frontend's decision (docs/edge.md section 3).

- `map_ip`: longest prefix match over CIDR (or single-address) keys of the address's family;
- `map_int`: keys `n` or `a:b`, and the *first* entry in list order that holds the integer wins (HAProxy
  keeps integer patterns in a list; `add map` appends);
- `map_str`: exact match.

The runtime API is modelled by `apply`: `add map` appends an entry (the key must be new), `set map` changes
every entry of a key (which must exist), `del map` removes them (likewise).

The frontend: the Spectrum lookup first (edge IP -> slot, then slot*65536+port); a served app goes to
its origin. Otherwise port 80 or 443 with a Host or SNI goes by hostname: the hostname's entry, its
outcome, then the grant of the destination's CDN block to its account. Anything else is closed.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from prefixgate.domain.net import IPAddress, IPNetwork
from prefixgate.edge.haproxy_maps import Step
from prefixgate.edge.render import CDN_GRANT, CDN_IP, HOSTNAME, MAP_NAMES, SPECTRUM_IP, SPECTRUM_PORT, MapSet


@dataclass(frozen=True, slots=True)
class Decision:
    served: bool
    reason: str
    kind: str | None = None  # "spectrum" | "hostname"
    object_id: str | None = None
    origin_ip: IPAddress | None = None
    origin_port: int | None = None
    proxy_protocol: str | None = None


class Runtime:
    """The maps HAProxy holds: loaded from the map files, then changed through the runtime API."""

    def __init__(self, maps: MapSet) -> None:
        self.entries: dict[str, list[list[str]]] = {}
        for name in MAP_NAMES:
            lines = maps.file_text(name).splitlines()
            self.entries[name] = [line.split(" ", 1) for line in lines]

    def apply(self, step: Step) -> None:
        entries = self.entries[step.name]
        present = [e for e in entries if e[0] == step.key]
        if step.op == "add":
            assert not present, f"add of {step.key!r}, already in {step.name}"
            assert step.value is not None
            entries.append([step.key, step.value])
        elif step.op == "set":
            assert present, f"set of {step.key!r}, not in {step.name}"
            assert step.value is not None
            for e in present:
                e[1] = step.value
        else:
            assert present, f"del of {step.key!r}, not in {step.name}"
            self.entries[step.name] = [e for e in entries if e[0] != step.key]

    def as_mapset(self, udp_apps: tuple[str, ...] = ()) -> MapSet:
        out = {}
        for name, entries in self.entries.items():
            keys = [k for k, _ in entries]
            assert len(keys) == len(set(keys)), f"{name} holds a key twice"
            out[name] = dict((k, v) for k, v in entries)
        return MapSet.of(out, udp_apps)

    def map_ip(self, name: str, ip: IPAddress) -> str | None:
        best: tuple[int, str] | None = None
        for key, value in self.entries[name]:
            network: IPNetwork = ipaddress.ip_network(key)
            if network.version == ip.version and ip in network and (best is None or network.prefixlen > best[0]):
                best = (network.prefixlen, value)
        return best[1] if best else None

    def map_int(self, name: str, n: int) -> str | None:
        for key, value in self.entries[name]:
            lo, _, hi = key.partition(":")
            if int(lo) <= n <= int(hi or lo):
                return value
        return None

    def map_str(self, name: str, key: str) -> str | None:
        return next((v for k, v in self.entries[name] if k == key), None)


def frontend(rt: Runtime, dst_ip: IPAddress, dst_port: int, sni: str | None) -> Decision:
    """What the frontend does with a connection to (dst_ip, dst_port), given its SNI or Host if any."""
    refusal = "no_app"
    slot = rt.map_ip(SPECTRUM_IP, dst_ip)
    if slot is not None:
        value = rt.map_int(SPECTRUM_PORT, int(slot) * 65536 + dst_port)
        if value is not None:
            app_id, outcome, origin, offset, proxy = value.split("|")
            if outcome == "served":
                origin_ip = ipaddress.ip_address(origin)
                return Decision(True, "served", "spectrum", app_id, origin_ip, dst_port + int(offset), proxy)
            refusal = outcome
    if dst_port not in (80, 443) or sni is None:
        return Decision(False, refusal)
    entry = rt.map_str(HOSTNAME, sni.lower().removesuffix("."))
    if entry is None:
        return Decision(False, "hostname_not_active")
    hostname_id, account_id, outcome, origin = entry.split("|")
    if outcome == "zone_paused":
        return Decision(False, outcome)
    block = rt.map_ip(CDN_IP, dst_ip)
    if block is None or rt.map_str(CDN_GRANT, f"{block}|{account_id}") != "1":
        return Decision(False, "not_granted")
    if outcome != "served":
        return Decision(False, outcome)
    return Decision(True, "served", "hostname", hostname_id, ipaddress.ip_address(origin), dst_port)
