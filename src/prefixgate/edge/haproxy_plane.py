"""The agent's data plane: one supervised HAProxy, programmed through its runtime API."""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable, Collection, Mapping

from ..domain.net import IPAddress
from .haproxy_config import HAPROXY_BIN, HaproxySettings
from .haproxy_maps import MapSet
from .haproxy_programmer import MapProgrammer, TrackedConnection
from .haproxy_runtime import RuntimeApi, RuntimeApiError
from .haproxy_supervisor import HaproxySupervisor
from .table import Tracked

__all__ = ["HaproxyDataPlane"]

_log = logging.getLogger("prefixgate.edge.haproxy")


class HaproxyDataPlane:
    """Start HAProxy with the maps as files, then change them live.

    The maps most recently asked for are what a restarted HAProxy starts from, so a change made while
    HAProxy was down is not lost: the supervisor writes them into the map files before it starts the
    new process, then `reprogram` loads them again. An HAProxy adopted from an earlier agent holds that
    agent's last maps: `start` swaps them for `maps` at once (`apply_full`).
    """

    def __init__(self, settings: HaproxySettings, *, haproxy_bin: str = HAPROXY_BIN) -> None:
        self.settings = settings
        self._bin = haproxy_bin
        self._current: MapSet = {}
        self._supervisor: HaproxySupervisor | None = None
        self._programmer: MapProgrammer | None = None

    @property
    def restarts(self) -> int:
        return self._supervisor.restarts if self._supervisor is not None else 0

    @property
    def running(self) -> bool:
        return self._supervisor is not None and self._supervisor.pid is not None

    @property
    def pid(self) -> int | None:
        return self._supervisor.pid if self._supervisor is not None else None

    def start(self, maps: MapSet, reprogram: Callable[[], None]) -> None:
        self._current = maps

        def restarted(_: RuntimeApi) -> None:
            reprogram()

        self._supervisor = HaproxySupervisor(
            self.settings, maps=lambda: self._current, on_restart=restarted, haproxy_bin=self._bin
        )
        self._supervisor.start()
        self._programmer = MapProgrammer(self._supervisor.runtime, self.settings)
        if self._supervisor.adopted:
            self._programmer.apply_full(maps)

    def load(self, maps: MapSet) -> None:
        """Make HAProxy's maps exactly `maps`, whatever it holds now."""
        self._current = maps
        if self._programmer is not None:
            self._programmer.apply_full(maps)

    def program(self, old: MapSet, new: MapSet, keys: Mapping[str, Collection[str]] | None = None) -> None:
        """Change the maps from `old` to `new` (only the `keys` that may differ, when given); if HAProxy's
        maps turn out not to be `old` (it was just restarted, say), swap them whole instead."""
        self._current = new
        if self._programmer is None:
            return
        try:
            self._programmer.apply_diff(old, new, keys)
        except RuntimeApiError as e:
            _log.warning("haproxy.diff_refused", extra={"error": str(e)})
            self._programmer.apply_full(new)

    def close_unserved(self, still_served: Callable[[Tracked], bool]) -> int:
        """Close the tracked connections that `still_served` says lost what they reached."""
        if self._programmer is None:
            return 0
        tracked = _tracked_by_destination()
        return self._programmer.close_revoked(lambda t: not still_served(tracked(t)))

    def outcomes(self) -> Mapping[str, int]:
        return self._programmer.outcomes() if self._programmer is not None else {}

    def stop(self) -> None:
        if self._supervisor is not None:
            self._supervisor.stop()

    def detach(self) -> None:
        """Stop supervising HAProxy and leave it serving its maps, for the next agent to adopt; from now on
        nothing is programmed into it."""
        self._programmer = None
        if self._supervisor is not None:
            self._supervisor.detach()


def _tracked_by_destination() -> Callable[[TrackedConnection], Tracked]:
    """st_conns' connections as the table's `Tracked`, each edge address parsed once (many connections
    share one)."""
    addresses: dict[str, IPAddress] = {}

    def tracked(t: TrackedConnection) -> Tracked:
        address = addresses.get(t.edge_ip)
        if address is None:
            address = addresses[t.edge_ip] = ipaddress.ip_address(t.edge_ip.strip("[]"))
        return Tracked(address, t.edge_port, t.object_id, t.hostname or None)

    return tracked
