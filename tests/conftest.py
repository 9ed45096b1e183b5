"""Fixtures shared by every test package. See tests/support.py for the pieces."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from prefixgate.settings import Settings
from tests.dnsserver import LoopbackDns
from tests.support import Server, World, engines, fresh_database_url, make_world


@pytest.fixture(scope="session", params=engines())
def engine_name(request: pytest.FixtureRequest) -> str:
    """Each parametrised test runs on SQLite, and on PostgreSQL when PREFIXGATE_TEST_DATABASE_URL is set."""
    return str(request.param)


@pytest.fixture(scope="session")
def server(engine_name: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A real HTTP server with production rules (no lab setting)."""
    with fresh_database_url(engine_name, str(tmp_path_factory.mktemp("db"))) as url:
        s = Server(Settings(database_url=url)).start()
        yield s
        s.stop()


@pytest.fixture(scope="session")
def lab_server(engine_name: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A real HTTP server with the lab setting on (documentation ranges may be onboarded)."""
    with fresh_database_url(engine_name, str(tmp_path_factory.mktemp("labdb"))) as url:
        s = Server(Settings(database_url=url, allow_non_public_prefixes=True)).start()
        yield s
        s.stop()


@pytest.fixture
def world(server: Server) -> Iterator[World]:
    """Fresh tenants for one test, on the shared server."""
    w = make_world(server)
    yield w
    w.close()


@pytest.fixture
def loopback_dns() -> Iterator[LoopbackDns]:
    """A started DNS server on 127.0.0.1 and a free port, with no records (see tests/dnsserver.py)."""
    with LoopbackDns() as dns:
        yield dns
