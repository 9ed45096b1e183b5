"""`prefixgate admin create-edge-token`: its JSON contract, and that the token reads the feed and nothing else."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from prefixgate.adapters.db.engine import make_engine
from prefixgate.adapters.db.tables import edge_tokens
from prefixgate.settings import Settings
from tests.cli.test_cli import Cli
from tests.support import Server, fresh_database_url


@pytest.fixture
def cli(engine_name: str, tmp_path: Path) -> Iterator[Cli]:
    with fresh_database_url(engine_name, str(tmp_path)) as url:
        c = Cli(url, tmp_path)
        assert c.ok("migrate") == {"migrated": True}
        yield c


def test_create_edge_token_prints_a_token_that_reads_the_feed_and_nothing_else(cli: Cli) -> None:
    token = cli.admin("create-edge-token", "--name", "edge fleet 1")
    assert set(token) == {"id", "name", "value", "created_on"}
    assert re.fullmatch(r"[0-9a-f]{32}", token["id"]) and token["name"] == "edge fleet 1"
    server = Server(Settings(database_url=cli.url)).start()
    try:
        with httpx.Client(base_url=server.api, headers={"Authorization": f"Bearer {token['value']}"}) as edge:
            assert edge.get("/edge/snapshot").status_code == 200
            assert edge.put("/edge/nodes/edge-1", json={"revision": 0}).status_code == 200
            refused = edge.get("/user")
            assert refused.status_code == 401 and refused.json()["errors"][0]["code"] == 9109
    finally:
        server.stop()
    engine = make_engine(cli.url)
    try:
        with engine.connect() as conn:
            stored = conn.execute(select(edge_tokens.c.id, edge_tokens.c.token_hash)).all()
    finally:
        engine.dispose()
    # Only the value's SHA-256 is stored.
    assert [tuple(r) for r in stored] == [(token["id"], hashlib.sha256(token["value"].encode()).hexdigest())]


def test_create_edge_token_refuses_an_empty_name(cli: Cli) -> None:
    assert cli.refused("admin", "create-edge-token", "--name", "  ")["code"] == 1001
