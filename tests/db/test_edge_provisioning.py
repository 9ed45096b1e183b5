"""Provisioning through the services, on SQLite and PostgreSQL: a binding records the revision that created
it and waits for the live edges; every read of bindings (the API's and the dashboard's prefix page)
settles what the edges now serve."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from sqlalchemy import update

from prefixgate.adapters.db.tables import service_bindings
from prefixgate.adapters.db.uow import SqlDatabase
from prefixgate.domain.bindings import SPECTRUM
from prefixgate.service import bindings, edge_feed, identity, prefixes
from prefixgate.service.context import Actor
from prefixgate.service.prefix_pages import prefix_page
from tests.support import fresh_database_url, migrated_database, unique_v4_prefix

CLI = Actor.cli()


@pytest.fixture
def db(engine_name: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SqlDatabase]:
    with fresh_database_url(engine_name, str(tmp_path_factory.mktemp("prov"))) as url:
        database = migrated_database(url)
        yield database
        database.dispose()


def stored(db: SqlDatabase, prefix_id: str, binding_id: str) -> tuple[str, int | None]:
    with db.read() as uow:
        found = uow.bindings.get(prefix_id, binding_id)
    assert found is not None
    return found.state, found.revision


def test_a_binding_keeps_the_revision_that_created_it_and_waits_for_the_edges(db: SqlDatabase) -> None:
    a = identity.create_account(db, CLI, "A").id
    cidr = unique_v4_prefix()
    p = prefixes.create_prefix(db, CLI, a, cidr, asn=64500)
    head = edge_feed.snapshot(db, CLI).revision
    edge_feed.report_node(db, CLI, "edge-1", head, stale_s=30)
    made = bindings.create_binding(db, CLI, a, p.id, cidr, SPECTRUM.id, stale_s=30)
    assert made.revision == head + 1
    assert stored(db, p.id, made.id) == ("provisioning", head + 1)
    assert [b.state for b in bindings.list_bindings(db, CLI, a, p.id, stale_s=30)] == ["provisioning"]
    assert [b.state for b in prefix_page(db, CLI, a, p.id, stale_s=30).bindings] == ["provisioning"]

    # Under a policy where the edge is already stale, the dashboard's read settles it (and stores it).
    deadline = time.monotonic() + 10
    while prefix_page(db, CLI, a, p.id, stale_s=0.001).bindings[0].state != "active":
        assert time.monotonic() < deadline
    assert stored(db, p.id, made.id) == ("active", head + 1)


def test_a_binding_older_than_the_feed_counts_as_served(db: SqlDatabase) -> None:
    a = identity.create_account(db, CLI, "Old").id
    cidr = unique_v4_prefix()
    p = prefixes.create_prefix(db, CLI, a, cidr, asn=64500)
    head = edge_feed.snapshot(db, CLI).revision
    edge_feed.report_node(db, CLI, "edge-old", head, stale_s=30)
    made = bindings.create_binding(db, CLI, a, p.id, cidr, SPECTRUM.id, stale_s=30)
    assert stored(db, p.id, made.id) == ("provisioning", head + 1)
    with db.engine.begin() as conn:  # as a row from before migration 0007: provisioning, no revision
        conn.execute(update(service_bindings).where(service_bindings.c.id == made.id).values(revision=None))
    assert [b.state for b in bindings.list_bindings(db, CLI, a, p.id, stale_s=30)] == ["active"]
    assert stored(db, p.id, made.id) == ("active", None)
