"""Ownership proved over HTTP instead of TXT, end to end: a server with the lab setting (so the check may
connect to loopback) and the lab port of the HTTP check pointing at a local challenge server.

The hostname CNAMEs to B's fallback origin, whose A record is 127.0.0.1: the CNAME path routes it to the
zone, and the HTTP check connects to the address the hostname resolves to.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from prefixgate.settings import Settings
from tests.api.cdn_helpers import CdnStage, cdn_stage, shop_name
from tests.challenge import ChallengeServer
from tests.dnsserver import LoopbackDns
from tests.support import Server, World, fresh_database_url, make_world


@pytest.fixture(scope="module")
def web() -> Iterator[ChallengeServer]:
    s = ChallengeServer()
    yield s
    s.close()


@pytest.fixture(scope="module")
def http_server(
    engine_name: str, tmp_path_factory: pytest.TempPathFactory, session_dns: LoopbackDns, web: ChallengeServer
) -> Iterator[Server]:
    with fresh_database_url(engine_name, str(tmp_path_factory.mktemp("httpdb"))) as url:
        settings = Settings(
            database_url=url,
            allow_non_public_prefixes=True,
            dns_server=session_dns.address,
            dns_timeout_s=0.5,
            validation_http_port=web.port,
            revalidate_interval_s=0,
        )
        s = Server(settings).start()
        yield s
        s.stop()


@pytest.fixture
def lab(http_server: Server, session_dns: LoopbackDns) -> Iterator[CdnStage]:
    world: World = make_world(http_server)
    yield cdn_stage(world, session_dns)
    world.close()


def _route_to_loopback(s: CdnStage, hostname: str) -> None:
    s.dns.set(hostname, "CNAME", s.fallback("b"))
    s.dns.set(s.fallback("b"), "A", "127.0.0.1")


def test_the_http_token_activates_a_hostname(lab: CdnStage, web: ChallengeServer) -> None:
    host = lab.create("b", shop_name(), ssl={"method": "http", "type": "dv"})
    _route_to_loopback(lab, host["hostname"])
    http = host["ownership_verification_http"]
    path = http["http_url"].removeprefix(f"http://{host['hostname']}")
    pending = lab.validate("b", host["id"])
    assert pending["status"] == "pending" and any("token was not found" in e for e in pending["verification_errors"])
    web.serve(path, http["http_body"].encode())
    active = lab.validate("b", host["id"])
    assert active["status"] == "active", active
    assert ("GET", path, host["hostname"]) in web.requests


def test_the_txt_method_never_asks_over_http(lab: CdnStage, web: ChallengeServer) -> None:
    host = lab.create("b", shop_name())  # method txt
    _route_to_loopback(lab, host["hostname"])
    before = len(web.requests)
    assert lab.validate("b", host["id"])["status"] == "pending"
    assert len(web.requests) == before
