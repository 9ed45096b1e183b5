"""Programs a running HAProxy from MapSets, closes connections that lost their right to be served, and
reads the outcome counters. Everything goes through the runtime API; nothing reloads.

- `apply_full` swaps every map for a MapSet in two rounds of prepare/add/commit (each map atomic):
  first down to the entries the live maps and the new ones agree on, then up to the new ones, so no
  moment serves what neither serves (the argument is in haproxy_maps.py).
- `apply_diff` sends only the entries that differ, in `plan_changes`'s order.
- `close_revoked` reads st_conns, asks the caller which tracked connections are no longer served,
  finds their streams in `show sess` by the real socket source address and shuts them down.
"""

from __future__ import annotations

import ipaddress
import time
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import NamedTuple

from ..domain.net import IPAddress
from .haproxy_config import CONNS_TABLE, FRONTEND, OUTCOMES_TABLE, SERVED_BY_BACKEND, HaproxySettings
from .haproxy_maps import MAP_NAMES, MapSet, Step, plan_changes
from .haproxy_runtime import RuntimeApi, RuntimeApiError

__all__ = ["MapProgrammer", "TrackedConnection", "parse_tracked"]

_SWAP_AFTER = 50  # dels or sets in a row on one map beyond which swapping the whole map is cheaper


class TrackedConnection(NamedTuple):  # a tuple: tens of thousands are made at a time
    """A served connection as st_conns keys it: `realsrc|edge_ip:port|object_id|hostname`.

    In the key both addresses are hexadecimal (HAProxy's `hex` of the address's bytes: formatting an
    address as text costs HAProxy ~1,500 instructions per connection); here they are text again.
    `real_src` is the socket's source `ip:port`, as `show sess` names the stream; `object_id` is the
    Spectrum app's id or the custom hostname's id; `hostname` is empty for Spectrum.
    """

    key: str
    real_src: str
    edge_ip: str
    edge_port: int
    object_id: str
    hostname: str


def _hex_endpoint(text: str) -> tuple[IPAddress, int] | None:
    hex_ip, sep, port = text.partition(":")
    if not sep or not port.isdigit() or len(hex_ip) not in (8, 32):
        return None
    try:
        return ipaddress.ip_address(bytes.fromhex(hex_ip)), int(port)
    except ValueError:
        return None


def _endpoint(text: str) -> tuple[IPAddress, int] | None:
    """`ip:port` as `show sess` prints a source (IPv6 without brackets), or None (e.g. `unix:1`)."""
    ip, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        return None
    try:
        return ipaddress.ip_address(ip), int(port)
    except ValueError:
        return None


def parse_tracked(key: str) -> TrackedConnection | None:
    """The fields of an st_conns key, or None for a key this configuration did not write."""
    parts = key.split("|")
    if len(parts) != 4:
        return None
    src, edge = _hex_endpoint(parts[0]), _hex_endpoint(parts[1])
    if src is None or edge is None:
        return None
    return TrackedConnection(key, f"{src[0]}:{src[1]}", str(edge[0]), edge[1], parts[2], parts[3])


