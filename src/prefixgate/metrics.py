"""Prometheus metrics: their definitions, the tiny functions that record them, and the text a scrape returns.

No web framework here, so adapters record too. Recording is cheap (a dict lookup for the cached label child,
then a locked add), so it can sit on every request.

Multiprocess mode: when PROMETHEUS_MULTIPROC_DIR is set before prometheus_client is first imported (as
`prefixgate serve --workers N` does for its workers), every process writes its samples to files in that
directory, and a scrape served by any worker merges them all. Gauges about a process (pool use, workers) are
summed over live processes only; files of dead processes are dropped at scrape time.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Final

from prometheus_client import REGISTRY, Counter, Gauge, Histogram, disable_created_metrics, generate_latest, values
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

from .domain.model import ObjectCounts

__all__ = [
    "CONTENT_TYPE",
    "MULTIPROC_ENV",
    "UNMATCHED",
    "count_error",
    "count_gauges",
    "feed_head_seen",
    "feed_wait_ended",
    "feed_wait_started",
    "multiprocess",
    "observe_lock_wait",
    "observe_request",
    "observe_transaction",
    "pool_checked_in",
    "pool_checked_out",
    "pool_wait_ended",
    "pool_wait_started",
    "render",
    "worker_started",
]

MULTIPROC_ENV: Final = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE: Final = "text/plain; version=0.0.4; charset=utf-8"  # what generate_latest() writes
UNMATCHED: Final = "<unmatched>"  # the route label of a request no route matched: never its raw path

# No `*_created` series: multiprocess mode has none, and one mode should read like the other.
disable_created_metrics()  # type: ignore[no-untyped-call]

_SECONDS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_ROUTE_LABELS = ("method", "route", "status")
# Methods outside this set share one label, so a client cannot mint label values.
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

_requests = Counter("prefixgate_http_requests_total", "HTTP requests answered", _ROUTE_LABELS)
_latency = Histogram(
    "prefixgate_http_request_duration_seconds", "Time to answer an HTTP request", _ROUTE_LABELS, buckets=_SECONDS
)
_errors = Counter("prefixgate_http_errors_total", "Error responses by Cloudflare error code (the first one)", ("code",))
_unavailable = Counter("prefixgate_http_unavailable_total", "Responses with HTTP status 503")
_transactions = Histogram(
    "prefixgate_db_transaction_duration_seconds",
    "Database transactions from BEGIN (and any wait for the write lock) to COMMIT or ROLLBACK",
    ("kind",),
    buckets=_SECONDS,
)
_lock_wait = Histogram(
    "prefixgate_db_lock_wait_seconds", "SQLite: time a write transaction waited for the write lock", buckets=_SECONDS
)
_pool_in_use = Gauge(
    "prefixgate_db_pool_in_use", "Pooled database connections checked out", multiprocess_mode="livesum"
)
_pool_waiting = Gauge(
    "prefixgate_db_pool_waiting",
    "Threads waiting for a pooled database connection (including while one is opened)",
    multiprocess_mode="livesum",
)
_workers = Gauge("prefixgate_worker_processes", "Live processes serving the API", multiprocess_mode="livesum")
_feed_waiting = Gauge(
    "prefixgate_edge_feed_waiting", "Long polls of /edge/changes waiting for a change", multiprocess_mode="livesum"
)
_feed_head = Gauge(
    "prefixgate_edge_feed_head", "The newest edge-feed revision the processes know of", multiprocess_mode="livemax"
)

# Label children, created once per label set: .labels() costs far more than the lookup.
_request_children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}
_error_children: dict[int, Counter] = {}
_transaction_children: dict[str, Histogram] = {}


def multiprocess() -> bool:
    """Whether this process records to PROMETHEUS_MULTIPROC_DIR (fixed when prometheus_client was imported)."""
    return values.ValueClass is not values.MutexValue


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    """Count one answered request and its latency. `route` is a route template or UNMATCHED."""
    if method not in _METHODS:
        method = "OTHER"
    key = (method, route, status)
    children = _request_children.get(key)
    if children is None:
        labels = (method, route, str(status))
        children = _request_children[key] = (_requests.labels(*labels), _latency.labels(*labels))
    children[0].inc()
    children[1].observe(seconds)
    if status == 503:
        _unavailable.inc()


def count_error(code: int) -> None:
    """Count one error response by its Cloudflare error code."""
    child = _error_children.get(code)
    if child is None:
        child = _error_children[code] = _errors.labels(str(int(code)))
    child.inc()


def observe_transaction(kind: str, seconds: float) -> None:
    """Record one database transaction; `kind` is "read" or "write"."""
    child = _transaction_children.get(kind)
    if child is None:
        child = _transaction_children[kind] = _transactions.labels(kind)
    child.observe(seconds)


def observe_lock_wait(seconds: float) -> None:
    """Record how long a write transaction waited for SQLite's write lock."""
    _lock_wait.observe(seconds)


def pool_checked_out() -> None:
    _pool_in_use.inc()


def pool_checked_in() -> None:
    _pool_in_use.dec()


def pool_wait_started() -> None:
    _pool_waiting.inc()


def pool_wait_ended() -> None:
    _pool_waiting.dec()


def feed_wait_started() -> None:
    _feed_waiting.inc()


def feed_wait_ended() -> None:
    _feed_waiting.dec()


def feed_head_seen(revision: int) -> None:
    _feed_head.set(revision)


def worker_started() -> None:
    """This process serves the API (idempotent: several apps in one process still count once)."""
    _workers.set(1)


def count_gauges(counts: ObjectCounts | None) -> list[Metric]:
    """The object counts as gauges for one scrape (none while they are unknown)."""
    if counts is None:
        return []
    return [
        GaugeMetricFamily("prefixgate_prefixes", "Prefixes onboarded, in all accounts", value=counts.prefixes),
        GaugeMetricFamily("prefixgate_delegations", "Delegations, in all accounts", value=counts.delegations),
        GaugeMetricFamily("prefixgate_spectrum_apps", "Spectrum apps, in all zones", value=counts.spectrum_apps),
    ]


class _Scrape:
    """Everything one scrape returns: the recorded metrics, then `extra` (computed by the caller)."""

    def __init__(self, extra: Iterable[Metric]) -> None:
        self._extra = extra

    def collect(self) -> Iterable[Metric]:
        directory = os.environ.get(MULTIPROC_ENV)
        if multiprocess() and directory:
            _forget_dead(directory)
            merged = MultiProcessCollector(None, path=directory)  # type: ignore[no-untyped-call]
            yield from merged.collect()  # type: ignore[no-untyped-call]
        else:
            yield from REGISTRY.collect()
        yield from self._extra


def render(extra: Iterable[Metric] = ()) -> bytes:
    """The Prometheus text exposition of every process's metrics, followed by `extra`."""
    return generate_latest(_Scrape(extra))


def _forget_dead(directory: str) -> None:
    """Drop the live-gauge files of processes that are gone (a worker that crashed or was replaced);
    their counters and histograms stay, so totals never go backwards."""
    dead: set[int] = set()
    for name in os.listdir(directory):
        if name.startswith("gauge_live") and name.endswith(".db"):
            tail = name.removesuffix(".db").rpartition("_")[2]  # gauge_<mode>_<pid>.db
            if tail.isdigit() and not _alive(int(tail)):
                dead.add(int(tail))
    for pid in dead:
        mark_process_dead(pid, directory)  # type: ignore[no-untyped-call]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    """A killed worker that its supervisor has not reaped yet still answers kill(pid, 0)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rpartition(b")")[2].split()[0] == b"Z"
    except (OSError, IndexError):
        return False
