"""Skippable bookkeeping never waits for a pooled PostgreSQL connection (SqlDatabase.write_if_free).

Its callers often hold a connection already (a read unit's). Had it waited for a second one, a burst of such
callers holding every connection would each wait for one that none gives back, until the pool's timeout.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack

import pytest

from prefixgate.adapters.db.engine import make_engine, pool_has_room
from prefixgate.adapters.db.migrate import upgrade
from prefixgate.adapters.db.uow import SqlDatabase
from tests.support import fresh_database_url


@pytest.fixture
def pg(engine_name: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SqlDatabase]:
    if engine_name != "postgresql":
        pytest.skip("on SQLite bookkeeping takes the writer's own connection, opened once and kept")
    with fresh_database_url(engine_name, str(tmp_path_factory.mktemp("pool"))) as url:
        # A pool timeout far longer than the test: a write_if_free that waited would fail it with TimeoutError.
        db = SqlDatabase(make_engine(url, connect_timeout_s=120))
        upgrade(db.engine)
        yield db
        db.dispose()


def test_with_every_pooled_connection_held_bookkeeping_is_skipped_not_waited_for(pg: SqlDatabase) -> None:
    with ExitStack() as held:
        taken = 0
        while pool_has_room(pg.engine):
            held.enter_context(pg.engine.connect())
            taken += 1
        assert taken == 20  # the pool's 10 and its 10 overflow connections
        with pg.write_if_free() as unit:
            assert unit is None
    with pg.write_if_free() as unit:  # every connection back: it runs
        assert unit is not None
        unit.commit()
