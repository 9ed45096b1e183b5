"""GET /metrics on a real server: exact request counts by route template, error codes, 503s, object
gauges, and the allow-list (PREFIXGATE_METRICS_ALLOW) that decides who may read it.

The in-thread servers of one test process share prometheus_client's registry, so counts are read as the
increase between two scrapes; nothing else talks to any server in this process meanwhile. Every request
is recorded before its last byte leaves, so a scrape right after a response already counts it.
"""

from __future__ import annotations

import os
import secrets
import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from prefixgate import metrics
from prefixgate.api.observe import COUNTS_TTL_S
from prefixgate.domain.codes import Code
from prefixgate.settings import Settings
from prefixgate.web import PAGES
from tests.api.helpers import assert_refused, create_prefix, prefix_url, prefixes_url
from tests.api.metrics_helpers import (
    ERRORS,
    LATENCY_COUNT,
    PREFIX,
    REQUESTS,
    UNAVAILABLE,
    code,
    increase,
    route,
    scrape,
)
from tests.api.spectrum_helpers import stage
from tests.support import PG_ENV, Server, World, fresh_database_url, make_world, unique_v4_prefix

PREFIXES = f"{PREFIX}/accounts/{{account_id}}/addressing/prefixes"
PREFIX_ONE = f"{PREFIXES}/{{prefix_id}}"
DOCS = {f"{PREFIX}/openapi.json", f"{PREFIX}/docs", f"{PREFIX}/redoc", "/docs/oauth2-redirect"}

StartServer = Callable[..., Server]


def test_the_test_process_records_in_memory() -> None:
    """Multiprocess mode is for `serve --workers N` only: it must never leak into the test process."""
    assert metrics.MULTIPROC_ENV not in os.environ
    assert not metrics.multiprocess()


def test_requests_and_errors_are_counted_exactly_by_route_template(server: Server, world: World) -> None:
    alice = world.client(world.alice)
    ids = [secrets.token_hex(16) for _ in range(2)]
    before = scrape(server.base)
    answers = [alice.get(prefixes_url(world.a)) for _ in range(3)]
    answers += [alice.get(prefix_url(world.a, i)) for i in ids]
    answers.append(httpx.get(f"{server.base}/nothing/{ids[0]}"))
    answers.append(httpx.post(f"{server.base}/healthz"))
    answers.append(httpx.get(f"{server.api}/user", headers={"Authorization": "Bearer not-a-token"}))
    # A method nobody serves (one the HTTP parser knows: it refuses unknown ones with 400 before the app).
    answers.append(httpx.request("PROPFIND", f"{server.base}/healthz"))
    after = scrape(server.base)

    assert [r.status_code for r in answers] == [200, 200, 200, 404, 404, 404, 405, 401, 405]
    expected = {
        route("GET", PREFIXES, 200): 3,
        route("GET", PREFIX_ONE, 404): 2,
        route("GET", metrics.UNMATCHED, 404): 1,
        route("POST", "/healthz", 405): 1,
        route("GET", f"{PREFIX}/user", 401): 1,
        route("OTHER", "/healthz", 405): 1,  # unknown methods share one label
        route("GET", "/metrics", 200): 1,  # the first scrape
    }
    assert increase(before, after, REQUESTS) == expected
    assert increase(before, after, LATENCY_COUNT) == expected
    refused = Counter(r.json()["errors"][0]["code"] for r in answers if r.status_code >= 400)
    assert increase(before, after, ERRORS) == {code(c): n for c, n in refused.items()}
    # Labels are templates: no id from a path ever becomes a label value.
    for raw in (*ids, world.a):
        assert raw not in after.text
    routes = after.label_values("route")
    assert {PREFIXES, PREFIX_ONE, "/healthz", "/metrics", metrics.UNMATCHED} <= routes
    templates = set(httpx.get(f"{server.api}/openapi.json").json()["paths"]) | DOCS | {metrics.UNMATCHED}
    # The dashboard's pages are left out of the OpenAPI document; tests of them may share this process.
    templates |= {route.path for module in PAGES for route in module.router.routes if hasattr(route, "path")}
    assert routes <= templates
    # Every authenticated request read the database; nothing holds or waits for a connection now.
    reads = increase(before, after, "prefixgate_db_transaction_duration_seconds_count")
    assert reads[frozenset({("kind", "read")})] >= 5
    for gauge in ("prefixgate_db_pool_in_use", "prefixgate_db_pool_waiting"):
        assert after.value(gauge) == before.value(gauge), gauge
    assert after.value("prefixgate_worker_processes") == 1


def test_metrics_are_loopback_only_by_default(server: Server) -> None:
    assert scrape(server.base).value("prefixgate_worker_processes") == 1
    # A reverse proxy on this host that forwards a remote client (uvicorn trusts X-Forwarded-For from
    # 127.0.0.1) is that client, not loopback: refused.
    r = httpx.get(f"{server.base}/metrics", headers={"X-Forwarded-For": "198.51.100.7"})
    assert_refused(r, 403, Code.FORBIDDEN, contains="PREFIXGATE_METRICS_ALLOW")


