"""`prefixgate edge`: build the agent from its options and run it until a signal."""

from __future__ import annotations

import logging
import signal
import socket
import threading
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from ..adapters.dns.servers import DnsServer
from .agent import AgentOptions, EdgeAgent
from .feed_client import FeedClient
from .haproxy_config import HaproxySettings
from .haproxy_plane import HaproxyDataPlane
from .metrics import MetricsServer, edge_registry
from .origin_names import OriginNames
from .store import StateStore

__all__ = ["EdgeOptions", "run_edge"]

_log = logging.getLogger("prefixgate.edge")


@dataclass(frozen=True, slots=True)
class EdgeOptions:
    control_plane: str
    token: str
    listen: tuple[str, int]
    haproxy_bin: str
    state_dir: Path
    metrics: tuple[str, int] | None
    dns_servers: tuple[DnsServer, ...]
    origin_http_port: int
    origin_tls_port: int
    node: str | None = None


def run_edge(options: EdgeOptions, *, ready: threading.Event | None = None) -> None:
    """Run until SIGTERM or SIGINT (HAProxy stops too) or SIGUSR1 (HAProxy keeps serving its last maps,
    for the next agent on the same state dir to adopt: restarting the agent drops no traffic)."""
    node = options.node or f"{socket.gethostname()}-{options.listen[1]}"
    settings = HaproxySettings(
        state_dir=options.state_dir,
        listen_host=options.listen[0],
        listen_port=options.listen[1],
        origin_http_port=options.origin_http_port,
        origin_tls_port=options.origin_tls_port,
    )
    feed = FeedClient(options.control_plane, options.token)
    agent = EdgeAgent(
        AgentOptions(node=node),
        feed,
        HaproxyDataPlane(settings, haproxy_bin=options.haproxy_bin),
        StateStore(options.state_dir),
        OriginNames(options.dns_servers),
    )
    metrics = MetricsServer(*options.metrics, edge_registry(agent.status)) if options.metrics else None
    stop = threading.Event()
    leave_serving = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        if signum != signal.SIGUSR1:
            leave_serving.clear()  # a SIGTERM after a SIGUSR1 still stops HAProxy
        elif not stop.is_set():
            leave_serving.set()
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1):
        signal.signal(sig, on_signal)
    agent.start()
    if metrics is not None:
        metrics.start()
    _log.info("edge.started", extra={"node": node, "listen_port": options.listen[1]})
    if ready is not None:
        ready.set()
    try:
        stop.wait()
    finally:
        if metrics is not None:
            metrics.stop()
        agent.stop(leave_serving=leave_serving.is_set())
        _log.info("edge.stopped", extra={"node": node, "haproxy_left_serving": leave_serving.is_set()})
        feed.close()
