"""Bindings stay `provisioning` until every live edge serves the revision that created them, over real
HTTP on SQLite and PostgreSQL. Each test has a server (and database) of its own: registered edges count
for every binding."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from prefixgate.domain.bindings import CDN, SPECTRUM
from prefixgate.service import edge_feed
from prefixgate.service.context import Actor
from prefixgate.settings import Settings
from tests.support import Server, World, fresh_database_url, make_world, unique_v4_prefix


@dataclass
class Stage:
    server: Server
    world: World
    edge: httpx.Client
    alice: httpx.Client
    prefix: str
    cidr: str

    def bind(self, cidr: str, service_id: str) -> dict[str, object]:
        r = self.alice.post(
            f"/accounts/{self.world.a}/addressing/prefixes/{self.prefix}/bindings",
            json={"cidr": cidr, "service_id": service_id},
        )
        assert r.status_code == 201, r.text
        made: dict[str, object] = r.json()["result"]
        return made

    def state(self, binding_id: object) -> str:
        r = self.alice.get(f"/accounts/{self.world.a}/addressing/prefixes/{self.prefix}/bindings/{binding_id}")
        assert r.status_code == 200, r.text
        return str(r.json()["result"]["provisioning"]["state"])

    def listed_state(self, binding_id: object) -> str:
        r = self.alice.get(f"/accounts/{self.world.a}/addressing/prefixes/{self.prefix}/bindings")
        assert r.status_code == 200, r.text
        return str(next(b for b in r.json()["result"] if b["id"] == binding_id)["provisioning"]["state"])

    def head(self) -> int:
        return int(self.edge.get("/edge/snapshot").json()["result"]["revision"])

    def report(self, name: str, revision: int) -> None:
        r = self.edge.put(f"/edge/nodes/{name}", json={"revision": revision})
        assert r.status_code == 200, r.text

    def stored_state(self, binding_id: object) -> str:
        with self.server.db.read() as uow:
            found = uow.bindings.get(self.prefix, str(binding_id))
        assert found is not None
        return found.state


def stage_for(engine_name: str, tmp: str, stale_s: float) -> Iterator[Stage]:
    with fresh_database_url(engine_name, tmp) as url:
        server = Server(Settings(database_url=url, edge_stale_s=stale_s)).start()
        world = make_world(server)
        _, token = edge_feed.create_edge_token(server.db, Actor.cli(), "edges")
        edge = httpx.Client(base_url=server.api, headers={"Authorization": f"Bearer {token}"}, timeout=30)
        alice = world.client(world.alice)
        cidr = unique_v4_prefix()
        prefix = alice.post(f"/accounts/{world.a}/addressing/prefixes", json={"cidr": cidr, "asn": 64500})
        assert prefix.status_code == 201, prefix.text
        try:
            yield Stage(server, world, edge, alice, prefix.json()["result"]["id"], cidr)
        finally:
            edge.close()
            world.close()
            server.stop()


@pytest.fixture
def stage(engine_name: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stage]:
    yield from stage_for(engine_name, str(tmp_path_factory.mktemp("prov")), stale_s=30)


@pytest.fixture
def quick_stale(engine_name: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stage]:
    yield from stage_for(engine_name, str(tmp_path_factory.mktemp("stale")), stale_s=1.0)


def test_with_no_edge_a_binding_is_active_once_committed(stage: Stage) -> None:
    made = stage.bind(stage.cidr, SPECTRUM.id)
    assert made["provisioning"] == {"state": "provisioning"}  # the answer to the POST, as on Cloudflare
    assert stage.state(made["id"]) == "active" == stage.stored_state(made["id"])


def test_a_binding_waits_for_a_live_edge_that_is_behind(stage: Stage) -> None:
    behind = stage.head()
    stage.report("edge-a", behind)
    made = stage.bind(stage.cidr, SPECTRUM.id)
    created = stage.head()
    assert created == behind + 1
    assert stage.state(made["id"]) == "provisioning" == stage.listed_state(made["id"])
    stage.report("edge-a", behind)  # still behind: still provisioning
    assert stage.state(made["id"]) == "provisioning" == stage.stored_state(made["id"])
    stage.report("edge-a", created)
    assert stage.stored_state(made["id"]) == "active"  # settled by the report itself
    assert stage.state(made["id"]) == "active"


def test_every_live_edge_must_serve_it(stage: Stage) -> None:
    start = stage.head()
    stage.report("edge-a", start)
    stage.report("edge-b", start)
    made = stage.bind(stage.cidr, SPECTRUM.id)
    later = stage.bind(f"{stage.cidr.removesuffix('0/24')}128/25", CDN.id)
    first, second = start + 1, start + 2
    stage.report("edge-a", second)
    assert stage.state(made["id"]) == "provisioning"
    stage.report("edge-b", first)  # both serve the first binding now, not yet the second
    assert (stage.state(made["id"]), stage.state(later["id"])) == ("active", "provisioning")
    stage.report("edge-b", second)
    assert stage.state(later["id"]) == "active"


def test_a_stale_edge_stops_holding_bindings(quick_stale: Stage) -> None:
    stage = quick_stale
    behind = stage.head()
    stage.report("edge-gone", behind)
    made = stage.bind(stage.cidr, SPECTRUM.id)
    stage.report("edge-gone", behind)  # (live again just now: the edge goes stale after 1 s)
    assert stage.state(made["id"]) == "provisioning"
    operator = stage.world.client(stage.world.operator)
    deadline = time.monotonic() + 20
    while not operator.get("/edge/nodes").json()["result"][0]["stale"]:
        assert time.monotonic() < deadline, "the edge never went stale"
        time.sleep(0.05)
    # The next read finds no live edge: the binding is active, and it is stored so.
    assert stage.state(made["id"]) == "active"
    assert stage.stored_state(made["id"]) == "active"
    # A stale edge that comes back counts again, for bindings made from then on.
    behind = stage.head()
    stage.report("edge-gone", behind)
    again = stage.bind(f"{stage.cidr.removesuffix('0/24')}0/25", CDN.id)
    stage.report("edge-gone", behind)
    assert stage.state(again["id"]) == "provisioning"
