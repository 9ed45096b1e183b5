"""Revocation through the credential cache across worker processes, on both engines.

A `prefixgate serve --workers 2` caches who a credential is for a fraction of a second. After a token is
deleted, a membership removed or a role changed (through one worker's API, or from outside every worker
as the CLI does), no worker may accept the old credential or grant 1 s later. Requests go over fresh
connections, so both workers answer them, and both have served (and cached) the credential beforehand.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from prefixgate.adapters.db.uow import SqlDatabase
from prefixgate.domain.roles import role_by_name
from prefixgate.service import identity
from prefixgate.service.context import Actor
from tests.procserver import ProcServer
from tests.support import Member, fresh_database_url, make_member, migrated_database

BOUND_S = 1.0  # the promise: refused within 1 s on every worker
WATCH_S = 1.6  # how long requests keep coming after the change
READ_ROLE = role_by_name("IP Prefixes: Read")
assert READ_ROLE is not None


@dataclass
class Fleet:
    server: ProcServer
    db: SqlDatabase
    clients: dict[str, httpx.Client] = field(default_factory=dict)

    def fresh_connections(self, who: Member) -> httpx.Client:
        """A client that opens a new connection for every request (the kernel spreads them over both workers)."""
        if who.email not in self.clients:
            self.clients[who.email] = httpx.Client(
                base_url=self.server.api,
                headers=who.headers,
                timeout=10,
                limits=httpx.Limits(max_keepalive_connections=0),
            )
        return self.clients[who.email]


@pytest.fixture(scope="module")
def fleet(engine_name: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    workdir = tmp_path_factory.mktemp("creds")
    with fresh_database_url(engine_name, str(workdir)) as url:
        db = migrated_database(url)
        server = ProcServer(url, Path(workdir), workers=2).start()
        fleet = Fleet(server, db)
        yield fleet
        for c in fleet.clients.values():
            c.close()
        server.stop()
        db.dispose()


@dataclass
class Scene:
    account_id: str
    admin: Member
    user: Member  # the member whose access the test takes away
    member_id: str


def _scene(fleet: Fleet, role: str = "IP Prefixes: Write") -> Scene:
    admin, user = make_member(fleet.db, "admin"), make_member(fleet.db, "user")
    account = identity.create_account(fleet.db, Actor.cli(), "Fleet", owner_email=admin.email)
    member = identity.add_member(fleet.db, Actor.cli(), account.id, user.email, [role])
    return Scene(account.id, admin, user, member.id)


def _fresh(fleet: Fleet, who: Member, send: Callable[[httpx.Client], httpx.Response]) -> int:
    return send(fleet.fresh_connections(who)).status_code


def _warm(fleet: Fleet, who: Member, send: Callable[[httpx.Client], httpx.Response], status: int) -> None:
    for _ in range(16):
        assert _fresh(fleet, who, send) == status


def _watch(
    fleet: Fleet, who: Member, send: Callable[[httpx.Client], httpx.Response], since: float
) -> list[tuple[float, int]]:
    seen: list[tuple[float, int]] = []
    while (elapsed := time.monotonic() - since) < WATCH_S:
        seen.append((elapsed, _fresh(fleet, who, send)))
    return seen


def _assert_refused_within_bound(seen: list[tuple[float, int]], accepted: int, refused: int) -> None:
    late = [status for elapsed, status in seen if elapsed >= BOUND_S]
    assert len(late) >= 5, f"too few requests after {BOUND_S} s to judge: {seen}"
    assert set(late) == {refused}, f"accepted {BOUND_S} s after the change: {seen}"
    assert {status for _, status in seen} <= {accepted, refused}, seen


def test_a_token_deleted_through_one_worker_is_refused_by_every_worker(fleet: Fleet) -> None:
    s = _scene(fleet)

    def who_am_i(c: httpx.Client) -> httpx.Response:
        return c.get("/user")

    _warm(fleet, s.user, who_am_i, 200)
    with httpx.Client(base_url=fleet.server.api, headers=s.user.headers, timeout=10) as c:
        token_id = c.get("/user/tokens/verify").json()["result"]["id"]
        assert c.delete(f"/user/tokens/{token_id}").status_code == 200
    since = time.monotonic()
    _assert_refused_within_bound(_watch(fleet, s.user, who_am_i, since), 200, 401)


def test_a_membership_removed_outside_the_workers_is_refused_by_every_worker(fleet: Fleet) -> None:
    s = _scene(fleet)

    def list_prefixes(c: httpx.Client) -> httpx.Response:
        return c.get(f"/accounts/{s.account_id}/addressing/prefixes")

    _warm(fleet, s.user, list_prefixes, 200)
    identity.delete_member(fleet.db, Actor.cli(), s.account_id, s.member_id)  # as `prefixgate admin` would
    since = time.monotonic()
    _assert_refused_within_bound(_watch(fleet, s.user, list_prefixes, since), 200, 403)


def test_a_role_changed_through_one_worker_is_enforced_by_every_worker(fleet: Fleet) -> None:
    s = _scene(fleet)

    def create_private_prefix(c: httpx.Client) -> httpx.Response:
        # Refused for its (private) space once the role allows writing; refused with 403 once it doesn't.
        return c.post(f"/accounts/{s.account_id}/addressing/prefixes", json={"cidr": "10.0.0.0/24", "asn": 64500})

    _warm(fleet, s.user, create_private_prefix, 400)
    with httpx.Client(base_url=fleet.server.api, headers=s.admin.headers, timeout=10) as c:
        r = c.put(f"/accounts/{s.account_id}/members/{s.member_id}", json={"roles": [{"id": READ_ROLE.id}]})
        assert r.status_code == 200, r.text
    since = time.monotonic()
    _assert_refused_within_bound(_watch(fleet, s.user, create_private_prefix, since), 400, 403)
