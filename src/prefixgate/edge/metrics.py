"""The edge agent's Prometheus metrics (`--metrics`): read at each scrape from the agent's status."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

__all__ = ["EdgeStatus", "MetricsServer", "edge_registry"]


@dataclass(frozen=True, slots=True)
class EdgeStatus:
    """What the agent knows at one moment."""

    revision: int = 0  # the revision the data plane serves
    control_plane_revision: int = 0  # the newest the control plane has shown
    control_plane_up: bool = False
    serving_saved_state: bool = False  # serving the table from --state-dir, not yet confirmed by the feed
    map_entries: Mapping[str, int] = field(default_factory=dict)
    outcomes: Mapping[str, int] = field(default_factory=dict)  # "path|reason" -> count, from HAProxy
    haproxy_restarts: int = 0
    haproxy_up: bool = False
    snapshots_refused: int = 0
    snapshots_loaded: int = 0
    changes_applied: int = 0
    connections_closed: int = 0
    reports_failed: int = 0
    not_served_apps: tuple[tuple[str, str], ...] = ()  # (app id, reason), e.g. UDP apps


class _StatusCollector(Collector):
    def __init__(self, status: Callable[[], EdgeStatus]) -> None:
        self._status = status

    def collect(self) -> Iterable[Metric]:
        s = self._status()
        yield _gauge("prefixgate_edge_revision", "The control-plane revision the data plane serves.", s.revision)
        yield _gauge(
            "prefixgate_edge_control_plane_revision",
            "The newest revision the control plane has shown.",
            s.control_plane_revision,
        )
        yield _gauge(
            "prefixgate_edge_lag_revisions",
            "How many revisions the data plane is behind the control plane.",
            max(0, s.control_plane_revision - s.revision),
        )
        yield _gauge("prefixgate_edge_control_plane_up", "1 while the change feed answers.", int(s.control_plane_up))
        yield _gauge(
            "prefixgate_edge_serving_saved_state",
            "1 while serving the table kept in --state-dir without the control plane's confirmation.",
            int(s.serving_saved_state),
        )
        yield _gauge("prefixgate_edge_haproxy_up", "1 while HAProxy runs.", int(s.haproxy_up))
        maps = GaugeMetricFamily("prefixgate_edge_map_entries", "Entries in each HAProxy map.", labels=["map"])
        for name in sorted(s.map_entries):
            maps.add_metric([name], s.map_entries[name])
        yield maps
        outcomes = CounterMetricFamily(
            "prefixgate_edge_connections",
            "Connections and HTTP requests through the edge, by outcome and reason.",
            labels=["path", "outcome", "reason"],
        )
        for key, count in sorted(s.outcomes.items()):
            path, _, reason = key.partition("|")
            outcomes.add_metric([path, "served" if reason == "served" else "refused", reason], count)
        yield outcomes
        yield _counter("prefixgate_edge_haproxy_restarts", "Times HAProxy was restarted.", s.haproxy_restarts)
        yield _counter("prefixgate_edge_snapshots_refused", "Snapshots refused (bad checksum).", s.snapshots_refused)
        yield _counter("prefixgate_edge_snapshots_loaded", "Snapshots loaded from the feed.", s.snapshots_loaded)
        yield _counter("prefixgate_edge_changes_applied", "Change batches applied.", s.changes_applied)
        yield _counter(
            "prefixgate_edge_connections_closed",
            "Established connections closed because what they reached stopped being served.",
            s.connections_closed,
        )
        yield _counter("prefixgate_edge_reports_failed", "Failed reports to the control plane.", s.reports_failed)
        apps = GaugeMetricFamily(
            "prefixgate_edge_app_not_served",
            "Spectrum apps this data plane does not serve (HAProxy has no UDP proxying), by reason.",
            labels=["app_id", "reason"],
        )
        for app_id, reason in s.not_served_apps:
            apps.add_metric([app_id, reason], 1)
        yield apps


def _gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, value=value)


def _counter(name: str, doc: str, value: float) -> CounterMetricFamily:
    return CounterMetricFamily(name, doc, value=value)


def edge_registry(status: Callable[[], EdgeStatus]) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_StatusCollector(status))
    return registry


class MetricsServer:
    """Prometheus text over HTTP on (host, port), in a daemon thread."""

    def __init__(self, host: str, port: int, registry: CollectorRegistry) -> None:
        class _Quiet(WSGIRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server: WSGIServer = make_server(host, port, make_wsgi_app(registry), handler_class=_Quiet)
        self.port = self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, name="edge-metrics", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
