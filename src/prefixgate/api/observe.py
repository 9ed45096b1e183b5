"""What /metrics needs from the HTTP layer: route labels for the request metrics (recorded by
middleware.RequestLog) and the cached object counts."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from time import monotonic
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from starlette.routing import BaseRoute
from starlette.types import Scope

from ..domain.model import ObjectCounts
from ..metrics import UNMATCHED
from ..service.ports import Database
from ..service.stats import object_counts

__all__ = ["COUNTS_TTL_S", "CachedCounts", "RouteLabels", "route_templates"]

log = logging.getLogger("prefixgate.metrics")

# How stale the object counts in /metrics may be: one COUNT(*) per table per worker at most this often.
COUNTS_TTL_S = 5.0


def route_templates(included: Iterable[tuple[str, Iterable[BaseRoute]]]) -> dict[Callable[..., Any], str]:
    """Map each route's endpoint to its full path template (prefix + path), e.g.
    `/client/v4/accounts/{account_id}/addressing/prefixes/{prefix_id}`.

    Keyed by endpoint because Starlette/FastAPI leave it in `scope["endpoint"]` for every matched route
    (FastAPI's own docs routes included), while the route left in `scope["route"]` may carry its path
    without the prefix it was included under.

    Raises:
        ValueError: one endpoint serves two different templates, so its label would be ambiguous.
    """
    templates: dict[Callable[..., Any], str] = {}
    for prefix, routes in included:
        for route in routes:
            endpoint, path = getattr(route, "endpoint", None), getattr(route, "path", None)
            if endpoint is None or path is None:
                continue
            template = prefix + path
            if templates.setdefault(endpoint, template) != template:
                raise ValueError(f"{endpoint.__name__} serves {templates[endpoint]} and {template}")
    return templates


class RouteLabels:
    """The metrics label of a request: its route's full template, never the raw path (so ids never
    become labels); requests no route matched share one label."""

    def __init__(self, templates: Mapping[Callable[..., Any], str]) -> None:
        self._templates = templates

    def label(self, scope: Scope) -> str:
        endpoint = scope.get("endpoint")
        template = self._templates.get(endpoint) if endpoint is not None else None
        if template is not None:
            return template
        route = scope.get("route")  # a route added without telling us: still a template, never the raw path
        return str(route.path) if route is not None and hasattr(route, "path") else UNMATCHED


class CachedCounts:
    """Object counts for /metrics, computed at scrape time by the worker that serves the scrape (so
    never summed across workers) and reused for COUNTS_TTL_S. A database that does not answer leaves
    the last counts in place (or none), so /metrics still answers while the database is down."""

    def __init__(self, db: Database, ttl_s: float = COUNTS_TTL_S) -> None:
        self._db = db
        self._ttl_s = ttl_s
        self._lock = threading.Lock()  # concurrent scrapes share one query
        self._at = float("-inf")
        self._counts: ObjectCounts | None = None

    def get(self) -> ObjectCounts | None:
        with self._lock:
            now = monotonic()
            if now - self._at >= self._ttl_s:
                self._at = now  # a failing database is asked again after the TTL, not on every scrape
                try:
                    self._counts = object_counts(self._db)
                except SQLAlchemyError as exc:
                    log.warning("metrics.counts_unavailable", extra={"error": type(exc).__name__})
            return self._counts
