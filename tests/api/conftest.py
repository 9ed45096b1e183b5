"""Fixtures for the API tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from cloudflare import Cloudflare

from tests.support import Member, Server

SdkFor = Callable[[Member], Cloudflare]


@pytest.fixture
def sdk(server: Server) -> Iterator[SdkFor]:
    """Official SDK clients on the test server, one per member, closed afterwards."""
    made: list[Cloudflare] = []

    def make(who: Member) -> Cloudflare:
        made.append(Cloudflare(api_token=who.token, base_url=server.api, max_retries=0))
        return made[-1]

    yield make
    for c in made:
        c.close()
