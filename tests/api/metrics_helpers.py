"""Reading /metrics in tests: scrape it, parse the Prometheus text, and compare two scrapes."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from prometheus_client.parser import text_string_to_metric_families

Labels = frozenset[tuple[str, str]]

REQUESTS = "prefixgate_http_requests_total"
LATENCY_COUNT = "prefixgate_http_request_duration_seconds_count"
ERRORS = "prefixgate_http_errors_total"
UNAVAILABLE = "prefixgate_http_unavailable_total"
PREFIX = "/client/v4"


@dataclass(frozen=True)
class Scrape:
    text: str
    samples: dict[tuple[str, Labels], float]

    def value(self, name: str, **labels: str) -> float:
        """One series' value; a series not exposed (yet) is 0."""
        return self.samples.get((name, frozenset(labels.items())), 0.0)

    def series(self, name: str) -> dict[Labels, float]:
        return {labels: v for (n, labels), v in self.samples.items() if n == name}

    def label_values(self, label: str) -> set[str]:
        return {v for (_, labels) in self.samples for k, v in labels if k == label}


def scrape(base: str, headers: dict[str, str] | None = None) -> Scrape:
    """GET /metrics (a fresh connection each time) and parse every sample."""
    r = httpx.get(f"{base}/metrics", headers=headers, timeout=30)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4"), r.headers
    samples: dict[tuple[str, Labels], float] = {}
    for family in text_string_to_metric_families(r.text):
        for s in family.samples:
            samples[(s.name, frozenset(s.labels.items()))] = s.value
    return Scrape(r.text, samples)


def increase(before: Scrape, after: Scrape, name: str) -> dict[Labels, float]:
    """How much each series of `name` grew between two scrapes (series that did not move are left out)."""
    grown = {labels: v - before.samples.get((name, labels), 0.0) for labels, v in after.series(name).items()}
    return {labels: d for labels, d in grown.items() if d != 0}


def route(method: str, template: str, status: int) -> Labels:
    return frozenset({("method", method), ("route", template), ("status", str(status))})


def code(c: int) -> Labels:
    return frozenset({("code", str(c))})
