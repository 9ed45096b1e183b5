"""The change feed across `prefixgate serve` processes, on both engines: a long poll in one process wakes on
a commit in another (PostgreSQL: LISTEN/NOTIFY; SQLite: the 25 ms poll of the shared file), revisions
stay dense with writers in several worker processes, and stopping the server releases waiting polls.
"""

from __future__ import annotations

import secrets
import signal
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from prefixgate.service import edge_feed, identity
from prefixgate.service.context import Actor
from tests.api.metrics_helpers import scrape
from tests.procserver import RACE_ENV, ProcServer
from tests.support import Member, fresh_database_url, make_member, migrated_database

CLI = Actor.cli()
WRITERS = 8
WRITES = 12


@dataclass
class Setup:
    url: str
    workdir: Path
    account: str
    member: Member
    edge_token: str


@pytest.fixture(scope="module")
def setup(engine_name: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    workdir = tmp_path_factory.mktemp("feedfleet")
    with fresh_database_url(engine_name, str(workdir)) as url:
        db = migrated_database(url)
        member = make_member(db, "fleet")
        account = identity.create_account(db, CLI, "Fleet", owner_email=member.email).id
        _, token = edge_feed.create_edge_token(db, CLI, "fleet edge")
        db.dispose()
        yield Setup(url, Path(workdir), account, member, token)


def edge(server: ProcServer, token: str) -> httpx.Client:
    return httpx.Client(base_url=server.api, headers={"Authorization": f"Bearer {token}"}, timeout=90)


def changes(client: httpx.Client, since: int, timeout: int) -> dict[str, Any]:
    r = client.get("/edge/changes", params={"since": since, "timeout": timeout})
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()["result"]
    return result


def new_zone(client: httpx.Client, account: str) -> str:
    r = client.post("/zones", json={"name": f"z{secrets.token_hex(6)}.example.com", "account": {"id": account}})
    assert r.status_code == 200, r.text
    return str(r.json()["result"]["id"])


def head(client: httpx.Client) -> int:
    return int(client.get("/edge/snapshot").json()["result"]["revision"])


def wait_for_waiters(server: ProcServer, n: int) -> None:
    deadline = time.monotonic() + 20
    while scrape(server.base).value("prefixgate_edge_feed_waiting") < n:
        assert time.monotonic() < deadline, "the long poll never started waiting"
        time.sleep(0.02)


def test_a_long_poll_wakes_on_a_commit_in_another_process(setup: Setup) -> None:
    follower = ProcServer(setup.url, setup.workdir).start()
    writer = ProcServer(setup.url, setup.workdir).start()
    try:
        with (
            edge(follower, setup.edge_token) as e,
            httpx.Client(base_url=writer.api, headers=setup.member.headers, timeout=30) as w,
            ThreadPoolExecutor(max_workers=1) as pool,
        ):
            h = head(e)
            poll = pool.submit(changes, e, h, 30)
            wait_for_waiters(follower, 1)
            committed = time.monotonic()
            zone_id = new_zone(w, setup.account)
            found = poll.result(timeout=30)
            answered = time.monotonic()
        assert [(c["revision"], c["id"]) for c in found["changes"]] == [(h + 1, zone_id)]
        assert answered - committed < 2.0
    finally:
        writer.stop()
        follower.stop()


def test_revisions_stay_dense_with_writers_in_several_processes(setup: Setup, engine_name: str) -> None:
    server = ProcServer(setup.url, setup.workdir, workers=4 if engine_name == "postgresql" else 2, env=RACE_ENV).start()
    clients = [httpx.Client(base_url=server.api, headers=setup.member.headers, timeout=60) for _ in range(WRITERS)]
    problems: list[str] = []
    seen: list[int] = []
    done = threading.Event()
    try:
        with edge(server, setup.edge_token) as e:
            start = head(e)

            def follow() -> None:
                since, give_up = start, time.monotonic() + 120
                while not (done.is_set() and since >= start + WRITERS * WRITES) and time.monotonic() < give_up:
                    found = changes(e, since, 1)
                    revisions = [c["revision"] for c in found["changes"]]
                    if revisions != list(range(since + 1, found["revision"] + 1)):
                        problems.append(f"after {since}: {revisions} up to {found['revision']}")
                    seen.extend(revisions)
                    since = found["revision"]

            follower = threading.Thread(target=follow, daemon=True)
            follower.start()
            try:
                with ThreadPoolExecutor(max_workers=WRITERS) as pool:
                    made = list(pool.map(lambda c: [new_zone(c, setup.account) for _ in range(WRITES)], clients))
            finally:
                done.set()
                follower.join(timeout=60)
        assert not follower.is_alive()
        assert problems == []
        assert seen == list(range(start + 1, start + WRITERS * WRITES + 1))
        assert sum(len(m) for m in made) == WRITERS * WRITES
    finally:
        for c in clients:
            c.close()
        server.stop()


def test_stopping_the_server_answers_waiting_long_polls_at_once(setup: Setup) -> None:
    server = ProcServer(setup.url, setup.workdir).start()
    try:
        with edge(server, setup.edge_token) as e, ThreadPoolExecutor(max_workers=1) as pool:
            h = head(e)
            poll = pool.submit(e.get, "/edge/changes", params={"since": h, "timeout": 60})
            wait_for_waiters(server, 1)
            assert server.proc is not None
            started = time.monotonic()
            server.proc.send_signal(signal.SIGTERM)
            answer = poll.result(timeout=30)
            server.proc.wait(timeout=30)
            took = time.monotonic() - started
        assert answer.status_code == 200, answer.text
        assert answer.json()["result"] == {"revision": h, "oldest": 1, "changes": []}
        assert took < 5  # not held until the 10 s graceful timeout, nor the poll's 60 s
    finally:
        server.stop()
