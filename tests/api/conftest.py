"""Fixtures for the API tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from cloudflare import Cloudflare

from prefixgate.settings import Settings
from tests.api.cdn_helpers import CdnStage, cdn_stage
from tests.dnsserver import LoopbackDns
from tests.support import Member, Server, World, fresh_database_url, make_world

SdkFor = Callable[[Member], Cloudflare]


@contextmanager
def sdk_clients(server: Server) -> Iterator[SdkFor]:
    """Official SDK clients on `server`, one per call, closed afterwards."""
    made: list[Cloudflare] = []

    def make(who: Member) -> Cloudflare:
        made.append(Cloudflare(api_token=who.token, base_url=server.api, max_retries=0))
        return made[-1]

    try:
        yield make
    finally:
        for c in made:
            c.close()


@pytest.fixture
def sdk(server: Server) -> Iterator[SdkFor]:
    """Official SDK clients on the test server, one per member, closed afterwards."""
    with sdk_clients(server) as make:
        yield make


@pytest.fixture(scope="session")
def session_dns() -> Iterator[LoopbackDns]:
    """One real DNS server on loopback for the session; tests use hostnames of their own."""
    with LoopbackDns() as dns:
        yield dns


@pytest.fixture(scope="session")
def cdn_server(
    engine_name: str, tmp_path_factory: pytest.TempPathFactory, session_dns: LoopbackDns
) -> Iterator[Server]:
    """A real HTTP server that validates custom hostnames against `session_dns` (no background
    re-validation: tests ask for checks with POST .../validate, so each outcome is theirs)."""
    with fresh_database_url(engine_name, str(tmp_path_factory.mktemp("cdndb"))) as url:
        settings = Settings(
            database_url=url, dns_server=session_dns.address, dns_timeout_s=0.5, revalidate_interval_s=0
        )
        s = Server(settings).start()
        yield s
        s.stop()


@pytest.fixture
def cdn_world(cdn_server: Server) -> Iterator[World]:
    w = make_world(cdn_server)
    yield w
    w.close()


@pytest.fixture
def cdn_sdk(cdn_server: Server) -> Iterator[SdkFor]:
    """Official SDK clients on `cdn_server`."""
    with sdk_clients(cdn_server) as make:
        yield make


@pytest.fixture
def cdn(cdn_world: World, session_dns: LoopbackDns) -> CdnStage:
    return cdn_stage(cdn_world, session_dns)
