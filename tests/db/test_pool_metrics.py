"""The pool gauges (prefixgate_db_pool_in_use, prefixgate_db_pool_waiting) on real engines and threads.

A pool of one connection makes waiting visible; the gauges are read from this process's registry,
as /metrics reports them (tests/api/test_metrics.py reads them over HTTP).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from prefixgate.adapters.db.pool_metrics import install_pool_metrics
from tests.support import PG_ENV, fresh_database_url


def gauges() -> tuple[float, float]:
    in_use = REGISTRY.get_sample_value("prefixgate_db_pool_in_use")
    waiting = REGISTRY.get_sample_value("prefixgate_db_pool_waiting")
    assert in_use is not None and waiting is not None
    return in_use, waiting


def until(expected: tuple[float, float], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while gauges() != expected:
        assert time.monotonic() < deadline, f"gauges {gauges()}, expected {expected}"
        time.sleep(0.01)


@pytest.fixture
def url(engine_name: str, tmp_path: Path) -> Iterator[str]:
    with fresh_database_url(engine_name, str(tmp_path)) as u:
        yield u


@contextmanager
def one_connection(url: str, *, timeout: float) -> Iterator[Engine]:
    """An engine whose pool holds a single connection; a second caller waits up to `timeout`."""
    e = create_engine(url, pool_size=1, max_overflow=0, pool_timeout=timeout)
    install_pool_metrics(e)
    install_pool_metrics(e)  # once per engine, however often it is asked
    try:
        yield e
    finally:
        e.dispose()


def test_in_use_and_waiting_follow_the_pool(url: str) -> None:
    with one_connection(url, timeout=10) as engine:
        waits_for_the_only_connection(engine)


def waits_for_the_only_connection(engine: Engine) -> None:
    in_use, waiting = gauges()
    first = engine.connect()
    assert gauges() == (in_use + 1, waiting)
    got, release = threading.Event(), threading.Event()

    def second() -> None:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            got.set()
            release.wait(10)

    t = threading.Thread(target=second)
    t.start()
    until((in_use + 1, waiting + 1))  # the second thread waits for the connection
    assert not got.is_set()
    first.close()
    assert got.wait(10)
    assert gauges() == (in_use + 1, waiting)
    release.set()
    t.join(10)
    assert gauges() == (in_use, waiting)


def test_a_wait_that_gives_up_and_an_invalidated_connection_are_counted_back(url: str) -> None:
    with one_connection(url, timeout=0.3) as engine:
        in_use, waiting = gauges()
        conn = engine.connect()
        with pytest.raises(PoolTimeout):  # the only connection is taken
            engine.connect()
        assert gauges() == (in_use + 1, waiting)
        conn.invalidate()  # as after a lost connection: the record comes back without its DBAPI connection
        conn.close()
        assert gauges() == (in_use, waiting)
        engine.dispose()  # a new pool: the gauges keep working on it
        with engine.connect() as again:
            again.execute(text("SELECT 1"))
            assert gauges() == (in_use + 1, waiting)
        assert gauges() == (in_use, waiting)


def test_a_connection_that_cannot_be_opened_is_never_counted(url: str, tmp_path: Path) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        parsed = parsed.set(database=str(tmp_path / "missing" / "x.db"))
    else:
        parsed = parsed.set(database="prefixgate_no_such_database")
    with one_connection(parsed.render_as_string(hide_password=False), timeout=1) as broken:
        in_use, waiting = gauges()
        for _ in range(3):
            with pytest.raises(OperationalError):
                broken.connect()
        assert gauges() == (in_use, waiting)


def test_a_dead_pooled_connection_that_cannot_be_replaced_is_not_counted_back_twice(tmp_path: Path) -> None:
    """PostgreSQL outage: the pre-ping finds the pooled connection dead and reconnecting fails. SQLAlchemy
    then checks the record in without ever having checked it out; in_use must not drop below the truth."""
    admin_url = os.environ.get(PG_ENV)
    if not admin_url:
        pytest.skip(f"PostgreSQL testing is off ({PG_ENV} is not set)")
    with fresh_database_url("postgresql", str(tmp_path)) as url:
        name = make_url(url).database
        engine = create_engine(url, pool_size=1, max_overflow=0, pool_pre_ping=True)
        install_pool_metrics(engine)
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                backend = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
            in_use, waiting = gauges()
            with admin.connect() as a:
                a.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
                a.execute(text("SELECT pg_terminate_backend(:p)"), {"p": backend})
                while a.execute(text("SELECT count(*) FROM pg_stat_activity WHERE pid = :p"), {"p": backend}).scalar():
                    time.sleep(0.05)
            for _ in range(2):
                with pytest.raises(OperationalError):
                    engine.connect()
                assert gauges() == (in_use, waiting)
            with admin.connect() as a:
                a.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
            with engine.connect():
                assert gauges() == (in_use + 1, waiting)
            assert gauges() == (in_use, waiting)
        finally:
            engine.dispose()
            admin.dispose()