class MapProgrammer:
    """The maps, sessions and counters of one HAProxy.

    Args:
        runtime: its runtime API.
        settings: the settings its configuration was rendered from (map identifiers, table names).
    """

    def __init__(self, runtime: RuntimeApi, settings: HaproxySettings) -> None:
        self.runtime = runtime
        self.settings = settings

    # -- maps --------------------------------------------------------------------------------------

    def live_maps(self) -> dict[str, dict[str, str]]:
        """What HAProxy's five maps hold now."""
        return {name: self.runtime.show_map(self.settings.map_path(name)) for name in MAP_NAMES}

    def apply_full(self, new: MapSet, live: MapSet | None = None) -> None:
        """Make the maps exactly `new`, each map swapped atomically.

        Args:
            live: what HAProxy holds now, when the caller knows it; read from HAProxy otherwise.

        Raises:
            RuntimeApiError: HAProxy refused a step; maps already committed stay committed.
            ValueError: an entry HAProxy would misread (nothing is sent then).
        """
        plan_changes({}, new)  # validates every entry before anything is sent
        current = self.live_maps() if live is None else live
        for name in MAP_NAMES:
            before = current.get(name, {})
            after = new.get(name, {})
            kept = {k: v for k, v in before.items() if after.get(k) == v}
            if len(kept) != len(before):
                self.runtime.replace_map(self.settings.map_path(name), kept)
        for name in MAP_NAMES:
            if dict(current.get(name, {})) != dict(new.get(name, {})):
                self.runtime.replace_map(self.settings.map_path(name), new.get(name, {}))

    def apply_diff(self, old: MapSet, new: MapSet, keys: Mapping[str, Collection[str]] | None = None) -> int:
        """Change HAProxy's maps from `old` (what they hold) to `new` entry by entry. Returns the steps planned.

        HAProxy 2.6 finds the entry of a `del map` or `set map` by walking the whole map, so a long run
        of them is sent as one atomic swap of that map to the same result instead.

        Args:
            keys: per map, the only keys that may differ (what `render.update_maps` reports), so the
                plan does not walk the entries a change leaves alone; None: compare everything.

        Raises:
            RuntimeApiError: HAProxy refused a step (e.g. its maps were not `old`); call `apply_full`.
            ValueError: an entry HAProxy would misread (nothing is sent then).
        """
        steps = plan_changes(old, new, keys)
        done: dict[str, list[Step]] = defaultdict(list)  # the steps sent so far, per map
        for op, name, group in _runs(steps):
            map_id = self.settings.map_path(name)
            if op == "add":
                self.runtime.add_map(map_id, {s.key: s.value or "" for s in group})
            elif len(group) > _SWAP_AFTER:
                entries = dict(old.get(name, {}))  # the map as the steps so far leave it, then this run
                for step in (*done[name], *group):
                    if step.op == "del":
                        entries.pop(step.key, None)
                    else:
                        entries[step.key] = step.value or ""
                self.runtime.replace_map(map_id, entries)
            elif op == "del":
                self.runtime.del_map(map_id, (s.key for s in group))
            else:
                self.runtime.set_map(map_id, {s.key: s.value or "" for s in group})
            done[name].extend(group)
        return len(steps)

    # -- connections -------------------------------------------------------------------------------

    def tracked(self) -> list[TrackedConnection]:
        """Every connection st_conns remembers (those still open, and those closed under its expiry)."""
        parsed = (parse_tracked(key) for key in self.runtime.table_keys(CONNS_TABLE))
        return [t for t in parsed if t is not None]

    def close_revoked(self, revoked: Callable[[TrackedConnection], bool], *, settle_s: float = 1.0) -> int:
        """Shut down the open connections `revoked` picks, and forget their keys. Returns how many closed.

        Apply the map change first: a connection opened after it is routed by the new maps.
        """
        doomed = [t for t in self.tracked() if revoked(t)]
        if not doomed:
            return 0
        sources = {_endpoint(t.real_src) for t in doomed}
        streams = {
            (s.ptr, s.src)
            for s in self.runtime.show_sess()
            if s.frontend == FRONTEND and (e := _endpoint(s.src)) is not None and e in sources
        }
        if streams:
            self.runtime.shutdown_sessions(ptr for ptr, _ in streams)
        self._await_gone(streams, settle_s)
        for t in doomed:
            try:
                self.runtime.clear_table(CONNS_TABLE, t.key)
            except RuntimeApiError as e:
                # A stream HAProxy has not finished closing still holds it; the table's expiry drops it.
                if "in use" not in e.answer:
                    raise
        return len(streams)

    def _await_gone(self, streams: set[tuple[str, str]], settle_s: float) -> None:
        # A freed stream's address is soon reused (HAProxy pools memory), so a stream is its pointer and source.
        deadline = time.monotonic() + settle_s
        while streams and time.monotonic() < deadline:
            if not streams & {(s.ptr, s.src) for s in self.runtime.show_sess()}:
                return
            time.sleep(0.005)

    # -- counters ----------------------------------------------------------------------------------

    def outcomes(self) -> dict[str, int]:
        """Connections (HTTP: requests) counted by `path|reason` since HAProxy started.

        Refusals and HTTP requests are counted in st_outcomes; served Spectrum and TLS connections are
        the sessions of the backends that only they enter (SERVED_BY_BACKEND), which costs no rule.
        """
        out = {e.key: int(e.data.get("gpc0", "0")) for e in self.runtime.show_table(OUTCOMES_TABLE) if e.key}
        sessions = self.runtime.backend_sessions()
        for key, backends in SERVED_BY_BACKEND.items():
            if served := sum(sessions.get(b, 0) for b in backends):
                out[key] = out.get(key, 0) + served
        return out


def _runs(steps: Iterable[Step]) -> Iterable[tuple[str, str, list[Step]]]:
    """Consecutive steps of the same operation on the same map, so each run is batched."""
    run: list[Step] = []
    for step in steps:
        if run and (run[0].op, run[0].name) != (step.op, step.name):
            yield run[0].op, run[0].name, run
            run = []
        run.append(step)
    if run:
        yield run[0].op, run[0].name, run
