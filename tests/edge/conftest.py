"""Edge tests run a real HAProxy (Debian's 2.6, /usr/sbin/haproxy): its absence fails them, never skips."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from prefixgate.edge.haproxy_config import HAPROXY_BIN
from tests.edge.harness import Leftovers
from tests.edge.origins import EchoOrigin, HttpOrigin, TestCA, TlsOrigin


@pytest.fixture(autouse=True, scope="session")
def _haproxy_installed() -> None:
    if not os.access(HAPROXY_BIN, os.X_OK):
        pytest.fail(f"{HAPROXY_BIN} is missing: install Debian's haproxy (apt-get install -y haproxy)")


@pytest.fixture(scope="session")
def echo_origin() -> Iterator[EchoOrigin]:
    with EchoOrigin(banner=b"SSH-2.0-origin\r\n") as o:
        yield o


@pytest.fixture(scope="session")
def http_origin() -> Iterator[HttpOrigin]:
    with HttpOrigin() as o:
        yield o


@pytest.fixture(scope="session")
def test_ca(tmp_path_factory: pytest.TempPathFactory) -> TestCA:
    return TestCA(tmp_path_factory.mktemp("ca"))


@pytest.fixture(scope="session")
def tls_origin(test_ca: TestCA) -> Iterator[TlsOrigin]:
    cert, key = test_ca.issue("shop.example.net")
    with TlsOrigin(cert, key) as o:
        yield o


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "edge"


@pytest.fixture
def leftovers() -> Iterator[Leftovers]:
    """HAProxys a test left running (by design or by failing) are SIGKILLed when it ends."""
    left = Leftovers()
    yield left
    left.kill()
