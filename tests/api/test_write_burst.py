"""Bursts of more concurrent requests than the server has request threads (and PostgreSQL pooled connections),
each with a credential it has not cached yet, against a real `prefixgate serve` on both engines.

Authentication runs in a thread hop of its own before the route's. Had it taken the write lock there (a
write request's unit begins as a write), the lock would be held while its holder waited for a thread for
the route's hop, and every thread could be a writer waiting for that lock: on SQLite nothing went on
until the waits ran out, and the burst was answered 503 ("the database is unavailable"). Nor may that hop
hold two pooled connections at once (its reads' and its bookkeeping's): with every connection held by a hop
waiting for a second, none comes back.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from prefixgate.api.routing import WORKER_THREADS
from prefixgate.service import identity, prefixes, tokens
from prefixgate.service.context import Actor
from tests.procserver import RACE_ENV, ProcServer
from tests.support import fresh_database_url, make_member, migrated_database

BURST = WORKER_THREADS + 20


@pytest.fixture(scope="module")
def burst(
    engine_name: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[ProcServer, str, str, list[str]]]:
    """A served database where account A owns 1.2.3.0/24, account B exists, and A's owner has 2 x BURST
    tokens, none used yet."""
    workdir = tmp_path_factory.mktemp("write-burst")
    cli = Actor.cli()
    with fresh_database_url(engine_name, str(workdir)) as url:
        db = migrated_database(url)
        alice, _ = identity.create_user(db, cli, "alice@burst.example", password=None, operator=False)
        bob = make_member(db, "bob")
        a = identity.create_account(db, cli, "Account A", owner_email=alice.email).id
        b = identity.create_account(db, cli, "Account B", owner_email=bob.email).id
        prefix = prefixes.create_prefix(db, cli, a, "1.2.3.0/24", asn=64500)
        prefixes.approve_prefix(db, cli, prefix.id)
        values = [tokens.create_token(db, cli, f"burst {i}", user=alice)[1] for i in range(2 * BURST)]
        db.dispose()
        server = ProcServer(url, Path(workdir), env=RACE_ENV).start()
        try:
            yield server, f"/accounts/{a}/addressing/prefixes/{prefix.id}/delegations", b, values
        finally:
            server.stop()


def fire(server: ProcServer, values: list[str], send: Callable[[httpx.Client, int], httpx.Response]) -> None:
    """send(client, i) with every token at once (a barrier releases them together), each on a client of its
    own; every answer must be 200 (the bodies of the others are shown)."""
    clients = [httpx.Client(base_url=server.api, headers={"Authorization": f"Bearer {v}"}, timeout=60) for v in values]
    barrier = threading.Barrier(len(values))

    def one(i: int) -> httpx.Response:
        barrier.wait()
        return send(clients[i], i)

    try:
        with ThreadPoolExecutor(len(values)) as pool:
            responses = list(pool.map(one, range(len(values))))
    finally:
        for c in clients:
            c.close()
    assert [r.status_code for r in responses] == [200] * len(values), [
        r.text[:160] for r in responses if r.status_code != 200
    ]


def test_a_burst_of_writes_with_uncached_credentials_all_succeed(
    burst: tuple[ProcServer, str, str, list[str]],
) -> None:
    server, path, delegatee, values = burst
    body = {"delegated_account_id": delegatee}
    fire(server, values[:BURST], lambda c, i: c.post(path, json={**body, "cidr": f"1.2.3.{i + 1}/32"}))
    with httpx.Client(base_url=server.api, headers={"Authorization": f"Bearer {values[0]}"}, timeout=60) as c:
        listed = c.get(path, params={"per_page": 100}).json()["result"]
    assert sorted(d["cidr"] for d in listed) == sorted(f"1.2.3.{i + 1}/32" for i in range(BURST))


def test_a_burst_of_reads_with_uncached_credentials_all_succeed(
    burst: tuple[ProcServer, str, str, list[str]],
) -> None:
    server, path, _, values = burst
    fire(server, values[BURST:], lambda c, _: c.get(path, params={"per_page": 5}))
