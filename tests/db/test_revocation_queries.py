"""The revocation check's cost does not grow by a query per dependent: the other delegations that may still
grant an address are read once (it used to probe them once per dependent address: ~2 ms per hostname, app
or map IP, seconds for a delegation a thousand hostnames depend on; see BENCHMARKS.md, custom hostnames)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import event

from prefixgate.adapters.db.uow import SqlDatabase
from prefixgate.domain.codes import Code
from prefixgate.domain.errors import Conflict
from prefixgate.service import address_maps, identity
from prefixgate.service import prefixes as prefix_service
from prefixgate.service.context import Actor
from prefixgate.service.delegations import create_delegation, delete_delegation
from tests.support import fresh_database_url, migrated_database

CLI = Actor.cli()


@pytest.fixture
def db(engine_name: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SqlDatabase]:
    with fresh_database_url(engine_name, str(tmp_path_factory.mktemp("revq"))) as url:
        database = migrated_database(url)
        yield database
        database.dispose()


def delegation_queries(db: SqlDatabase, run: Callable[[], object]) -> int:
    """How many statements reading the delegations table `run` sends."""
    seen: list[str] = []

    def note(_c: Any, _cur: Any, statement: str, *_: Any) -> None:
        if "FROM delegations" in statement:
            seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        run()
    finally:
        event.remove(db.engine, "before_cursor_execute", note)
    return len(seen)


def test_refusing_costs_the_same_queries_for_2_and_40_dependents(db: SqlDatabase) -> None:
    a = identity.create_account(db, CLI, "Owner").id
    b = identity.create_account(db, CLI, "Delegatee").id
    p = prefix_service.approve_prefix(db, CLI, prefix_service.create_prefix(db, CLI, a, "2a0f:2000::/48", asn=65000).id)
    few = create_delegation(db, CLI, a, p.id, "2a0f:2000:0:1::/120", b)
    many = create_delegation(db, CLI, a, p.id, "2a0f:2000:0:2::/120", b)
    create_delegation(db, CLI, a, p.id, "2a0f:2000:0:2::8/126", b)  # still grants ::8-::b inside `many`
    address_maps.create_address_map(db, CLI, b, ips=["2a0f:2000:0:1::1", "2a0f:2000:0:1::2"])
    address_maps.create_address_map(db, CLI, b, ips=[f"2a0f:2000:0:2::{i:x}" for i in range(1, 41)])

    counts, listed = [], []
    for d in (few, many):
        refusal: list[Conflict] = []

        def refuse(delegation_id: str = d.id, out: list[Conflict] = refusal) -> None:
            with pytest.raises(Conflict) as info:
                delete_delegation(db, CLI, a, p.id, delegation_id)
            out.append(info.value)

        counts.append(delegation_queries(db, refuse))
        assert refusal[0].code == Code.DEPENDENT_MAP_IPS
        [(_, line)] = refusal[0].details
        listed.append(line.split(" holds ")[1].split(", "))

    assert [len(ips) for ips in listed] == [2, 36]  # 40 map IPs, 4 of them still granted by the nested /126
    assert not {"2a0f:2000:0:2::8", "2a0f:2000:0:2::b"} & set(listed[1])
    assert counts[0] == counts[1], counts
