"""The change feed over real HTTP, on SQLite and PostgreSQL: the snapshot and the changes agree, long
polls wait without holding connections or threads and wake on a commit, refusals (400, 403, 410) and
edge tokens that work on the feed and nowhere else.

The module's server has a database of its own, so every revision in it is made here.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from prefixgate.domain.bindings import SPECTRUM
from prefixgate.edge.state import EdgeState, apply_changes, decode_change, decode_snapshot
from prefixgate.service import edge_feed
from prefixgate.service.context import Actor
from prefixgate.settings import Settings
from tests.api.metrics_helpers import scrape
from tests.support import Server, World, fresh_database_url, make_world, unique_v4_prefix

WAITERS = 60  # more than the request threads (40) and than PostgreSQL's pool (20)


@dataclass
class Feed:
    server: Server
    world: World
    edge: httpx.Client  # with an edge token

    def head(self) -> int:
        r = self.edge.get("/edge/snapshot")
        assert r.status_code == 200, r.text
        return int(r.json()["result"]["revision"])

    def zone(self) -> str:
        """A serving change: a new zone in A (one revision)."""
        r = self.world.client(self.world.alice).post(
            "/zones", json={"name": f"f{secrets.token_hex(5)}.example.com", "account": {"id": self.world.a}}
        )
        assert r.status_code == 200, r.text
        return str(r.json()["result"]["id"])


def edge_client(server: Server, name: str = "edge") -> httpx.Client:
    _, value = edge_feed.create_edge_token(server.db, Actor.cli(), name)
    return httpx.Client(base_url=server.api, headers={"Authorization": f"Bearer {value}"}, timeout=90)


@pytest.fixture(scope="module")
def feed(engine_name: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Feed]:
    with fresh_database_url(engine_name, str(tmp_path_factory.mktemp("feedapi"))) as url:
        server = Server(Settings(database_url=url)).start()
        world = make_world(server)
        edge = edge_client(server)
        try:
            yield Feed(server, world, edge)
        finally:
            edge.close()
            world.close()
            server.stop()


def changes(client: httpx.Client, since: int, timeout: float = 0) -> dict[str, Any]:
    r = client.get("/edge/changes", params={"since": since, "timeout": timeout})
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()["result"]
    return result


def test_the_snapshot_round_trips_and_equals_the_changes_from_zero(feed: Feed) -> None:
    w, alice = feed.world, feed.world.client(feed.world.alice)
    cidr = unique_v4_prefix()
    net = cidr.removesuffix("0/24")
    p = alice.post(f"/accounts/{w.a}/addressing/prefixes", json={"cidr": cidr, "asn": 64500}).json()["result"]
    w.approve(p["id"])
    r = alice.post(
        f"/accounts/{w.a}/addressing/prefixes/{p['id']}/bindings", json={"cidr": cidr, "service_id": SPECTRUM.id}
    )
    assert r.status_code == 201, r.text
    r = alice.post(
        f"/accounts/{w.a}/addressing/prefixes/{p['id']}/delegations",
        json={"cidr": f"{net}0/26", "delegated_account_id": w.b},
    )
    assert r.status_code == 200, r.text
    bob = w.client(w.bob)
    zone = bob.post("/zones", json={"name": f"b{secrets.token_hex(4)}.example.com", "account": {"id": w.b}}).json()
    zone_id = zone["result"]["id"]
    app = {
        "protocol": "tcp/22",
        "dns": {"type": "ADDRESS", "name": f"ssh.{zone['result']['name']}"},
        "edge_ips": {"type": "static", "ips": [f"{net}5"]},
        "origin_direct": ["tcp://192.0.2.1:22"],
    }
    assert bob.post(f"/zones/{zone_id}/spectrum/apps", json=app).status_code == 200
    assert bob.patch(f"/zones/{zone_id}", json={"paused": True}).status_code == 200

    r = feed.edge.get("/edge/snapshot")
    assert r.status_code == 200, r.text
    assert r.json()["success"] is True
    snapshot = decode_snapshot(r.json()["result"])  # the checksum matches
    assert snapshot.prefixes[p["id"]].approved is True and snapshot.zones[zone_id].paused is True
    assert len(snapshot.apps) == 1 and len(snapshot.delegations) == 1 and len(snapshot.bindings) == 1

    since_zero = changes(feed.edge, 0)
    assert since_zero["oldest"] == 1  # nothing pruned
    replayed = apply_changes(EdgeState(), since_zero["revision"], [decode_change(c) for c in since_zero["changes"]])
    assert replayed == snapshot


def test_the_changes_since_a_snapshot_bring_it_to_the_next_one(feed: Feed) -> None:
    first = decode_snapshot(feed.edge.get("/edge/snapshot").json()["result"])
    zone_id = feed.zone()
    assert feed.world.client(feed.world.alice).delete(f"/zones/{zone_id}").status_code == 200
    kept = feed.zone()
    found = changes(feed.edge, first.revision)
    assert found["revision"] == first.revision + 3
    ids = [(c["kind"], c["id"], c["row"] is None) for c in found["changes"]]
    assert ids == [("zone", zone_id, True), ("zone", kept, False)]  # the deleted zone once, as gone
    after = apply_changes(first, found["revision"], [decode_change(c) for c in found["changes"]])
    assert after == decode_snapshot(feed.edge.get("/edge/snapshot").json()["result"])


def test_a_long_poll_returns_when_a_change_commits(feed: Feed) -> None:
    h = feed.head()
    with ThreadPoolExecutor(max_workers=1) as pool:
        started = time.monotonic()
        poll = pool.submit(changes, feed.edge, h, 20)
        wait_for_waiters(feed.server.base, 1)
        committed = time.monotonic()
        zone_id = feed.zone()
        found = poll.result(timeout=20)
    answered = time.monotonic()
    assert [c["id"] for c in found["changes"]] == [zone_id]
    assert answered - committed < 2.0 and answered - started < 15


def test_a_long_poll_answers_nothing_new_after_its_timeout(feed: Feed) -> None:
    h = feed.head()
    started = time.monotonic()
    found = changes(feed.edge, h, timeout=1)
    took = time.monotonic() - started
    assert found == {"revision": h, "oldest": 1, "changes": []}
    assert 1.0 <= took < 5.0
    started = time.monotonic()
    assert changes(feed.edge, h, timeout=0)["changes"] == []
    assert time.monotonic() - started < 2.0


def wait_for_waiters(base: str, n: int, deadline_s: float = 20) -> None:
    deadline = time.monotonic() + deadline_s
    while scrape(base).value("prefixgate_edge_feed_waiting") < n:
        assert time.monotonic() < deadline, f"fewer than {n} long polls are waiting"
        time.sleep(0.02)


def test_many_long_polls_hold_no_connection_or_thread_and_all_wake(feed: Feed) -> None:
    h = feed.head()
    clients = [edge_client(feed.server, f"waiter-{i}") for i in range(WAITERS)]
    # Connections checked out in this process before (other servers' SQLite write connections, say).
    in_use = scrape(feed.server.base).value("prefixgate_db_pool_in_use")
    try:
        with ThreadPoolExecutor(max_workers=WAITERS) as pool:
            polls = [pool.submit(changes, c, h, 30) for c in clients]
            wait_for_waiters(feed.server.base, WAITERS)
            assert scrape(feed.server.base).value("prefixgate_db_pool_in_use") <= in_use + 1
            # Every request thread and pooled connection is free for other requests meanwhile.
            started = time.monotonic()
            reads = [feed.world.client(feed.world.alice).get("/user") for _ in range(5)]
            assert all(r.status_code == 200 for r in reads) and time.monotonic() - started < 5
            zone_id = feed.zone()
            answers = [p.result(timeout=20) for p in polls]
        assert all([c["id"] for c in a["changes"]] == [zone_id] for a in answers)
        assert scrape(feed.server.base).value("prefixgate_edge_feed_waiting") == 0
    finally:
        for c in clients:
            c.close()


def test_since_ahead_of_the_head_is_gone(feed: Feed) -> None:
    r = feed.edge.get("/edge/changes", params={"since": feed.head() + 1, "timeout": 0})
    assert r.status_code == 410, r.text
    assert r.json()["errors"][0]["code"] == 2200 and "ahead" in r.json()["errors"][0]["message"]


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"since": "-1"},
        {"since": "abc"},
        {"since": "1.5"},
        {"since": str(2**63)},
        {"since": "0", "timeout": "-1"},
        {"since": "0", "timeout": "61"},
        {"since": "0", "timeout": "2.5"},
        {"since": "0", "timeout": "soon"},
    ],
)
def test_a_bad_since_or_timeout_is_refused(feed: Feed, params: dict[str, str]) -> None:
    r = feed.edge.get("/edge/changes", params=params)
    assert r.status_code == 400, r.text
    body = r.json()
    assert (body["success"], body["result"], body["errors"][0]["code"]) == (False, None, 1001)


def test_operators_may_read_the_feed_and_list_nodes(feed: Feed) -> None:
    op = feed.world.client(feed.world.operator)
    assert decode_snapshot(op.get("/edge/snapshot").json()["result"]).revision == feed.head()
    assert op.get("/edge/changes", params={"since": 0, "timeout": 0}).status_code == 200
    assert op.get("/edge/nodes").status_code == 200


def test_tenant_users_are_refused_the_feed(feed: Feed) -> None:
    for who in (feed.world.alice, feed.world.reader):
        c = feed.world.client(who)
        for r in (
            c.get("/edge/snapshot"),
            c.get("/edge/changes", params={"since": 0, "timeout": 30}),
            c.put("/edge/nodes/tenant", json={"revision": 0}),
            c.get("/edge/nodes"),
        ):
            assert r.status_code == 403, r.text
            assert r.json()["errors"][0]["code"] == 9109


def _operations(server: Server) -> list[tuple[str, str]]:
    doc = httpx.get(f"{server.api}/openapi.json").json()
    ops = []
    for path, methods in doc["paths"].items():
        for method, op in methods.items():
            if path.startswith("/client/v4") and op.get("security") != []:
                ops.append((method.upper(), path))
    return ops


ALLOWED = {
    ("GET", "/client/v4/edge/snapshot"),
    ("GET", "/client/v4/edge/changes"),
    ("PUT", "/client/v4/edge/nodes/{name}"),
}


def test_an_edge_token_is_refused_everywhere_else_as_an_unknown_token_is(feed: Feed) -> None:
    ops = _operations(feed.server)
    assert set(ops) >= ALLOWED and len(ops) > 40
    unknown = {"Authorization": f"Bearer {secrets.token_urlsafe(30)}"}
    for method, path in sorted(set(ops) - ALLOWED):
        url = feed.server.base + path.replace("{account_id}", feed.world.a)
        for name in ("prefix_id", "delegation_id", "binding_id", "zone_id", "app_id", "member_id", "token_id"):
            url = url.replace("{" + name + "}", "0" * 32)
        url = url.replace("{", "").replace("}", "")
        body = {"json": {}} if method in ("POST", "PUT", "PATCH") else {}
        as_edge = httpx.request(method, url, headers=dict(feed.edge.headers), **body)  # type: ignore[arg-type]
        as_unknown = httpx.request(method, url, headers=unknown, **body)  # type: ignore[arg-type]
        assert (as_edge.status_code, as_edge.json()) == (as_unknown.status_code, as_unknown.json()), (method, path)
        assert as_edge.status_code == 401, (method, path, as_edge.text)
    # ... and it works where it should.
    assert feed.edge.get("/edge/snapshot").status_code == 200
    assert feed.edge.put("/edge/nodes/token-check", json={"revision": 0}).status_code == 200


def test_an_edge_token_refused_after_its_answer_was_cached(feed: Feed) -> None:
    # A cached edge identity (the feed endpoints cache it) must not open other endpoints either.
    assert feed.edge.get("/edge/snapshot").status_code == 200
    for r in (feed.edge.get("/user"), feed.edge.get("/edge/nodes"), feed.edge.get("/accounts")):
        assert r.status_code == 401 and r.json()["errors"][0]["code"] == 9109


def test_nodes_report_and_are_listed_with_their_lag(feed: Feed) -> None:
    h = feed.head()
    name = f"edge-{secrets.token_hex(3)}"
    r = feed.edge.put(f"/edge/nodes/{name}", json={"revision": h})
    assert r.status_code == 200, r.text
    first = r.json()["result"]
    assert (first["name"], first["revision"], first["lag"], first["stale"]) == (name, h, 0, False)
    assert first["registered_on"] == first["last_seen"] and first["last_seen"].endswith("Z")
    feed.zone()
    again = feed.edge.put(f"/edge/nodes/{name}", json={"revision": h}).json()["result"]
    assert (again["lag"], again["registered_on"]) == (1, first["registered_on"])
    assert again["last_seen"] >= first["last_seen"]
    listed = {n["name"]: n for n in feed.world.client(feed.world.operator).get("/edge/nodes").json()["result"]}
    assert listed[name] == {**again, "lag": 1}


@pytest.mark.parametrize(
    ("name", "body", "status"),
    [
        ("-edge", {"revision": 0}, 400),
        ("edge-", {"revision": 0}, 400),
        ("a" * 65, {"revision": 0}, 400),
        ("ed ge", {"revision": 0}, 400),
        ("ëdge", {"revision": 0}, 400),
        ("edge", {"revision": -1}, 400),
        ("edge", {"revision": "1"}, 400),
        ("edge", {"revision": 1.0}, 400),
        ("edge", {}, 400),
        ("edge", {"revision": 10**12}, 410),
    ],
)
def test_bad_node_reports_are_refused(feed: Feed, name: str, body: dict[str, object], status: int) -> None:
    r = feed.edge.put(f"/edge/nodes/{name}", json=body)
    assert r.status_code == status, r.text
    assert r.json()["success"] is False


def test_a_node_name_of_64_characters_is_accepted(feed: Feed) -> None:
    assert feed.edge.put(f"/edge/nodes/{'a' * 64}", json={"revision": 0}).status_code == 200


@pytest.fixture
def small_keep(engine_name: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Feed]:
    with fresh_database_url(engine_name, str(tmp_path_factory.mktemp("keep"))) as url:
        server = Server(Settings(database_url=url, edge_feed_keep=3)).start()
        world = make_world(server)
        edge = edge_client(server)
        try:
            yield Feed(server, world, edge)
        finally:
            edge.close()
            world.close()
            server.stop()


def test_since_older_than_the_changes_kept_is_gone(small_keep: Feed) -> None:
    for _ in range(12):
        small_keep.zone()
    found = changes(small_keep.edge, small_keep.head())
    oldest, h = found["oldest"], found["revision"]
    assert found["changes"] == []
    assert h == 12 and 1 < oldest <= h - 2
    r = small_keep.edge.get("/edge/changes", params={"since": oldest - 2, "timeout": 0})
    assert r.status_code == 410, r.text
    assert r.json()["errors"][0] == {
        "code": 2200,
        "message": f"the changes after revision {oldest - 2} are no longer kept (the oldest kept is {oldest}); "
        "reload the snapshot",
    }
    assert len(changes(small_keep.edge, oldest - 1)["changes"]) == h - oldest + 1
    # The edge reloads: the snapshot is whole whatever was pruned.
    assert len(decode_snapshot(small_keep.edge.get("/edge/snapshot").json()["result"]).zones) == 12
