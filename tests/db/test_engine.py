"""Engine settings that bound how long a request can wait on PostgreSQL, checked on real connections."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import text

from prefixgate.adapters.db.engine import make_engine
from tests.support import PG_ENV


@pytest.fixture
def pg_url() -> str:
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(f"PostgreSQL testing is off ({PG_ENV} is not set)")
    return url


def test_postgres_connections_carry_timeouts_and_keepalives(pg_url: str) -> None:
    engine = make_engine(pg_url, statement_timeout_ms=7000, connect_timeout_s=3)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SHOW statement_timeout")).scalar_one() == "7s"
            assert conn.execute(text("SHOW lock_timeout")).scalar_one() == "7s"
            params = conn.connection.dbapi_connection.info.get_parameters()  # type: ignore[union-attr]
        assert params["connect_timeout"] == "3"
        assert (params["keepalives"], params["keepalives_idle"], params["keepalives_count"]) == ("1", "10", "3")
        assert params["tcp_user_timeout"] == str(7000 + 3000)
        assert engine.pool.timeout() == 3  # type: ignore[attr-defined]
    finally:
        engine.dispose()
