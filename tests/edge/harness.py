"""A supervised HAProxy on 127.0.0.1 and a free port, programmed with a MapSet (reusable in end-to-end
tests): `Edge.connect` opens a connection the way an L4 load balancer would, with a PROXY v2 header."""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prefixgate.edge.haproxy_config import HaproxySettings
from prefixgate.edge.haproxy_maps import MapSet
from prefixgate.edge.haproxy_programmer import MapProgrammer
from prefixgate.edge.haproxy_runtime import RuntimeApi
from prefixgate.edge.haproxy_supervisor import HaproxySupervisor
from tests.edge.origins import Addr, connect_via_proxy
from tests.support import free_port

CLIENT: Addr = ("198.51.100.7", 40001)


@dataclass
class Edge:
    supervisor: HaproxySupervisor
    maps: dict[str, dict[str, str]]
    reprogrammed: list[int] = field(default_factory=list)

    @property
    def settings(self) -> HaproxySettings:
        return self.supervisor.settings

    @property
    def runtime(self) -> RuntimeApi:
        return self.supervisor.runtime

    @property
    def programmer(self) -> MapProgrammer:
        return MapProgrammer(self.runtime, self.settings)

    @property
    def address(self) -> Addr:
        return ("127.0.0.1", self.settings.listen_port)

    def connect(self, dst: Addr, src: Addr = CLIENT, timeout: float = 5.0) -> socket.socket:
        return connect_via_proxy(self.address, src, dst, timeout=timeout)

    def apply(self, new: MapSet) -> int:
        """Apply the difference to `new` live and remember it as the current maps."""
        steps = self.programmer.apply_diff(self.maps, new)
        self.maps = {k: dict(v) for k, v in new.items()}
        return steps

    def apply_full(self, new: MapSet) -> None:
        """Swap every map for `new` (read back from HAProxy first) and remember it."""
        self.programmer.apply_full(new)
        self.maps = {k: dict(v) for k, v in new.items()}


def start_edge(state_dir: Path, maps: MapSet, **settings: Any) -> Edge:
    """Start HAProxy with `maps`; on a restart it is reprogrammed with the edge's current maps."""
    edge_box: list[Edge] = []

    def reprogram(runtime: RuntimeApi) -> None:
        edge = edge_box[0]
        MapProgrammer(runtime, edge.settings).apply_full(edge.maps)
        edge.reprogrammed.append(edge.supervisor.pid or 0)

    current: Callable[[], MapSet] = lambda: edge_box[0].maps if edge_box else maps  # noqa: E731
    s = HaproxySettings(state_dir, listen_port=free_port(), **settings)
    sup = HaproxySupervisor(s, maps=current, on_restart=reprogram)
    edge = Edge(sup, {k: dict(v) for k, v in maps.items()})
    edge_box.append(edge)
    sup.start()
    return edge
