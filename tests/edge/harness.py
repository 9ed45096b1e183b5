"""A supervised HAProxy on 127.0.0.1 and a free port, programmed with a MapSet (reusable in end-to-end
tests): `Edge.connect` opens a connection the way an L4 load balancer would, with a PROXY v2 header;
`ConnectionStream` keeps connecting through it and records every attempt."""

from __future__ import annotations

import signal
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prefixgate.edge.haproxy_config import HaproxySettings
from prefixgate.edge.haproxy_maps import MapSet
from prefixgate.edge.haproxy_process import HaproxyProcess
from prefixgate.edge.haproxy_programmer import MapProgrammer
from prefixgate.edge.haproxy_runtime import RuntimeApi
from prefixgate.edge.haproxy_supervisor import HaproxySupervisor
from tests.edge.origins import Addr, connect_via_proxy, recv_until, wait_until
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


def edge_on(settings: HaproxySettings, maps: MapSet) -> Edge:
    """An Edge whose supervisor is not started yet (it may adopt an HAProxy left serving with `settings`);
    on a restart HAProxy is reprogrammed with the edge's current maps."""
    edge_box: list[Edge] = []

    def reprogram(runtime: RuntimeApi) -> None:
        edge = edge_box[0]
        MapProgrammer(runtime, edge.settings).apply_full(edge.maps)
        edge.reprogrammed.append(edge.supervisor.pid or 0)

    current: Callable[[], MapSet] = lambda: edge_box[0].maps  # noqa: E731
    edge = Edge(HaproxySupervisor(settings, maps=current, on_restart=reprogram), {k: dict(v) for k, v in maps.items()})
    edge_box.append(edge)
    return edge


def start_edge(state_dir: Path, maps: MapSet, **settings: Any) -> Edge:
    """Start HAProxy with `maps` on a free port; on a restart it is reprogrammed with the edge's current maps."""
    edge = edge_on(HaproxySettings(state_dir, listen_port=free_port(), **settings), maps)
    edge.supervisor.start()
    return edge


@dataclass(frozen=True, slots=True)
class Attempt:
    started: float  # time.monotonic()
    error: str | None  # None: the connection was served as expected


class ConnectionStream:
    """A client that keeps opening connections to `dst` through the edge at `address`, one every
    `interval_s`, each of which must start with `expect` (the origin's banner); with `clients` of them in
    parallel. Every attempt is recorded, so a test can say none failed while something happened."""

    def __init__(self, address: Addr, dst: Addr, expect: bytes, *, interval_s: float = 0.02, clients: int = 1) -> None:
        self.address, self.dst, self.expect, self.interval_s = address, dst, expect, interval_s
        self.attempts: list[Attempt] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(clients)]

    def __enter__(self) -> ConnectionStream:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join()

    @property
    def failures(self) -> list[str]:
        with self._lock:
            return [a.error for a in self.attempts if a.error is not None]

    def served_between(self, start: float, end: float) -> int:
        """Connections started in [start, end] that were served."""
        with self._lock:
            return sum(1 for a in self.attempts if a.error is None and start <= a.started <= end)

    def await_served(self, count: int, *, after: float = 0.0, timeout_s: float = 5.0) -> bool:
        """Wait until `count` connections started after `after` were served."""
        return wait_until(lambda: self.served_between(after, float("inf")) >= count, timeout=timeout_s)

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            error: str | None = None
            try:
                with connect_via_proxy(self.address, CLIENT, self.dst, timeout=2.0) as sock:
                    got = recv_until(sock, self.expect, timeout=2.0)
                if got != self.expect:
                    error = f"read {got!r}"
            except OSError as e:
                error = f"{type(e).__name__}: {e}"
            with self._lock:
                self.attempts.append(Attempt(started, error))
            self._stop.wait(max(0.0, self.interval_s - (time.monotonic() - started)))


class Leftovers:
    """HAProxys to SIGKILL when the test ends, whatever happened. Each is held by a pidfd taken when it
    is added, so a pid reused meanwhile is never hit, and `exited()` waits for that very process."""

    def __init__(self) -> None:
        self.procs: list[HaproxyProcess] = []

    def add(self, pid: int | None) -> HaproxyProcess:
        proc = HaproxyProcess.attach(pid) if pid is not None else None
        if proc is None:
            raise AssertionError(f"no process {pid}")
        self.procs.append(proc)
        return proc

    def kill(self) -> None:
        for proc in self.procs:
            proc.send(signal.SIGKILL)
            proc.close()