@pytest.fixture
def tmp_server(tmp_path: Path) -> Iterator[StartServer]:
    """A server of one's own on SQLite; settings come from the environment variables the test gives."""
    servers: list[Server] = []

    def start(**env: str) -> Server:
        url = f"sqlite:///{tmp_path}/metrics-{len(servers)}.db"
        settings = Settings.from_env({"PREFIXGATE_DATABASE_URL": url, **{f"PREFIXGATE_{k}": v for k, v in env.items()}})
        servers.append(Server(settings).start())
        return servers[-1]

    yield start
    for s in servers:
        s.stop()


def test_an_allow_list_without_loopback_refuses_loopback(tmp_server: StartServer) -> None:
    monitoring = tmp_server(METRICS_ALLOW="192.0.2.0/24, 2001:db8::/32")
    r = httpx.get(f"{monitoring.base}/metrics")
    message = assert_refused(r, 403, Code.FORBIDDEN)
    assert "PREFIXGATE_METRICS_ALLOW" in message
    assert "prefixgate_" not in r.text
    assert httpx.get(f"{monitoring.base}/healthz").status_code == 200  # only /metrics is closed
    opened = tmp_server(METRICS_ALLOW="192.0.2.0/24,127.0.0.1")
    assert scrape(opened.base).value("prefixgate_worker_processes") == 1


def test_503s_and_sqlite_lock_waits_are_counted(tmp_server: StartServer) -> None:
    """A write that cannot get SQLite's write lock in time answers 503; the wait and the 503 are counted."""
    s = tmp_server(SQLITE_BUSY_TIMEOUT_MS="200")
    world = make_world(s)
    try:
        alice = world.client(world.alice)
        before = scrape(s.base)
        holder = sqlite3.connect(s.settings.database_url.removeprefix("sqlite:///"), isolation_level=None)
        try:
            holder.execute("BEGIN IMMEDIATE")  # another writer holds the lock
            r = alice.post(prefixes_url(world.a), json={"cidr": unique_v4_prefix(), "asn": 13335})
        finally:
            holder.close()
        after = scrape(s.base)
    finally:
        world.close()
    assert r.status_code == 503, r.text
    assert r.json()["errors"][0]["code"] == Code.SERVICE_UNAVAILABLE
    assert increase(before, after, UNAVAILABLE) == {frozenset(): 1}
    assert increase(before, after, ERRORS) == {code(Code.SERVICE_UNAVAILABLE): 1}
    assert increase(before, after, REQUESTS) == {route("POST", PREFIXES, 503): 1, route("GET", "/metrics", 200): 1}
    waits = increase(before, after, "prefixgate_db_lock_wait_seconds_count")
    assert waits[frozenset()] >= 1
    waited = increase(before, after, "prefixgate_db_lock_wait_seconds_sum")[frozenset()]
    assert waited >= 0.2 * 0.9  # at least the busy timeout (allowing for clock granularity)


@pytest.fixture(scope="module")
def counted(engine_name: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server on a database of its own, so the object counts are known exactly."""
    with fresh_database_url(engine_name, str(tmp_path_factory.mktemp("countsdb"))) as url:
        s = Server(Settings(database_url=url)).start()
        yield s
        s.stop()


def objects(base: str) -> tuple[float, float, float]:
    got = scrape(base)
    return got.value("prefixgate_prefixes"), got.value("prefixgate_delegations"), got.value("prefixgate_spectrum_apps")


def test_object_gauges_count_the_whole_database(counted: Server) -> None:
    world = make_world(counted)
    try:
        st = stage(world)  # one approved prefix of A, bound to Spectrum, a zone in A, B and C
        st.delegate(st.cidr(64, 26), "b")
        st.create_app("a", st.ip(10))
        assert objects(counted.base) == (1, 1, 1)  # the first scrape counts
        create_prefix(world.client(world.eve), world.c, unique_v4_prefix())
        stale = objects(counted.base)  # may still be the cached counts
        assert stale in {(1, 1, 1), (2, 1, 1)}
        deadline = time.monotonic() + COUNTS_TTL_S + 10
        while objects(counted.base) != (2, 1, 1):
            assert time.monotonic() < deadline, "the counts were not refreshed after their TTL"
            time.sleep(0.5)
    finally:
        world.close()


def test_metrics_still_answer_when_the_database_is_gone(tmp_path: Path) -> None:
    """Monitoring matters most in an outage: /metrics answers without the object counts, never 5xx."""
    admin_url = os.environ.get(PG_ENV)
    if not admin_url:
        pytest.skip(f"PostgreSQL testing is off ({PG_ENV} is not set)")
    with fresh_database_url("postgresql", str(tmp_path)) as url:
        s = Server(Settings(database_url=url, connect_timeout_s=2)).start()
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE "{make_url(url).database}" WITH (FORCE)'))
            assert httpx.get(f"{s.base}/readyz").status_code == 503
            got = scrape(s.base)
            assert ("prefixgate_prefixes", frozenset()) not in got.samples
            assert got.value(REQUESTS, method="GET", route="/readyz", status="503") >= 1
        finally:
            admin.dispose()
            s.stop()
