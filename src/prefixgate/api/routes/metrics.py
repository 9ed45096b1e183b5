"""Prometheus metrics, for the monitoring network only."""

from __future__ import annotations

from fastapi import Request, Response

from ...metrics import CONTENT_TYPE, count_gauges, render
from ..deps import MetricsScraper
from ..observe import CachedCounts
from ..routing import probe_router

router = probe_router(tags=["Health"])


@router.get(
    "/metrics",
    dependencies=[MetricsScraper],
    response_class=Response,
    responses={
        200: {"description": "Prometheus text format", "content": {"text/plain": {"schema": {"type": "string"}}}},
        403: {"description": "The caller's address is not in PREFIXGATE_METRICS_ALLOW"},
    },
)
def metrics(request: Request) -> Response:
    """Counters, histograms and gauges in Prometheus text format, summed over every worker."""
    counts: CachedCounts = request.app.state.object_counts
    return Response(render(count_gauges(counts.get())), media_type=CONTENT_TYPE)
